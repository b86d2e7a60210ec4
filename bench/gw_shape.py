"""claude_gw's own records (Kong 3.13 shape + the versioned `claude_gw` key), from a `Draw`.

Calling `build_record` per line would cost 60-200 us (header scrubbing, uuid5, price lookup), so
`build_record` runs once per outcome on a synthetic `Exchange` and its record becomes the
template; each line replaces values only, never adds or drops a key, so every line has exactly
the keys `build_record` gives for that outcome (tests/test_bench_gen.py checks it).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import orjson

from bench.headers import CLIENT_HEADERS, logged_headers, user_agent
from bench.kong_shapes import fixture_lines, request_headers
from bench.traffic import Draw
from claude_gw.logs.cost import price_usage
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.record import RecordContext, build_record, service_entity

Record = dict[str, Any]
T0 = 1000.0
PLUGIN_ID = "3d1f6a2c-8b7e-4c5d-9a0f-1e2b3c4d5e6f"
# upstream of a session, by its upstream model: (service URL, logged ip, port)
UPSTREAMS = {
    "qwen3-coder-30b-a3b": ("http://127.0.0.1:8001/v1", "127.0.0.1", 8001),
    "gpt-5-mini-simulated": ("http://simulated.invalid/v1", "simulated.invalid", 80),
}
OPENAI = ("https://api.openai.com/v1", "api.openai.com", 443)
SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
ERRORS = {
    "upstream_429": ("rate_limit_error", "upstream openai answered 429: Rate limit reached"),
    "upstream_500": ("api_error", "upstream openai answered 500: The server had an error"),
    "rejected_400": (
        "invalid_request_error",
        "prompt is too long: the request body is larger than 33554432 bytes",
    ),
    "disconnected": (
        "client_disconnected",
        "the client closed the connection before the response ended",
    ),
}
PROXIED = {"stream_ok", "subagent_ok", "oneshot_ok", "upstream_429", "upstream_500", "disconnected"}
WITH_USAGE = {"stream_ok", "subagent_ok", "oneshot_ok"}
STREAMED = {"stream_ok", "subagent_ok", "disconnected"}


def context(log_payloads: bool, upstream_url: str = OPENAI[0]) -> RecordContext:
    return RecordContext(
        plugin_id=PLUGIN_ID,
        route_paths=("/",),
        service_name="openai",
        upstream_url=upstream_url,
        log_payloads=log_payloads,
        workspace="5a1ee2e7-9e56-5b5a-8d8c-1f1b4a6e0c2d",
        version="0.1.0",
    )


def exchange(scenario: str, payload: bool) -> Exchange:
    """A synthetic exchange of an outcome: its values are placeholders, its shape is real."""
    count = scenario == "count_tokens"
    proxied = scenario in PROXIED
    error_type, error_message = ERRORS.get(scenario, (None, None))
    status = {"upstream_429": 429, "upstream_500": 500, "rejected_400": 400}.get(scenario, 200)
    t = T0 + 0.5
    headers = CLIENT_HEADERS["cli-2.1.331"]["count" if count else "main"]
    return Exchange(
        request_id="0" * 32,
        started_at=1765324800.0,
        t_start=T0,
        path="/anything/v1/messages/count_tokens" if count else "/anything/v1/messages",
        query_string="beta=true",
        host="localhost:8000",
        headers=list(headers),
        client_ip="127.0.0.1",
        route_prefix="/anything",
        client_model=None if scenario == "rejected_400" else "claude-sonnet-4-5-20250929",
        request_model=None if scenario == "rejected_400" else "gpt-5-mini",
        response_model="gpt-5-mini-2025-08-07" if scenario in WITH_USAGE else None,
        mode="stream" if scenario in STREAMED else "oneshot",
        endpoint="count_tokens" if count else "messages",
        upstream_uri="/v1/chat/completions" if proxied else None,
        upstream_host="api.openai.com" if proxied else None,
        upstream_port=443 if proxied else None,
        upstream_status=status if proxied else None,
        t_upstream_sent=T0 + 0.001 if proxied else None,
        t_upstream_headers=t if proxied else None,
        t_first_token=t if scenario in WITH_USAGE else None,
        t_upstream_done=t if proxied else None,
        t_end=t,
        status=status,
        source="upstream" if proxied else "kong",
        usage={"prompt_tokens": 1, "completion_tokens": 1} if scenario in WITH_USAGE else None,
        stop_reason="end_turn" if scenario in WITH_USAGE else None,
        error_type=error_type,
        error_message=error_message,
        counted_input_tokens=1 if count else None,
        request_body=b'{"model":"x"}' if payload else None,
        response_body='{"type":"message"}' if payload else None,
    )


@cache
def gw_template(scenario: str, payload: bool) -> Record:
    """`build_record`'s record for an outcome (with `payload` when log_payloads was on)."""
    return dict(build_record(exchange(scenario, payload), context(payload)))


@cache
def rates(model: str, provider: str) -> tuple[float, float, float] | None:
    """USD per 1M (uncached input, cached input, output) from genai-prices; None if unpriced."""
    one = 1_000_000
    prices = [
        price_usage(model, provider=provider, prompt_tokens=p, cached_tokens=c, completion_tokens=o)
        for p, c, o in ((one, 0, 0), (one, one, 0), (0, 0, one))
    ]
    if any(p.cost is None for p in prices):
        return None
    return (prices[0].cost or 0.0, prices[1].cost or 0.0, prices[2].cost or 0.0)


@cache
def service(model: str) -> dict[str, Any]:
    url = UPSTREAMS.get(model, OPENAI)[0]
    return service_entity(dataclasses.replace(context(False), upstream_url=url))


class GatewayRenderer:
    """Renders draws as claude_gw records; see the module docstring."""

    def __init__(self) -> None:
        self.headers = logged_headers("claude_gw")
        self.agents = {c: user_agent(c) for c in CLIENT_HEADERS}
        line = fixture_lines()[10]["ai"]["proxy"]["payload"]
        self.payload = {"request": line["request"], "response": line["response"]}

    def __call__(self, d: Draw) -> Record:
        tpl = gw_template(d.scenario, d.payload)
        rec = dict(tpl)
        s = d.session
        count = d.scenario == "count_tokens"
        kind = "count" if count else "subagent" if d.subagent else "main"
        req = dict(tpl["request"])
        req["id"] = d.request_id
        req["url"] = f"http://{s.host}{req['uri']}"
        req["headers"] = request_headers(self.headers[s.client, kind], d)
        req["size"] = d.body_size + 1_000
        rec["request"] = req
        rec["upstream_status"] = str(d.upstream_status) if d.upstream_status else ""
        rec["response"] = {
            "status": d.status,
            "headers": self.response_headers(d),
            "size": d.response_size,
        }
        rec["service"] = service(d.request_model)
        rec["started_at"] = d.started_ms
        proxied = d.scenario in PROXIED
        if proxied:
            rec["latencies"] = {
                "kong": d.kong_ms,
                "proxy": d.proxy_ms,
                "request": d.request_ms,
                "receive": d.receive_ms,
            }
            rec["tries"] = self.tries(d)
        else:
            total = d.request_ms
            rec["latencies"] = {"kong": total, "proxy": -1, "request": total, "receive": 0}
        cost, source = self.cost(d)
        rec["ai"] = {"proxy": self.proxy(d, tpl["ai"]["proxy"], cost)}
        rec["claude_gw"] = {
            **tpl["claude_gw"],
            "session_id": s.id,
            "agent_id": s.agent_id if d.subagent else None,
            "client": self.agents[s.client],
            "client_model": d.client_model if d.scenario != "rejected_400" else None,
            "stop_reason": d.stop_reason,
            "tool_calls": d.tool_calls,
            "cost_source": source,
            "gateway_overhead_ms": round(0.4 + int(d.request_id[-3:], 16) / 1365, 2),
            "simulated": s.provider == "simulated",
        }
        return rec

    def encode(self, d: Draw) -> bytes:
        return orjson.dumps(self(d))

    def response_headers(self, d: Draw) -> dict[str, str]:
        rid = d.request_id
        overhead = f"{0.4 + int(rid[-3:], 16) / 1365:.2f}"
        if d.scenario in STREAMED:
            return {
                **SSE,
                "x-accel-buffering": "no",
                "request-id": f"req_{rid}",
                "x-claude-gw-overhead-ms": overhead,
            }
        return {
            "content-type": "application/json",
            "content-length": str(d.response_size - 180),
            "request-id": f"req_{rid}",
            "x-claude-gw-overhead-ms": overhead,
        }

    def tries(self, d: Draw) -> list[dict[str, Any]]:
        _, host, port = UPSTREAMS.get(d.session.model.name, OPENAI)
        start_ns = (d.started_ms + d.kong_ms) * 1_000_000 + int(d.request_id[:5], 16) % 1_000_000
        attempt: dict[str, Any] = {
            "balancer_start": start_ns // 1_000_000,
            "balancer_start_ns": float(start_ns),
            "ip": host,
            "port": port,
            "balancer_latency": 0,
            "balancer_latency_ns": 0,
        }
        if d.status > 499:
            attempt.update(state="failed", code=d.status)
        return [attempt]

    def cost(self, d: Draw) -> tuple[float, str]:
        if d.scenario not in WITH_USAGE:
            return 0.0, "none"
        r = rates(d.request_model, d.session.provider)
        if r is None:
            return 0.0, "unpriced"
        uncached = d.prompt - d.cached
        return (uncached * r[0] + d.cached * r[1] + d.completion * r[2]) / 1e6, "genai-prices"

    def proxy(self, d: Draw, tpl: dict[str, Any], cost: float) -> dict[str, Any]:
        meta = dict(tpl["meta"])
        if d.scenario != "rejected_400":
            meta["provider_name"] = d.session.provider
            meta["request_model"] = d.request_model
            meta["response_model"] = d.response_model
        meta["request_mode"] = d.mode if d.scenario != "count_tokens" else "oneshot"
        meta["llm_latency"] = d.llm_latency if d.scenario in PROXIED else 0
        with_usage = d.scenario in WITH_USAGE
        prompt = d.prompt if with_usage or d.scenario == "count_tokens" else 0
        completion = d.completion if with_usage else 0
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": cost,
            "time_per_token": d.llm_latency / completion if completion else 0.0,
            "time_to_first_token": d.ttft if with_usage else 0,
            "prompt_tokens_details": {"cached_tokens": d.cached, "audio_tokens": 0}
            if with_usage
            else {},
            "completion_tokens_details": {
                "reasoning_tokens": d.reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
            if with_usage
            else {},
        }
        proxy: dict[str, Any] = {"meta": meta, "usage": usage}
        if "payload" in tpl:
            proxy["payload"] = self.payload
        return proxy
