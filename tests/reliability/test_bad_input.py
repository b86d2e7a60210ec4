"""Bad client input against a healthy upstream, driven at the ASGI level (fast), with hypothesis:
malformed and random Anthropic-shaped bodies, wrong types, huge strings, deep nesting, invalid
UTF-8, odd content types and headers, unknown paths and methods.

Contract: the gateway never answers 5xx and never crashes on client input; an error is a 4xx in
the Anthropic shape; a valid request may succeed (200); every request is logged exactly once,
as one JSON line, without the client's key.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.asgi_driver import (
    CLIENT_KEY,
    UPSTREAM_KEY,
    ListSink,
    Reply,
    call,
    simulated_app,
)

# `python -m tests.reliability.long` raises the number of examples through this variable.
EXAMPLES = int(os.environ.get("CLAUDE_GW_RELIABILITY_EXAMPLES", "120"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=16,
)
blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(st.text(), json_values)}),
    st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": json_values, "name": json_values, "input": json_values}
    ),
    st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": json_values, "content": json_values}
    ),
    st.fixed_dictionaries({"type": st.just("image"), "source": json_values}),
    st.fixed_dictionaries({"type": st.text(max_size=12)}, optional={"x": json_values}),
    json_values,
)
messages = st.fixed_dictionaries(
    {
        "role": st.one_of(st.sampled_from(["user", "assistant", "system", "tool"]), json_values),
        "content": st.one_of(st.text(max_size=200), st.lists(blocks, max_size=4), json_values),
    }
)
anthropic_shaped = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.sampled_from(["gpt-5-mini", "claude-sonnet-4-5", ""]), json_values),
        "max_tokens": st.one_of(st.integers(min_value=-5, max_value=10**12), json_values),
        "messages": st.one_of(st.lists(messages, max_size=4), json_values),
        "stream": st.one_of(st.booleans(), json_values),
        "system": st.one_of(st.text(max_size=50), st.lists(blocks, max_size=2), json_values),
        "tools": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"name": json_values, "input_schema": json_values},
                    optional={"description": json_values, "type": json_values},
                ),
                max_size=2,
            ),
            json_values,
        ),
        "tool_choice": json_values,
        "temperature": json_values,
        "top_p": json_values,
        "thinking": json_values,
        "metadata": json_values,
        "stop_sequences": json_values,
    },
)


def dumps(doc: Any) -> bytes:
    """Test inputs are encoded by the stdlib: it writes integers of any size, orjson does not."""
    return json.dumps(doc).encode()


def run(body: bytes, **kwargs: Any) -> tuple[Reply, ListSink]:
    async def go() -> tuple[Reply, ListSink]:
        sink = ListSink()
        app, client = simulated_app(sink, **kwargs.pop("options", {}))
        try:
            return await call(app, body, **kwargs), sink
        finally:
            await client.aclose()

    return asyncio.run(go())


def assert_client_contract(reply: Reply, sink: ListSink) -> None:
    """No 5xx, an Anthropic error body on a 4xx, one clean log line."""
    assert 200 <= reply.status < 500, (reply.status, reply.body[:500])
    if reply.status >= 400:
        error = json.loads(reply.body)
        assert error["type"] == "error"
        assert isinstance(error["error"]["type"], str) and isinstance(
            error["error"]["message"], str
        )
    assert len(sink.lines) == 1
    record = json.loads(sink.lines[0])
    assert record["response"]["status"] == reply.status
    for secret in (CLIENT_KEY, UPSTREAM_KEY):
        assert secret.encode() not in sink.lines[0] and secret.encode() not in reply.body


@PROPERTY
@given(body=st.binary(max_size=2000))
def test_random_bytes_are_refused_with_a_4xx_and_logged_once(body: bytes) -> None:
    reply, sink = run(body)
    assert_client_contract(reply, sink)
    assert reply.status != 200 or body.strip().startswith(b"{")


@PROPERTY
@given(doc=json_values)
def test_any_json_value_is_answered_without_a_5xx(doc: Any) -> None:
    assert_client_contract(*run(dumps(doc)))


@PROPERTY
@given(doc=anthropic_shaped)
def test_random_anthropic_shaped_bodies_are_answered_without_a_5xx(doc: dict[str, Any]) -> None:
    assert_client_contract(*run(dumps(doc)))


@PROPERTY
@given(doc=anthropic_shaped)
def test_random_bodies_to_count_tokens_are_answered_without_a_5xx(doc: dict[str, Any]) -> None:
    assert_client_contract(*run(dumps(doc), path="/v1/messages/count_tokens"))


# Bytes that are never valid UTF-8 after a complete character: a stray continuation byte, an
# overlong lead byte, or a byte above the Unicode range.
NOT_UTF8 = [bytes([b]) for b in (0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF)]


@PROPERTY
@given(
    prefix=st.text(max_size=30).map(lambda t: t.replace('"', "").replace("\\", "")),
    bad=st.sampled_from(NOT_UTF8),
)
def test_invalid_utf8_inside_a_json_string_is_a_400(prefix: str, bad: bytes) -> None:
    body = b'{"model":"gpt-5-mini","max_tokens":5,"messages":[{"role":"user","content":"'
    reply, sink = run(body + prefix.encode() + bad + b'"}]}')
    assert_client_contract(reply, sink)
    assert reply.status == 400


def nested(depth: int, kind: str) -> bytes:
    opening, closing = (b"[", b"]") if kind == "list" else (b'{"a":', b"}")
    return opening * depth + b"1" + closing * depth


@PROPERTY
@given(depth=st.integers(min_value=1, max_value=3000), kind=st.sampled_from(["list", "dict"]))
def test_deeply_nested_content_is_answered_without_a_5xx(depth: int, kind: str) -> None:
    inner = nested(depth, kind)
    for body in (
        inner,
        b'{"model":"gpt-5-mini","max_tokens":5,"messages":[{"role":"user","content":'
        + inner
        + b"}]}",
        b'{"model":"gpt-5-mini","max_tokens":5,"tools":[{"name":"t","input_schema":'
        + inner
        + b'}],"messages":[{"role":"user","content":"hi"}]}',
    ):
        assert_client_contract(*run(body))


@PROPERTY
@given(
    content_type=st.one_of(
        st.sampled_from(
            [b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data", b""]
        ),
        st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b),
    ),
    content_length=st.one_of(
        st.none(), st.binary(max_size=12), st.integers(0, 10**30).map(lambda n: str(n).encode())
    ),
    valid=st.booleans(),
)
def test_odd_content_type_and_length_headers_are_answered_without_a_5xx(
    content_type: bytes, content_length: bytes | None, valid: bool
) -> None:
    body = b"a=1&b=2"
    if valid:
        body = orjson.dumps(
            {
                "model": "gpt-5-mini",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
    headers = [(b"content-type", content_type)]
    if content_length is not None:
        headers.append((b"content-length", content_length))
    assert_client_contract(*run(body, headers=headers))


@PROPERTY
@given(
    path=st.text(max_size=60).map(lambda p: "/" + p),
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "POST", "BREW"]),
)
def test_unknown_paths_and_methods_are_a_4xx(path: str, method: str) -> None:
    reply, sink = run(b"{}", path=path, method=method)
    assert_client_contract(reply, sink)
    assert reply.status >= 400


@pytest.mark.parametrize(
    ("size", "limit", "status"),
    [
        pytest.param(2_000_000, None, 200, id="two_megabyte_prompt_is_served"),
        pytest.param(200_000, 65_536, 400, id="prompt_over_the_body_limit_is_a_400"),
    ],
)
def test_huge_strings_are_served_or_refused_with_a_400(
    size: int, limit: int | None, status: int
) -> None:
    doc = {
        "model": "gpt-5-mini",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x" * size}],
    }
    options = {} if limit is None else {"max_body_bytes": limit}
    reply, sink = run(dumps(doc), options=options)
    assert_client_contract(reply, sink)
    assert reply.status == status
