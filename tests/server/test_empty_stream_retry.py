"""A streaming request with tools that the upstream answers with an empty 200 stream is asked
again unstreamed, and that answer is streamed to the client. llama-cpp-python's
`chatml-function-calling` (0.3.36), asked with `tool_choice: auto`, does that once its model has
chosen to call a tool: its server logs "Automatic streaming tool choice is not supported" and
ends the stream without a line (measured in tests/real/test_llama_server.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import orjson
import pytest

from tests.sdk import error_body
from tests.server.test_gateway import WEATHER_TOOL, start_gateway
from tests.servers import ServerThread
from tests.translate.test_response import LLAMA_TOOL_CALL


class UnstreamedToolCalls:
    """TEST DOUBLE of llama-cpp-python's server with `chatml-function-calling` whose model
    calls a tool: a streamed request gets a 200 `text/event-stream` with no data in it, after
    `delay` seconds (the time its model takes to choose), its connection dropped (`broken`,
    as that server does: the handler's exception ends the stream) or closed; an unstreamed
    request gets the tool call."""

    def __init__(self, delay: float = 0.0, *, broken: bool = True) -> None:
        self.delay = delay
        self.broken = broken
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            event = await receive()
            raw += event.get("body", b"")
            if not event.get("more_body"):
                break
        body = orjson.loads(raw)
        self.bodies.append(body)
        if body.get("stream"):
            headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await asyncio.sleep(self.delay)
            if self.broken:
                raise RuntimeError("Automatic streaming tool choice is not supported")
            await send({"type": "http.response.body", "body": b""})
            return
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "smollm2",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": LLAMA_TOOL_CALL}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 12, "total_tokens": 312},
        }
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})


def stream_request(gateway, **extra) -> anthropic.types.Message:
    with gateway.client().messages.stream(
        model="smollm2",
        max_tokens=64,
        messages=[{"role": "user", "content": "Read /tmp/notes.txt"}],
        **extra,
    ) as stream:
        message: anthropic.types.Message = stream.get_final_message()
        return message


@pytest.mark.parametrize(
    ("delay", "broken"),
    [
        pytest.param(0.0, True, id="dropped_at_once"),
        pytest.param(0.8, True, id="dropped_after_pings"),
        pytest.param(0.0, False, id="closed_empty"),
    ],
)
def test_an_empty_stream_to_a_tool_request_is_asked_again_unstreamed(tmp_path, delay, broken):
    upstream = UnstreamedToolCalls(delay, broken=broken)
    with ServerThread(upstream) as server:
        gateway = start_gateway(
            tmp_path, f"{server.base_url}/v1", log_payloads=True, ping_interval=0.3
        )
        message = stream_request(gateway, tools=[WEATHER_TOOL])
        (record,) = gateway.records()
    (call,) = message.content
    assert call.type == "tool_use" and call.name == "Read"
    assert call.input == {"file_path": "/tmp/notes.txt"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (300, 12)
    first, second = upstream.bodies
    assert first["stream"] is True and first["tool_choice"] == "auto"
    assert {**second, "stream": True, "stream_options": first["stream_options"]} == first
    assert record["response"]["status"] == 200 and record["upstream_status"] == "200"
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert record["claude_gw"]["stop_reason"] == "tool_use"
    assert record["claude_gw"]["tool_calls"] == 1
    assert record["claude_gw"]["usage_source"] == "upstream"
    usage = record["ai"]["proxy"]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (300, 12)


def test_an_empty_stream_to_a_request_without_tools_is_named_not_asked_again(tmp_path):
    upstream = UnstreamedToolCalls(broken=False)
    with ServerThread(upstream) as server:
        gateway = start_gateway(tmp_path, f"{server.base_url}/v1")
        with pytest.raises(anthropic.InternalServerError) as raised:
            stream_request(gateway)
        (record,) = gateway.records()
    assert "answered 200 with an empty stream" in error_body(raised.value)["error"]["message"]
    assert len(upstream.bodies) == 1
    assert record["response"]["status"] == 502


def test_on_openais_profile_an_empty_stream_is_not_asked_again(tmp_path):
    # OpenAI streams every answer: an empty stream there is its failure, and a second ask
    # would be billed again
    upstream = UnstreamedToolCalls(broken=False)
    with ServerThread(upstream) as server:
        gateway = start_gateway(tmp_path, f"{server.base_url}/v1", server_profile="openai")
        with pytest.raises(anthropic.InternalServerError):
            stream_request(gateway, tools=[WEATHER_TOOL])
        (record,) = gateway.records()
    assert len(upstream.bodies) == 1
    assert record["response"]["status"] == 502
