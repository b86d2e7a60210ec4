"""A streaming request that the upstream answers only unstreamed: llama-cpp-python's
`chatml-function-calling` (0.3.36), asked with `tool_choice: auto`, answers 500 "Automatic
streaming tool choice is not supported" once its model has chosen to call a tool (measured in
tests/real/test_llama_server.py). The gateway asks again without streaming and streams that
answer to the client; any other 500 stays a 500."""

from __future__ import annotations

import anthropic
import orjson
import pytest

from tests.server.test_gateway import WEATHER_TOOL, start_gateway
from tests.servers import ServerThread
from tests.translate.test_response import LLAMA_TOOL_CALL

REFUSAL = "Automatic streaming tool choice is not supported"


class UnstreamedToolCalls:
    """TEST DOUBLE of llama-cpp-python's server with `chatml-function-calling` whose model
    calls a tool: a streamed request gets `refusal` as a 500, an unstreamed one the tool call."""

    def __init__(self, refusal: str = REFUSAL) -> None:
        self.refusal = refusal
        self.bodies: list[dict] = []

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
            status = 500
            answer: dict = {"error": {"message": self.refusal, "type": "internal_server_error"}}
        else:
            status = 200
            answer = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "smollm2",
                "choices": [
                    {"index": 0, "finish_reason": "tool_calls", "message": LLAMA_TOOL_CALL}
                ],
                "usage": {"prompt_tokens": 300, "completion_tokens": 12, "total_tokens": 312},
            }
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})


def stream_weather(gateway) -> anthropic.types.Message:
    with gateway.client().messages.stream(
        model="smollm2",
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Read /tmp/notes.txt"}],
    ) as stream:
        return stream.get_final_message()


def test_a_refused_stream_is_asked_again_unstreamed_and_streamed_to_the_client(tmp_path):
    upstream = UnstreamedToolCalls()
    with ServerThread(upstream) as server:
        gateway = start_gateway(tmp_path, f"{server.base_url}/v1", log_payloads=True)
        message = stream_weather(gateway)
        (record,) = gateway.records()
    (call,) = message.content
    assert call.type == "tool_use" and call.name == "Read"
    assert call.input == {"file_path": "/tmp/notes.txt"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (300, 12)
    first, second = upstream.bodies
    assert first["stream"] is True and first["tool_choice"] == "auto"
    assert "stream" not in second and "stream_options" not in second
    assert {**second, "stream": True, "stream_options": first["stream_options"]} == first
    assert record["response"]["status"] == 200 and record["upstream_status"] == "200"
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert record["claude_gw"]["stop_reason"] == "tool_use"
    assert record["claude_gw"]["tool_calls"] == 1
    assert record["claude_gw"]["usage_source"] == "upstream"
    usage = record["ai"]["proxy"]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (300, 12)


def test_any_other_500_to_a_stream_is_not_asked_again(tmp_path):
    upstream = UnstreamedToolCalls(refusal="llama_decode returned -1")
    with ServerThread(upstream) as server:
        gateway = start_gateway(tmp_path, f"{server.base_url}/v1")
        with pytest.raises(anthropic.InternalServerError) as raised:
            stream_weather(gateway)
        (record,) = gateway.records()
    assert "llama_decode returned -1" in raised.value.body["error"]["message"]  # type: ignore[index]
    assert len(upstream.bodies) == 1
    assert record["response"]["status"] == 500
