"""Log lines of every shape the readers understand, for the reader tests and for measuring.

Kong lines of older versions are derived from the Kong 3.13 fixture
(`../shared/fixtures/kong/claude.json`) by rewriting its `ai` subtree into each version's
field list (`../shared/notes/kong.md`, sections 1.2 and 4); claude_gw lines come from
`build_record`. Nothing here copies a shared file.

`python -m tests.logs.logfactory OUT N` writes N mixed lines (1 % bad) to OUT, for timing.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from claude_gw.logs.encode import encode_record
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.record import RecordContext, build_record
from claude_gw.logs.report import Problem

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
PLUGIN_ID = "9f1c2b7e-4d3a-4e8f-a6b5-1c0d2e3f4a5b"
SESSION = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
AGENT = "a1b2c3d4e5f60718"
UA = "claude-cli/2.1.331 (external, sdk-cli)"
T0 = 5000.0  # a monotonic reading
STARTED_AT = 1765380340.657

# Kong version -> the shape label the reader gives it.
KONG_VERSIONS = {
    "3.6": "kong-3.6",
    "3.7": "kong-3.7",
    "3.8": "kong-3.8",
    "3.9": "kong-3.9+",
    "3.11": "kong-3.9+",
    "3.13": "kong-3.9+",
    "advanced": "kong-advanced",
    "advanced-key": "kong-advanced",
}
# Columns a version does not log (null when read).
NOT_LOGGED = {
    "3.6": {"stream", "upstream_latency_ms", "ttft_ms", "time_per_token_ms", "logged_cost"},
    "3.7": {"stream", "upstream_latency_ms", "ttft_ms", "time_per_token_ms", "logged_cost"},
    "3.8": {"stream", "ttft_ms"},
    "3.9": {"stream", "ttft_ms"},
    "3.11": {"stream", "ttft_ms"},
    "3.13": set(),
    "advanced": set(),
    "advanced-key": set(),
}
for _version in ("3.6", "3.7", "3.8", "3.9"):
    NOT_LOGGED[_version] |= {"cached_tokens", "reasoning_tokens"}


@cache
def _kong_lines() -> tuple[str, ...]:
    return tuple(KONG.read_text().splitlines())


def kong_records() -> list[dict[str, Any]]:
    """The 13 records of the Kong 3.13 fixture, fresh copies."""
    return [json.loads(line) for line in _kong_lines()]


def pick(source: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: source[name] for name in names if name in source}


def kong_ai(proxy: dict[str, Any], version: str) -> dict[str, Any]:
    """The `ai` subtree `version` writes for the metrics in a 3.13 `ai.proxy`."""
    meta, usage = proxy["meta"], proxy["usage"]
    payload = {"payload": proxy["payload"]} if "payload" in proxy else {}
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    models = pick(meta, "request_model", "response_model", "provider_name")
    totals = {"prompt_tokens": prompt, "completion_tokens": completion}
    totals["total_tokens"] = usage["total_tokens"]
    if version == "3.6":
        return {"meta": models, "usage": totals, **payload}
    if version == "3.7":
        singular = {"prompt_token": prompt, "completion_token": completion}
        usage_37 = singular | {"total_tokens": usage["total_tokens"]}
        return {
            "ai-proxy": {"meta": models | {"plugin_id": PLUGIN_ID}, "usage": usage_37, **payload}
        }
    latency = meta["llm_latency"]
    meta_38 = models | {"plugin_id": PLUGIN_ID, "llm_latency": latency}
    if version == "3.8":
        usage_38 = totals | {"time_per_token": latency // completion if completion else 0}
        if usage["cost"]:  # 3.8 logs a cost only when both costs are configured
            usage_38["cost"] = usage["cost"]
        return {"ai-proxy": {"meta": meta_38, "usage": usage_38, "cache": {}, **payload}}
    usage_39 = totals | pick(usage, "cost", "time_per_token")
    if version == "3.9":
        return {"proxy": {"meta": meta_38, "usage": usage_39, **payload}}
    if version == "3.11":
        details = pick(usage, "prompt_tokens_details", "completion_tokens_details")
        return {"proxy": {"meta": meta_38, "usage": usage_39 | details, **payload}}
    if version == "3.13":
        return {"proxy": proxy}
    advanced = proxy | {"tried_targets": [target(meta)]}
    if version == "advanced":
        return {"proxy": advanced}
    if version == "advanced-key":
        return {"ai-proxy-advanced": advanced}
    raise ValueError(f"unknown Kong version {version}")


def target(meta: dict[str, Any]) -> dict[str, Any]:
    """An ai-proxy-advanced `tried_targets` entry (fields as in the Kong docs' samples)."""
    return {
        "provider": meta["provider_name"],
        "model": meta["request_model"],
        "port": 443,
        "upstream_scheme": "https",
        "host": "api.openai.com",
        "upstream_uri": "/v1/chat/completions",
        "route_type": "llm/v1/chat",
        "ip": "162.159.140.245",
    }


def as_version(record: dict[str, Any], version: str) -> dict[str, Any]:
    """A copy of a 3.13 record as `version` would have logged it."""
    rewritten = copy.deepcopy(record)
    rewritten["ai"] = kong_ai(rewritten["ai"]["proxy"], version)
    return rewritten


def kong_line(record: dict[str, Any]) -> bytes:
    """One line as lua-cjson writes it: `/` escaped as `\\/`."""
    return orjson.dumps(record).replace(b"/", b"\\/")


# --------------------------------------------------------------------------- claude_gw


def context(**changes: Any) -> RecordContext:
    fields: dict[str, Any] = dict(
        plugin_id=PLUGIN_ID,
        route_paths=("/",),
        service_name="openai",
        upstream_url="https://api.openai.com/v1",
        log_payloads=False,
        workspace="0b6f3e4c-2d51-4c1e-9a57-8e0f4d2b7c31",
        version="0.1.0",
    )
    return RecordContext(**(fields | changes))


def at(ms: float) -> float:
    return T0 + ms / 1000


def exchange(**fields: Any) -> Exchange:
    """A Claude CLI request to /anything/v1/messages?beta=true, answered upstream."""
    base: dict[str, Any] = dict(
        request_id=uuid.UUID(int=random.Random(str(fields)).getrandbits(128)).hex,
        started_at=STARTED_AT,
        t_start=T0,
        path="/anything/v1/messages",
        query_string="beta=true",
        host="localhost:8000",
        headers=[("User-Agent", UA), ("X-Claude-Code-Session-Id", SESSION)],
        request_size=2714,
        client_ip="127.0.0.1",
        route_prefix="/anything",
        endpoint="messages",
        client_model="claude-sonnet-4-5-20250929",
        request_model="gpt-5-mini",
        response_model="gpt-5-mini-2025-08-07",
        upstream_uri="/v1/chat/completions",
        upstream_host="api.openai.com",
        upstream_port=443,
        upstream_status=200,
        status=200,
        source="upstream",
        mode="stream",
        t_upstream_sent=at(4),
        t_upstream_headers=at(485),
        t_first_token=at(2690),
        t_upstream_done=at(4410),
        t_end=at(4412),
        stop_reason="end_turn",
        usage={
            "prompt_tokens": 15388,
            "completion_tokens": 241,
            "prompt_tokens_details": {"cached_tokens": 13824},
            "completion_tokens_details": {"reasoning_tokens": 128},
        },
    )
    return Exchange(**(base | fields))


REJECTED: dict[str, Any] = dict(
    request_model=None,
    response_model=None,
    upstream_uri=None,
    upstream_status=None,
    source="kong",
    t_upstream_sent=None,
    t_upstream_headers=None,
    t_first_token=None,
    t_upstream_done=None,
    t_end=at(3),
    stop_reason=None,
    usage=None,
)

# name -> the exchange of one claude_gw record variant
GATEWAY_EXCHANGES: dict[str, Exchange] = {
    "stream_priced": exchange(tool_calls=2),
    "oneshot_subagent": exchange(
        mode="oneshot",
        headers=[
            ("User-Agent", UA),
            ("X-Claude-Code-Session-Id", SESSION),
            ("x-claude-code-agent-id", AGENT),
        ],
        usage={"prompt_tokens": 212, "completion_tokens": 87},
    ),
    "unpriced_model": exchange(
        request_model="qwen2.5-coder-32b",
        response_model="qwen2.5-coder-32b",
        usage={"prompt_tokens": 500, "completion_tokens": 50},
    ),
    "upstream_429": exchange(
        upstream_status=429,
        status=429,
        response_model=None,
        usage=None,
        stop_reason=None,
        t_first_token=None,
        t_upstream_done=at(391),
        t_end=at(393),
        error_type="rate_limit_error",
        error_message="upstream answered 429",
    ),
    "count_tokens": exchange(
        **REJECTED
        | dict(
            path="/anything/v1/messages/count_tokens",
            endpoint="count_tokens",
            request_model="gpt-5-mini",
            counted_input_tokens=1234,
            mode="oneshot",
        )
    ),
    "bad_json": exchange(
        **REJECTED
        | dict(
            client_model=None,
            status=400,
            error_type="invalid_request_error",
            error_message="the request body is not valid JSON",
        )
    ),
    "unknown_path": exchange(
        **REJECTED
        | dict(path="/anything/v1/models", endpoint="other", client_model=None, status=404)
    ),
    "simulated": exchange(
        provider="simulated",
        request_model="gpt-5-mini-simulated",
        response_model="gpt-5-mini-simulated",
        usage={"prompt_tokens": 900, "completion_tokens": 100},
    ),
}


def gateway_record(name: str, **ctx: Any) -> dict[str, Any]:
    """A claude_gw record as a reader sees it: built, encoded, decoded."""
    decoded: dict[str, Any] = orjson.loads(
        encode_record(build_record(GATEWAY_EXCHANGES[name], context(**ctx)))
    )
    return decoded


# --------------------------------------------------------------------------- bad lines

NON_AI_RECORD = {
    "request": {"id": "0" * 32, "uri": "/status", "method": "GET", "headers": {}},
    "response": {"status": 200, "headers": {}, "size": 120},
    "started_at": 1765380340657,
    "upstream_status": "200",
    "latencies": {"kong": 0, "proxy": 1, "request": 1, "receive": 0},
}


def bad_lines() -> dict[str, tuple[bytes, Problem]]:
    """One line of each kind a reader must skip, none ending in \\n, with the reason."""
    good = kong_line(kong_records()[0])
    return {
        "empty_line": (b"   ", Problem.EMPTY_LINE),
        "error_log_text": (
            b"2025/12/10 15:25:14 [error] 1234#0: *5 upstream timed out",
            Problem.NOT_JSON,
        ),
        # Cut inside, yet still ending in `}`: `json_decode` must not see it with others.
        "cut_object_like": (good[:-40] + b"}", Problem.NOT_JSON),
        # Two records joined by a comma: polars would read them as two rows.
        "two_objects_comma": (good + b"," + good, Problem.NOT_JSON),
        "two_objects": (good + good, Problem.NOT_JSON),
        "array": (b'[{"ai": {}}]', Problem.NOT_AN_OBJECT),
        "scalar": (b'"file-log: reopened"', Problem.NOT_AN_OBJECT),
        "no_ai": (orjson.dumps(NON_AI_RECORD), Problem.NO_AI),
        "unknown_ai_shape": (
            orjson.dumps(NON_AI_RECORD | {"ai": {"ai-prompt-guard": {"x": 1}}}),
            Problem.UNKNOWN_AI_SHAPE,
        ),
        "unknown_gateway_version": (
            orjson.dumps(kong_records()[0] | {"claude_gw": {"v": 99, "session_id": SESSION}}),
            Problem.UNKNOWN_GATEWAY_VERSION,
        ),
    }


# --------------------------------------------------------------------------- volume


def templates() -> list[tuple[dict[str, Any], bool]]:
    """(record, is_kong) pool: claude_gw variants, and every fixture line in every Kong
    version with the Claude CLI's session header added."""
    pool = [(gateway_record(name), False) for name in GATEWAY_EXCHANGES]
    for record in kong_records():
        record["request"]["headers"]["x-claude-code-session-id"] = SESSION
        pool += [(as_version(record, version), True) for version in KONG_VERSIONS]
    return pool


def mixed_lines(n: int, *, seed: int = 0, bad_fraction: float = 0.01) -> Iterator[bytes]:
    """`n` lines (with their `\\n`): half claude_gw, half Kong of all versions, with distinct
    ids, increasing times, sessions of 40 requests, and `bad_fraction` of bad lines (mostly
    truncated ones)."""
    rng = random.Random(seed)
    pool = templates()
    ours = [record for record, is_kong in pool if not is_kong]
    kong = [record for record, is_kong in pool if is_kong]
    bad = [line for line, _ in bad_lines().values()]
    started_at = int(STARTED_AT * 1000)
    for i in range(n):
        record = rng.choice(ours if i % 2 else kong)
        started_at += rng.randrange(1, 3000)
        session = f"{i // 40:08x}-0000-4000-8000-000000000000"
        record["started_at"] = started_at
        record["request"]["id"] = f"{rng.getrandbits(128):032x}"
        record["request"]["headers"]["x-claude-code-session-id"] = session
        if "claude_gw" in record:
            record["claude_gw"]["session_id"] = session
        line = kong_line(record) if i % 2 == 0 else orjson.dumps(record)
        if rng.random() < bad_fraction:
            line = line[: rng.randrange(1, len(line))] if rng.random() < 0.7 else rng.choice(bad)
        yield line + b"\n"


def write_mixed_log(path: Path, n: int, *, seed: int = 0, bad_fraction: float = 0.01) -> Path:
    with path.open("wb") as file:
        for line in mixed_lines(n, seed=seed, bad_fraction=bad_fraction):
            file.write(line)
    return path


if __name__ == "__main__":
    write_mixed_log(Path(sys.argv[1]), int(sys.argv[2]))
