"""Kong File Log records of every version, rendered from a `Draw`.

The base record (request, response, latencies, tries, route, service) is Kong's serializer, the
same from 3.6 to 3.13; its templates are the lines of `../shared/fixtures/kong/claude.json`
(Kong 3.13, lua-cjson key order kept), one per outcome, with values replaced per request. Only
the `ai` subtree differs by version (`../shared/notes/kong.md` sections 1.2 and 4):

- 3.6: `ai.meta` / `ai.usage` / `ai.payload`, flat; usage prompt/completion/total only
- 3.7: `ai["ai-proxy"]`, singular `prompt_token` / `completion_token`, `meta.plugin_id`
- 3.8: `ai["ai-proxy"]`, `meta.llm_latency`, integer `time_per_token`, `cost` only when
  configured, `cache: {}`
- 3.10: `ai.proxy`, float `time_per_token`, `cost` always
- 3.13: `ai.proxy` + `*_tokens_details`, `time_to_first_token`, `meta.request_mode`
- 3.13 ai-proxy-advanced: 3.13 + `ai.proxy.tried_targets`

Older gateways log error answers with a zeroed `ai` subtree too (*inferred*: 3.9+ code does).
Lines are encoded like lua-cjson: `/` escaped as `\\/`, floats to 14 significant digits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from bench.headers import AGENT, SESSION, logged_headers
from bench.traffic import Draw

FIXTURE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
)
# fixture line (0-based) used as the template of each outcome
TEMPLATE_LINE = {
    "oneshot_ok": 0,
    "stream_ok": 1,
    "upstream_429": 4,
    "upstream_500": 7,
    "payload": 10,
    "rejected_400": 11,
    "too_large_400": 12,
}
PLUGIN_ID = "9f1c2b7e-4d3a-4e8f-a6b5-1c0d2e3f4a5b"
UNSPECIFIED = "UNSPECIFIED"
# USD per 1M tokens (input, output), configured on the plugin as in the fixture; else cost 0
KONG_COSTS = {"gpt-5": (1.25, 10.0), "gpt-4.1": (2.0, 8.0), "gpt-4o": (2.5, 10.0)}
VIA = {"3.6": "3.6.1", "3.7": "3.7.1", "3.8": "3.8.0", "3.10": "3.10.0.2-enterprise-edition"}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Record = dict[str, Any]
AiBuilder = Callable[[Draw, bool], dict[str, Any]]


@cache
def fixture_lines() -> tuple[Record, ...]:
    return tuple(orjson.loads(line) for line in FIXTURE.read_bytes().splitlines())


@cache
def templates(version: str) -> dict[str, Record]:
    """outcome -> base record of a Kong `version` gateway (its `ai` is replaced per line)."""
    lines = fixture_lines()
    found = {outcome: dict(lines[i]) for outcome, i in TEMPLATE_LINE.items()}
    if version in VIA:  # older gateways: OpenAI SDK clients on an OpenAI-format route
        for tpl in found.values():
            tpl["request"] = {
                **tpl["request"],
                "uri": "/openai/v1/chat/completions",
                "url": "http://localhost:8000/openai/v1/chat/completions",
                "querystring": {},
            }
            if tpl["upstream_uri"].startswith("/v1/chat"):
                tpl["upstream_uri"] = "/v1/chat/completions"
            headers = dict(tpl["response"]["headers"])
            for key in ("via", "server"):
                if key in headers:
                    headers[key] = headers[key].replace("3.13.0.0-enterprise-edition", VIA[version])
            tpl["response"] = {**tpl["response"], "headers": headers}
    return found


def http_date(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return (
        f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def cjson_float(x: float) -> float:
    """A float as lua-cjson prints it: 14 significant digits."""
    return float(f"{x:.14g}")


def request_headers(tpl: dict[str, Any], d: Draw) -> dict[str, Any]:
    """A logged header map with this request's session, agent, host and length filled in."""
    h = dict(tpl)
    h["host"] = d.session.host
    h["content-length"] = str(d.body_size)
    if SESSION in h:
        h[SESSION] = d.session.id
    if AGENT in h:
        h[AGENT] = d.session.agent_id
    return h


def upstream_headers(tpl: dict[str, Any], d: Draw) -> dict[str, Any]:
    """The OpenAI + Kong response headers of a proxied answer."""
    h = dict(tpl)
    rid = d.request_id
    h["x-request-id"] = f"req_{rid[::-1]}"
    h["x-kong-request-id"] = rid
    h["cf-ray"] = f"{rid[3:19]}-AMS"
    h["openai-processing-ms"] = str(max(1, d.proxy_ms - 60))
    h["x-kong-upstream-latency"] = str(d.proxy_ms)
    h["x-kong-proxy-latency"] = str(d.kong_ms)
    h["date"] = http_date(d.started_ms + d.kong_ms + d.proxy_ms)
    h["x-ratelimit-remaining-tokens"] = str(max(0, 4_000_000 - d.prompt - d.completion))
    if "x-kong-llm-model" in h:
        h["x-kong-llm-model"] = f"openai/{d.request_model}"
    if "content-type" in h and d.status == 200:
        h["content-type"] = "text/event-stream" if d.mode == "stream" else "application/json"
    return h


def kong_headers(tpl: dict[str, Any], d: Draw) -> dict[str, Any]:
    """The headers of an answer Kong produced itself."""
    h = dict(tpl)
    h["x-kong-request-id"] = d.request_id
    h["x-kong-response-latency"] = str(d.request_ms)
    return h


def tries(d: Draw) -> list[dict[str, Any]]:
    start = d.started_ms + d.kong_ms
    attempt: dict[str, Any] = {
        "balancer_latency": 0,
        "ip": d.upstream_ip,
        "balancer_start": start,
        "balancer_start_ns": cjson_float(start * 1e6 + int(d.request_id[:5], 16) % 1_000_000),
        "balancer_latency_ns": 19_000 + int(d.request_id[-4:], 16) % 24_000,
        "port": 443,
    }
    if d.status > 499:
        attempt["state"], attempt["code"] = "failed", d.status
    return [attempt]


class KongRenderer:
    """Renders draws as records of one Kong version; `ai` comes from `ai_builder`."""

    def __init__(self, version: str, ai_builder: AiBuilder) -> None:
        self.version = version
        self.ai = ai_builder
        self.templates = templates(version)
        self.headers = logged_headers("kong")

    def template(self, d: Draw) -> Record:
        if d.payload and d.mode == "oneshot":
            return self.templates["payload"]
        return self.templates.get(d.scenario) or self.templates["oneshot_ok"]

    def __call__(self, d: Draw) -> Record:
        tpl = self.template(d)
        rec = dict(tpl)
        proxied = d.upstream_status is not None
        kind = "subagent" if d.subagent else "main"
        req = dict(tpl["request"])
        req["id"] = d.request_id
        req["headers"] = request_headers(self.headers[d.session.client, kind], d)
        req["size"] = d.body_size + 1_000
        rec["request"] = req
        resp = tpl["response"]
        headers = upstream_headers if proxied else kong_headers
        rec["response"] = {
            **resp,
            "status": d.status,
            "size": d.response_size,
            "headers": headers(resp["headers"], d),
        }
        rec["latencies"] = {
            "kong": d.kong_ms,
            "proxy": d.proxy_ms,
            "request": d.request_ms,
            "receive": d.receive_ms,
        }
        rec["started_at"] = d.started_ms
        rec["upstream_status"] = str(d.upstream_status) if proxied else ""
        if proxied:
            rec["tries"] = tries(d)
        rec["ai"] = self.ai(d, proxied)
        return rec

    def encode(self, d: Draw) -> bytes:
        """One line, escaped like lua-cjson (every `/` as `\\/`, valid anywhere in JSON)."""
        return orjson.dumps(self(d)).replace(b"/", b"\\/")


# ---------------------------------------------------------------------------- ai subtrees


def models(d: Draw) -> tuple[str, str, str]:
    """(provider, request model, response model) as Kong logs them."""
    if d.scenario == "too_large_400":
        return UNSPECIFIED, UNSPECIFIED, UNSPECIFIED
    if d.scenario == "rejected_400":
        return "anthropic", d.request_model, d.request_model
    return "openai", d.request_model, d.response_model


def kong_cost(d: Draw) -> float | int:
    rates = KONG_COSTS.get(d.request_model)
    if rates is None or not d.completion:
        return 0
    return cjson_float((d.prompt * rates[0] + d.completion * rates[1]) / 1e6)


def time_per_token(d: Draw) -> float | int:
    return cjson_float(d.llm_latency / d.completion) if d.completion else 0


def payload() -> dict[str, str]:
    return dict(fixture_lines()[TEMPLATE_LINE["payload"]]["ai"]["proxy"]["payload"])


def ai_3_6(d: Draw, proxied: bool) -> dict[str, Any]:
    provider, request_model, response_model = models(d)
    ai: dict[str, Any] = {
        "meta": {
            "request_model": request_model,
            "response_model": response_model,
            "provider_name": provider,
        },
        "usage": {
            "prompt_tokens": d.prompt,
            "completion_tokens": d.completion,
            "total_tokens": d.prompt + d.completion,
        },
    }
    if d.payload:
        ai["payload"] = payload()
    return ai


def ai_3_7(d: Draw, proxied: bool) -> dict[str, Any]:
    provider, request_model, response_model = models(d)
    proxy: dict[str, Any] = {
        "meta": {
            "request_model": request_model,
            "response_model": response_model,
            "provider_name": provider,
            "plugin_id": PLUGIN_ID,
        },
        "usage": {
            "prompt_token": d.prompt,
            "completion_token": d.completion,
            "total_tokens": d.prompt + d.completion,
        },
    }
    if d.payload:
        proxy["payload"] = payload()
    return {"ai-proxy": proxy}


def meta_3_8(d: Draw) -> dict[str, Any]:
    provider, request_model, response_model = models(d)
    return {
        "plugin_id": PLUGIN_ID,
        "provider_name": provider,
        "request_model": request_model,
        "response_model": response_model,
        "llm_latency": d.llm_latency,
    }


def ai_3_8(d: Draw, proxied: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": d.prompt,
        "completion_tokens": d.completion,
        "total_tokens": d.prompt + d.completion,
        "time_per_token": d.llm_latency // d.completion if d.completion else 0,
    }
    if d.request_model in KONG_COSTS:
        usage["cost"] = kong_cost(d)
    proxy: dict[str, Any] = {"meta": meta_3_8(d), "usage": usage, "cache": {}}
    if d.payload:
        proxy["payload"] = payload()
    return {"ai-proxy": proxy}


def ai_3_10(d: Draw, proxied: bool) -> dict[str, Any]:
    usage = {
        "prompt_tokens": d.prompt,
        "completion_tokens": d.completion,
        "total_tokens": d.prompt + d.completion,
        "cost": kong_cost(d),
        "time_per_token": time_per_token(d),
    }
    proxy: dict[str, Any] = {"meta": meta_3_8(d), "usage": usage}
    if d.payload:
        proxy["payload"] = payload()
    return {"proxy": proxy}


def proxy_3_13(d: Draw) -> dict[str, Any]:
    meta = meta_3_8(d)
    meta["request_mode"] = d.mode
    with_usage = d.completion > 0
    usage = {
        "prompt_tokens": d.prompt,
        "time_to_first_token": d.ttft,
        "cost": kong_cost(d),
        "total_tokens": d.prompt + d.completion,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
            "reasoning_tokens": d.reasoning,
            "audio_tokens": 0,
        }
        if with_usage
        else {},
        "prompt_tokens_details": {"cached_tokens": d.cached, "audio_tokens": 0}
        if with_usage
        else {},
        "time_per_token": time_per_token(d),
        "completion_tokens": d.completion,
    }
    proxy: dict[str, Any] = {"meta": meta, "usage": usage}
    if d.payload:
        proxy["payload"] = payload()
    return proxy


def ai_3_13(d: Draw, proxied: bool) -> dict[str, Any]:
    return {"proxy": proxy_3_13(d)}


def target(provider: str, model: str, host: str, uri: str, ip: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "model": model,
        "port": 443,
        "upstream_scheme": "https",
        "host": host,
        "upstream_uri": uri,
        "route_type": "llm/v1/chat",
        "ip": ip,
    }


AZURE_URI = "/openai/deployments/{}/chat/completions?api-version=2024-10-21"


def ai_advanced(d: Draw, proxied: bool) -> dict[str, Any]:
    """ai-proxy-advanced: the balancer's tried targets; one in 64 failed over from Azure first."""
    proxy = proxy_3_13(d)
    if proxied:
        tried = [
            target(
                "openai", d.request_model, "api.openai.com", "/v1/chat/completions", d.upstream_ip
            )
        ]
        if d.request_id[0] == "a" and d.request_id[1] in "0123":  # 1 in 64
            azure = target(
                "azure",
                d.request_model,
                "example-east.openai.azure.com",
                AZURE_URI.format(d.request_model),
                "20.62.58.16",
            )
            tried.insert(0, azure)
        proxy = {"tried_targets": tried, **proxy}
    return {"proxy": proxy}


KONG_SHAPES: dict[str, KongRenderer] = {}


def kong_renderer(shape: str) -> KongRenderer:
    """The renderer of a Kong shape name ("kong-3.6" ... "kong-3.13-advanced")."""
    if shape not in KONG_SHAPES:
        builders: dict[str, tuple[str, AiBuilder]] = {
            "kong-3.6": ("3.6", ai_3_6),
            "kong-3.7": ("3.7", ai_3_7),
            "kong-3.8": ("3.8", ai_3_8),
            "kong-3.10": ("3.10", ai_3_10),
            "kong-3.13": ("3.13", ai_3_13),
            "kong-3.13-advanced": ("3.13", ai_advanced),
        }
        version, builder = builders[shape]
        KONG_SHAPES[shape] = KongRenderer(version, builder)
    return KONG_SHAPES[shape]
