"""Kong-shaped records from exchanges (claude_gw/logs/record.py), checked against the Kong 3.13
fixture `../shared/fixtures/kong/claude.json` (key sets and value types derived from its lines)."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import genai_prices
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_gw.logs.encode import encode_record
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.record import RecordContext, build_record, parse_query
from claude_gw.logs.redact import FIRST_LETTERS, scrub_secrets, scrub_secrets_everywhere

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
T0 = 5000.0  # monotonic reading at arrival
STARTED_AT = 1765380340.657  # wall clock at arrival, epoch seconds
CLIENT_KEY = "sk-ant-api03-Zq8xK2mVb7Lr4Tn9Wc1Yd6Hf3Jg5Pk0Qs8Ue2Ri7Oa4Mz1Xb9Nv3Cl6Dw5Ey0Gt"
UPSTREAM_KEY = "sk-proj-4fGh7Jk2Lm9Np3Qr6St8Uv1Wx5Yz0Ab2Cd4Ef6Gh8Ij0Kl2Mn4Op6Qr8St0Uv2"
SESSION = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def at(ms: float) -> float:
    return T0 + ms / 1000


def ctx(**changes: Any) -> RecordContext:
    base = RecordContext(
        plugin_id="9f1c2b7e-4d3a-4e8f-a6b5-1c0d2e3f4a5b",
        route_paths=("/",),
        service_name="openai",
        upstream_url="https://api.openai.com/v1",
        log_payloads=False,
        workspace="0b6f3e4c-2d51-4c1e-9a57-8e0f4d2b7c31",
        version="0.1.0",
        created_at=1765371600,
    )
    return dataclasses.replace(base, **changes)


CLAUDE_HEADERS = [
    ("Host", "localhost:8000"),
    ("User-Agent", "claude-cli/2.0.37 (external, cli)"),
    ("X-Api-Key", CLIENT_KEY),
    ("Authorization", f"Bearer {CLIENT_KEY}"),
    ("Content-Type", "application/json"),
    ("anthropic-version", "2023-06-01"),
    ("X-Claude-Code-Session-Id", SESSION),
    ("accept-encoding", "gzip, deflate, br"),
]


def arrived(**fields: Any) -> Exchange:
    """A /anything/v1/messages?beta=true request as the Claude CLI sends it."""
    base: dict[str, Any] = dict(
        request_id="cdfc94e1f2d641b6f5d716ebd5015077",
        started_at=STARTED_AT,
        t_start=T0,
        path="/anything/v1/messages",
        query_string="beta=true",
        host="localhost:8000",
        headers=list(CLAUDE_HEADERS),
        request_size=2714,
        client_ip="127.0.0.1",
        route_prefix="/anything",
        endpoint="messages",
        client_model="claude-sonnet-4-5-20250929",
        t_end=at(12),
        status=400,
        response_headers={"content-type": "application/json", "request-id": "req_x"},
        response_size=300,
    )
    base.update(fields)
    return Exchange(**base)


def proxied(**fields: Any) -> Exchange:
    """Sent upstream to OpenAI; upstream fields filled in as the server does."""
    base: dict[str, Any] = dict(
        request_model="gpt-5-mini",
        response_model="gpt-5-mini-2025-08-07",
        upstream_uri="/v1/chat/completions",
        upstream_host="api.openai.com",
        upstream_port=443,
        upstream_status=200,
        status=200,
        source="upstream",
        t_upstream_sent=at(4),
        t_upstream_headers=at(485),
        t_first_token=at(2690),
        t_upstream_done=at(4410),
        t_end=at(4412),
        stop_reason="end_turn",
    )
    base.update(fields)
    return arrived(**base)


USAGE_CACHED_REASONING = {
    "prompt_tokens": 15388,
    "completion_tokens": 241,
    "total_tokens": 15629,
    "prompt_tokens_details": {"cached_tokens": 13824, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 128},
}

SCENARIOS = {
    "stream_cached_reasoning": proxied(mode="stream", usage=USAGE_CACHED_REASONING, tool_calls=2),
    "oneshot_success": proxied(
        usage={"prompt_tokens": 212, "completion_tokens": 87},
        t_upstream_headers=at(1844),
        t_first_token=at(1844),
        t_upstream_done=at(1844),
        t_end=at(1846),
    ),
    "upstream_429": proxied(
        upstream_status=429,
        status=429,
        response_model=None,
        usage=None,
        stop_reason=None,
        t_upstream_headers=None,
        t_first_token=None,
        t_upstream_done=None,
        t_end=at(393),
        error_type="rate_limit_error",
        error_message="Rate limit reached for gpt-5-mini",
    ),
    "upstream_500_stream": proxied(
        mode="stream",
        upstream_status=500,
        status=500,
        response_model=None,
        usage=None,
        stop_reason=None,
        t_first_token=None,
        t_upstream_done=at(2214),
        t_end=at(2216),
        error_type="api_error",
        error_message="upstream openai answered 500",
    ),
    "body_too_large": arrived(
        client_model=None,
        request_size=613727,
        error_type="invalid_request_error",
        error_message="prompt is too long: the request body is larger than 524288 bytes",
    ),
    "bad_json": arrived(
        client_model=None,
        error_type="invalid_request_error",
        error_message="the request body is not valid JSON: unexpected character",
    ),
    "count_tokens": arrived(
        path="/anything/v1/messages/count_tokens",
        endpoint="count_tokens",
        request_model="gpt-5-mini",
        counted_input_tokens=1234,
        status=200,
    ),
    "client_disconnected_mid_stream": proxied(
        mode="stream",
        usage=None,
        stop_reason=None,
        t_upstream_done=at(3000),
        t_end=at(3001),
        error_type="client_disconnected",
        error_message="the client closed the connection before the response ended",
    ),
    "simulated": proxied(
        provider="simulated",
        request_model="gpt-5-mini-simulated",
        response_model="gpt-5-mini-simulated",
        upstream_host="simulated.invalid",
        upstream_port=80,
        usage={"prompt_tokens": 900, "completion_tokens": 100},
    ),
    "unknown_path": arrived(
        path="/anything/v1/models", endpoint="other", client_model=None, status=404
    ),
}
PROXIED = {
    "stream_cached_reasoning",
    "oneshot_success",
    "upstream_429",
    "upstream_500_stream",
    "client_disconnected_mid_stream",
    "simulated",
}
# count_tokens: the local count is its usage, in the same shape (nothing cached or generated)
WITH_USAGE = {"stream_cached_reasoning", "oneshot_success", "simulated", "count_tokens"}


def scenario_params(names: Any = None) -> list[Any]:
    return [pytest.param(name, id=name) for name in sorted(names or SCENARIOS)]


def record_for(name: str, **context: Any) -> dict[str, Any]:
    """The record as a reader sees it: built, encoded, decoded."""
    line = encode_record(build_record(SCENARIOS[name], ctx(**context)))
    decoded: dict[str, Any] = orjson.loads(line)
    return decoded


# --------------------------------------------------------------------------- the fixture


@cache
def kong_lines() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in KONG.read_text().splitlines())


def kong_keys(path: str, *, upstream: bool | None = None, nonempty: bool = False) -> set[str]:
    """The key set at `path` (dotted) in the fixture lines; asserted identical in all of them."""
    found = set()
    for line in kong_lines():
        if upstream is not None and (line["source"] == "upstream") != upstream:
            continue
        value = dig(line, path)
        if nonempty and not value:
            continue
        found.add(frozenset(value))
    assert len(found) == 1, f"the fixture has several key sets at {path}: {found}"
    return set(next(iter(found)))


def kong_types(path: str) -> set[type]:
    """The JSON value types seen at `path` across the fixture lines."""
    return {type(dig(line, path)) for line in kong_lines() if has(line, path)}


def dig(doc: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def has(doc: Any, path: str) -> bool:
    try:
        dig(doc, path)
    except (KeyError, TypeError):
        return False
    return True


# --------------------------------------------------------------------------- shape


@pytest.mark.parametrize("name", scenario_params())
def test_meta_and_usage_keys_equal_the_fixture_at_every_level(name: str) -> None:
    ai = record_for(name)["ai"]["proxy"]
    assert set(ai) == {"meta", "usage"}
    assert set(ai["meta"]) == kong_keys("ai.proxy.meta")
    assert set(ai["usage"]) == kong_keys("ai.proxy.usage")
    for detail in ("prompt_tokens_details", "completion_tokens_details"):
        if name in WITH_USAGE:
            assert set(ai["usage"][detail]) == kong_keys(f"ai.proxy.usage.{detail}", nonempty=True)
        else:  # no usage from a provider: `{}`, like the fixture's error lines
            assert ai["usage"][detail] == {}


@pytest.mark.parametrize("name", scenario_params())
def test_top_level_keys_equal_fixture_lines_of_the_same_source(name: str) -> None:
    record = record_for(name)
    is_upstream = name in PROXIED
    assert record["source"] == ("upstream" if is_upstream else "kong")
    assert set(record) - {"claude_gw"} == kong_keys("", upstream=is_upstream)
    for part in ("request", "response", "latencies"):
        assert set(record[part]) == kong_keys(part, upstream=is_upstream)
    assert set(record["route"]) == kong_keys("route")
    assert set(record["service"]) <= kong_keys("service")


@pytest.mark.parametrize("name", scenario_params(PROXIED))
def test_tries_have_the_fixture_keys_and_fail_only_above_499(name: str) -> None:
    record = record_for(name)
    (attempt,) = record["tries"]
    failed = record["response"]["status"] > 499
    extra = {"state", "code"} if failed else set()
    base_keys = {k for line in kong_lines() if "tries" in line for k in line["tries"][0]}
    assert set(attempt) == (base_keys - {"state", "code"}) | extra
    if failed:
        assert (attempt["state"], attempt["code"]) == ("failed", record["response"]["status"])
    assert attempt["balancer_start"] == pytest.approx(int(STARTED_AT * 1000) + 4, abs=1)
    assert isinstance(attempt["balancer_start_ns"], float)


TYPED_PATHS = [
    "upstream_status",
    "response.status",
    "response.size",
    "request.size",
    "started_at",
    "latencies.kong",
    "latencies.proxy",
    "latencies.request",
    "latencies.receive",
    "ai.proxy.meta.llm_latency",
    "ai.proxy.meta.request_mode",
    "ai.proxy.usage.prompt_tokens",
    "ai.proxy.usage.completion_tokens",
    "ai.proxy.usage.total_tokens",
    "ai.proxy.usage.cost",
    "ai.proxy.usage.time_per_token",
    "ai.proxy.usage.time_to_first_token",
]


@pytest.mark.parametrize("name", scenario_params())
def test_value_types_are_the_fixture_types(name: str) -> None:
    record = record_for(name)
    for path in TYPED_PATHS:
        assert type(dig(record, path)) in kong_types(path), path
    # Where the fixture mixes 0 and floats, the record always uses the float.
    assert isinstance(dig(record, "ai.proxy.usage.time_per_token"), float)
    assert isinstance(dig(record, "ai.proxy.usage.cost"), float)
    assert isinstance(record["upstream_status"], str)


# --------------------------------------------------------------------------- values


def test_a_streaming_success_carries_usage_details_timings_and_cost() -> None:
    record = record_for("stream_cached_reasoning")
    meta, usage = record["ai"]["proxy"]["meta"], record["ai"]["proxy"]["usage"]
    assert meta == {
        "plugin_id": "9f1c2b7e-4d3a-4e8f-a6b5-1c0d2e3f4a5b",
        "provider_name": "openai",
        "request_model": "gpt-5-mini",
        "response_model": "gpt-5-mini-2025-08-07",
        "request_mode": "stream",
        "llm_latency": pytest.approx(4410, abs=1),
    }
    assert usage["prompt_tokens_details"] == {"cached_tokens": 13824, "audio_tokens": 0}
    assert usage["completion_tokens_details"] == {
        "reasoning_tokens": 128,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
    assert usage["time_to_first_token"] == pytest.approx(2690, abs=1)
    assert record["latencies"] == {
        "kong": pytest.approx(4, abs=1),
        "proxy": pytest.approx(481, abs=1),
        "receive": pytest.approx(3925, abs=1),
        "request": pytest.approx(4412, abs=1),
    }
    assert record["upstream_status"] == "200"
    assert record["upstream_uri"] == "/v1/chat/completions"  # the query is not forwarded
    assert record["request"]["uri"] == "/anything/v1/messages?beta=true"
    assert record["request"]["url"] == "http://localhost:8000/anything/v1/messages?beta=true"
    assert record["started_at"] == 1765380340657
    assert record["claude_gw"]["tool_calls"] == 2


@pytest.mark.parametrize("name", scenario_params())
def test_total_tokens_and_time_per_token_follow_kong_formulas(name: str) -> None:
    proxy = record_for(name)["ai"]["proxy"]
    usage, latency = proxy["usage"], proxy["meta"]["llm_latency"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    if usage["completion_tokens"]:
        assert usage["time_per_token"] == latency / usage["completion_tokens"]
    else:
        assert usage["time_per_token"] == 0.0


def test_total_tokens_ignore_the_providers_own_total() -> None:
    # Kong/kong#14816: Kong sums prompt + completion itself.
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 999}
    record = build_record(proxied(usage=usage), ctx())
    assert record["ai"]["proxy"]["usage"]["total_tokens"] == 15


def test_cost_of_gpt5_mini_with_cached_tokens_is_genai_prices_own_figure() -> None:
    record = record_for("stream_cached_reasoning")
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=15388, cache_read_tokens=13824, output_tokens=241),
        model_ref="gpt-5-mini-2025-08-07",
        provider_id="openai",
        genai_request_timestamp=datetime.fromtimestamp(STARTED_AT, tz=UTC),
    ).total_price
    assert record["ai"]["proxy"]["usage"]["cost"] == float(expected)
    assert record["claude_gw"]["cost_source"] == "genai-prices"


def test_an_unpriced_model_is_marked_unpriced_with_cost_zero() -> None:
    exchange = proxied(
        request_model="qwen2.5-coder-32b",
        response_model="qwen2.5-coder-32b",
        usage={"prompt_tokens": 500, "completion_tokens": 50},
    )
    record = build_record(exchange, ctx())
    assert record["ai"]["proxy"]["usage"]["cost"] == 0.0
    assert record["claude_gw"]["cost_source"] == "unpriced"


def test_an_unknown_answering_model_is_priced_as_the_requested_one() -> None:
    # e.g. the simulator used as a fake OpenAI: it answers as `gpt-5-mini-simulated`.
    usage = {"prompt_tokens": 900, "completion_tokens": 100}
    fake = build_record(proxied(response_model="gpt-5-mini-simulated", usage=usage), ctx())
    real = build_record(proxied(response_model="gpt-5-mini", usage=usage), ctx())
    assert fake["claude_gw"]["cost_source"] == "genai-prices"
    assert fake["ai"]["proxy"]["usage"]["cost"] == real["ai"]["proxy"]["usage"]["cost"] > 0


@pytest.mark.parametrize("name", scenario_params(["body_too_large", "bad_json", "unknown_path"]))
def test_requests_kong_would_reject_are_unspecified_with_zeros(name: str) -> None:
    record = record_for(name)
    meta, usage = record["ai"]["proxy"]["meta"], record["ai"]["proxy"]["usage"]
    assert meta["provider_name"] == meta["request_model"] == meta["response_model"]
    assert meta["request_model"] == "UNSPECIFIED"
    assert meta["llm_latency"] == 0
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["cost"]) == (0, 0, 0.0)
    assert (record["upstream_status"], record["latencies"]["proxy"], record["source"]) == (
        "",
        -1,
        "kong",
    )
    assert "tries" not in record
    assert record["claude_gw"]["cost_source"] == "none"
    # Kong logs the route-stripped client path as upstream_uri for a request it answered.
    assert record["upstream_uri"].endswith("?beta=true")
    assert not record["upstream_uri"].startswith("/anything")


def test_a_rejection_after_the_model_is_known_names_it_like_kongs_own_model_line() -> None:
    exchange = arrived(client_model="claude-haiku-4-5-20251001", error_type="invalid_request_error")
    meta = build_record(exchange, ctx())["ai"]["proxy"]["meta"]
    assert (meta["provider_name"], meta["request_model"], meta["response_model"]) == (
        "openai",
        "claude-haiku-4-5-20251001",
        "claude-haiku-4-5-20251001",
    )


def test_count_tokens_is_answered_locally_with_the_count_as_prompt_tokens() -> None:
    record = record_for("count_tokens")
    meta, usage = record["ai"]["proxy"]["meta"], record["ai"]["proxy"]["usage"]
    assert record["source"] == "kong"
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        1234,
        0,
        1234,
    )
    assert (meta["request_mode"], meta["request_model"], meta["llm_latency"]) == (
        "oneshot",
        "gpt-5-mini",
        0,
    )
    assert (usage["cost"], record["claude_gw"]["cost_source"]) == (0.0, "none")
    assert record["claude_gw"]["endpoint"] == "count_tokens"
    # the shape of every other record's usage, so that Kong readers see one schema
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert usage["completion_tokens_details"] == {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
    assert usage.keys() == record_for("stream_cached_reasoning")["ai"]["proxy"]["usage"].keys()
    assert record["upstream_uri"] == "/v1/messages/count_tokens?beta=true"


def test_upstream_errors_are_passed_through_as_upstream_lines() -> None:
    too_many, broken = record_for("upstream_429"), record_for("upstream_500_stream")
    assert (too_many["upstream_status"], too_many["response"]["status"]) == ("429", 429)
    assert "state" not in too_many["tries"][0]
    assert broken["tries"][0]["state"] == "failed"
    # No usage from the provider: response_model falls back to the request model.
    assert too_many["ai"]["proxy"]["meta"]["response_model"] == "gpt-5-mini"
    assert too_many["ai"]["proxy"]["usage"]["time_to_first_token"] == 0
    assert too_many["ai"]["proxy"]["meta"]["llm_latency"] == pytest.approx(393, abs=1)
    assert too_many["claude_gw"]["error_type"] == "rate_limit_error"


def test_a_client_gone_mid_stream_is_logged_with_its_partial_timings() -> None:
    record = record_for("client_disconnected_mid_stream")
    assert record["claude_gw"]["error_type"] == "client_disconnected"
    assert record["ai"]["proxy"]["meta"]["llm_latency"] == pytest.approx(3000, abs=1)
    assert record["ai"]["proxy"]["usage"]["prompt_tokens_details"] == {}
    assert record["claude_gw"]["cost_source"] == "none"


def test_the_simulated_provider_is_priced_as_what_it_imitates_but_says_simulated() -> None:
    record = record_for("simulated")
    assert record["ai"]["proxy"]["meta"]["provider_name"] == "simulated"
    assert record["claude_gw"]["simulated"] is True
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    assert record["ai"]["proxy"]["usage"]["cost"] > 0


def test_web_searches_are_logged_and_priced_with_the_tokens() -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    plain = build_record(proxied(usage=usage, response_model="gpt-5-mini"), ctx())
    searched = build_record(
        proxied(usage=usage, response_model="gpt-5-mini", web_search_requests=2), ctx()
    )
    # gpt-5-mini: $0.25 per M input, $2 per M output, $10 per 1000 searches
    # 1000 * 0.25e-6 + 100 * 2e-6 = 0.00045; two searches 0.02 more
    assert plain["ai"]["proxy"]["usage"]["cost"] == pytest.approx(0.00045)
    assert searched["ai"]["proxy"]["usage"]["cost"] == pytest.approx(0.02045)
    assert searched["claude_gw"]["web_search_requests"] == 2
    assert plain["claude_gw"]["web_search_requests"] is None


@pytest.mark.parametrize(
    ("log_payloads", "expected"),
    [
        pytest.param(False, None, id="off"),
        pytest.param(
            True,
            {"request": '{"model":"x","stream":false}', "response": '{"type":"message"}'},
            id="on",
        ),
    ],
)
def test_payloads_are_double_encoded_strings_only_when_enabled(
    log_payloads: bool, expected: dict[str, str] | None
) -> None:
    exchange = proxied(
        request_body=b'{"model":"x","stream":false}', response_body='{"type":"message"}'
    )
    line = encode_record(build_record(exchange, ctx(log_payloads=log_payloads)))
    assert orjson.loads(line)["ai"]["proxy"].get("payload") == expected
    if expected:
        assert b'"request":"{\\"model\\":\\"x\\"' in line  # a JSON string inside the JSON


def test_gateway_fields_are_versioned_and_come_from_headers_and_timings() -> None:
    fields = record_for("stream_cached_reasoning")["claude_gw"]
    assert fields["v"] == 1
    assert fields["session_id"] == SESSION
    assert fields["agent_id"] is None
    assert fields["client"] == "claude-cli/2.0.37 (external, cli)"
    assert fields["client_model"] == "claude-sonnet-4-5-20250929"
    assert fields["stop_reason"] == "end_turn"
    assert fields["endpoint"] == "messages"
    assert fields["simulated"] is False
    # 4412 ms in all, 4406 of them waiting on the upstream (sent at 4, done at 4410).
    assert fields["gateway_overhead_ms"] == pytest.approx(6.0, abs=0.01)


def test_building_is_pure_the_same_exchange_gives_the_same_line() -> None:
    exchange, context = SCENARIOS["stream_cached_reasoning"], ctx()
    assert encode_record(build_record(exchange, context)) == encode_record(
        build_record(exchange, context)
    )


# --------------------------------------------------------------------------- secrets


def test_no_secret_header_value_appears_anywhere_in_the_line() -> None:
    google_key = "AIzaSyD4x9Qm2Lk7Vb3Nc8Xz1Wq5Er6Ty0Ui9Op"
    headers = [
        *CLAUDE_HEADERS,
        ("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZC1zZWNyZXQtdmFsdWU="),
        ("api-key", UPSTREAM_KEY),
        ("Cookie", "session=very-secret-cookie-value-123456"),
        ("x-goog-api-key", google_key),
    ]
    exchange = proxied(
        headers=headers,
        query_string=f"beta=true&key={UPSTREAM_KEY}",
        error_message=f"Incorrect API key provided: {UPSTREAM_KEY}",
        request_body=orjson.dumps(
            {"messages": [{"role": "user", "content": f"key: {CLIENT_KEY}"}]}
        ),
        response_body=f'{{"echo":"Bearer {UPSTREAM_KEY}"}}',
        response_headers={"set-cookie": "sid=another-secret-cookie-value-987654"},
    )
    line = encode_record(build_record(exchange, ctx(log_payloads=True)))
    for secret in (
        CLIENT_KEY,
        UPSTREAM_KEY,
        google_key,
        "dXNlcjpwYXNzd29yZC1zZWNyZXQtdmFsdWU=",
        "very-secret-cookie-value",
        "another-secret-cookie-value",
    ):
        assert secret.encode() not in line
    logged = orjson.loads(line)["request"]["headers"]
    for name in ("authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"):
        assert logged[name] == "REDACTED"
    assert logged["user-agent"] == "claude-cli/2.0.37 (external, cli)"  # the rest stays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"key {UPSTREAM_KEY} rejected", "key REDACTED rejected", id="sk_proj"),
        pytest.param(f"x {CLIENT_KEY}", "x REDACTED", id="sk_ant"),
        pytest.param("sk-abcdefghijklmnopqrstuvwxyz012345", "REDACTED", id="sk_plain"),
        pytest.param(
            "Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer REDACTED", id="bearer"
        ),
        pytest.param(
            "GET /v1?key=QUl6YVN5RDR4OVFtMkxrN1ZiM05jOFh6MVdx&x=1",
            "GET /v1?key=REDACTED&x=1",
            id="key_param",
        ),
        pytest.param(
            '"api_key": "abcdefghijklmnopqrstuvwx"', '"api_key": "REDACTED"', id="json_api_key"
        ),
        pytest.param(
            "use scikit-learn and task-management",
            "use scikit-learn and task-management",
            id="words_with_sk_survive",
        ),
        pytest.param(
            "max_tokens: 1234567890123456789",
            "max_tokens: 1234567890123456789",
            id="token_counts_survive",
        ),
        pytest.param("", "", id="empty"),
    ],
)
def test_scrub_secrets_masks_key_looking_tokens_only(text: str, expected: str) -> None:
    assert scrub_secrets(text) == expected


# Pieces that make or break a match: every hint in several cases, word and non-word neighbours,
# separators, long key-like runs, and characters whose case folding is not ASCII's (the Kelvin
# sign folds to "k", the long s to "s", "ß" to "ss", dotted capital I to "i̇").
FRAGMENTS = [
    *("sk-", "SK-", "AIza", "aiza", "Bearer", "BEARER", "bearer "),
    *("key", "KEY", "api", "Api_", "api-", "token", "TOKEN", "secret", "access", "access_token"),
    *("password", "Passwd", "client_secret", "credentials", "Basic ", "AKIA", "ghp_", "eyJ"),
    *("://", "@", "ABCDEFGHIJKLMNOP"),
    *("max_", "x", "_", "-", ".", "/", " ", '"', "'", "=", ":", ": ", "\n", "?", "&"),
    *("abcdefghijklmnop", "0123456789ABCDEF", "QUl6YVN5RDR4OVFtMkxrN1ZiM05j", "=="),
    *("\u212aey", "\u017fecret", "\u00df", "\u0130", "\u00e9"),
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join))
def test_scrub_secrets_equals_applying_every_pattern(text: str) -> None:
    # the literal hints only skip work: the result is the one of every pattern applied
    assert scrub_secrets(text) == scrub_secrets_everywhere(text)


def test_the_first_letters_are_every_character_a_pattern_can_start_with() -> None:
    # the scan's lookahead must let through whatever the patterns' first letters (s, a, b, k,
    # t, c, p; case-insensitive) match, or a key spelled with an odd character would go unmasked
    first = re.compile("(?i)[sabktcp]")
    matching = {chr(c) for c in range(sys.maxunicode + 1) if first.match(chr(c))}
    assert set(FIRST_LETTERS) == matching


# --------------------------------------------------------------------------- query strings


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", {}, id="none"),
        pytest.param("beta=true", {"beta": "true"}, id="claude_cli_beta"),
        pytest.param("flag", {"flag": True}, id="bare_flag_is_true"),
        pytest.param("empty=", {"empty": ""}, id="empty_value_is_empty_string"),
        pytest.param("a=1&a=2&a=3", {"a": ["1", "2", "3"]}, id="repeated_is_a_list"),
        pytest.param("a=1&a", {"a": ["1", True]}, id="repeated_mixed"),
        pytest.param("q=a%20b+c&x%2Fy=1", {"q": "a b c", "x/y": "1"}, id="percent_and_plus"),
        pytest.param("&&beta=true&", {"beta": "true"}, id="stray_ampersands"),
        pytest.param("api_key=short", {"api_key": "REDACTED"}, id="secret_param_redacted"),
    ],
)
def test_querystring_is_parsed_like_kong(query: str, expected: dict[str, Any]) -> None:
    assert parse_query(query) == expected


# --------------------------------------------------------------------------- encoding


class Opaque:
    def __str__(self) -> str:
        return "opaque!"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def cyclic() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    ("value", "check"),
    [
        pytest.param(Opaque(), lambda v: v == "opaque!", id="object_becomes_str"),
        pytest.param(Unprintable(), lambda v: "Unprintable" in v, id="unprintable_object"),
        pytest.param({1: "a"}, lambda v: v == {"1": "a"}, id="non_str_key"),
        pytest.param("bad \ud800 surrogate", lambda v: v.startswith("bad "), id="lone_surrogate"),
        pytest.param(2**70, lambda v: v == str(2**70), id="huge_int"),
        pytest.param(cyclic(), lambda v: isinstance(v, dict), id="cycle"),
        pytest.param(b"raw", lambda v: isinstance(v, str), id="bytes"),
    ],
)
def test_encode_record_never_raises_and_stringifies_the_unencodable(value: Any, check: Any) -> None:
    record: Any = build_record(SCENARIOS["oneshot_success"], ctx())
    record["claude_gw"]["odd"] = value
    line = encode_record(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = orjson.loads(line)
    assert check(decoded["claude_gw"]["odd"])
    assert decoded["request"]["id"] == "cdfc94e1f2d641b6f5d716ebd5015077"  # the rest survives


@pytest.mark.parametrize("name", scenario_params())
def test_every_scenario_encodes_to_exactly_one_line(name: str) -> None:
    line = encode_record(build_record(SCENARIOS[name], ctx(log_payloads=True)))
    assert line.endswith(b"\n") and b"\n" not in line[:-1]


def test_header_values_are_scrubbed_the_same_from_the_cache_and_long_ones_are_not_kept() -> None:
    from claude_gw.logs import record

    secret = "Bearer sk-abcdefghijklmnopqrstuvwxyz012345"
    headers = [("X-Forwarded-Note", secret), ("User-Agent", "claude-cli/2.1.331")]
    first, again = record.log_headers(headers), record.log_headers(headers)
    assert (
        first
        == again
        == {
            "x-forwarded-note": "Bearer REDACTED",
            "user-agent": "claude-cli/2.1.331",
        }
    )
    long_value = "sk-" + "x" * 600
    assert record.scrubbed_header(long_value) == "REDACTED"
    assert long_value not in record._SCRUBBED and secret in record._SCRUBBED
