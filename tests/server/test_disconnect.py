"""A client that goes away mid-stream, driven at the ASGI level: the upstream request must be
cancelled and the request still logged, once."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
import orjson
import pytest

from claude_gw.config import Settings
from claude_gw.logs.read import read_logs
from claude_gw.server.app import create_app
from claude_gw.server.asgi import Message
from claude_gw.simulated import simulated_transport
from claude_gw.testing import RequestRecorder
from claude_gw.testing import StrictSimulator as Simulator
from claude_gw.tokens import count_openai_messages
from claude_gw.upstream import SIMULATED_BASE_URL, Upstream


class ListSink:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)


def scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/anything/v1/messages",
        "query_string": b"beta=true",
        "scheme": "http",
        "headers": [(b"host", b"localhost:8000"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
    }


async def disconnect_after_first_bytes(
    prompt: str, *, stream: bool
) -> tuple[Simulator, list[Any], dict[str, Any]]:
    simulator = Simulator(time_scale=1.0, recorder=RequestRecorder())
    client = httpx.AsyncClient(transport=simulated_transport(simulator))
    upstream = Upstream(client, base_url=SIMULATED_BASE_URL, api_key=None, provider="simulated")
    sink = ListSink()
    app = create_app(
        Settings(upstream_url="simulated", ping_interval=0.1), upstream=upstream, log_writer=sink
    )
    body = orjson.dumps(
        {
            "model": "gpt-5-mini",
            "max_tokens": 64,
            "stream": stream,
            "messages": [{"role": "user", "content": prompt}],
        }
    )
    sent: list[Message] = []
    first_bytes = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        if stream:
            await first_bytes.wait()
        else:
            await asyncio.sleep(0.2)  # the upstream is still generating
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_bytes.set()

    started = time.monotonic()
    await asyncio.wait_for(app(scope(body), receive, send), timeout=10)
    elapsed = time.monotonic() - started
    await client.aclose()
    assert len(sink.lines) == 1
    # The upstream was told to stall for 5 s: returning well before means it was not awaited.
    assert elapsed < 3
    return simulator, sent, json.loads(sink.lines[0])


def test_stream_disconnect_cancels_the_upstream_stream_and_logs_once():
    simulator, sent, record = asyncio.run(
        disconnect_after_first_bytes("[sim:stall 5] hi", stream=True)
    )
    assert simulator.stats.streams_cancelled == 1
    assert simulator.stats.streams_completed == 0
    assert sent[0]["status"] == 200
    assert record["claude_gw"]["error_type"] == "client_disconnected"
    assert record["response"]["status"] == 200
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"


def test_oneshot_disconnect_cancels_the_upstream_request_and_logs_once():
    simulator, sent, record = asyncio.run(
        disconnect_after_first_bytes("[sim:stall 5] hi", stream=False)
    )
    assert sent == []  # nothing could be sent: the client was gone
    assert simulator.recorder is not None
    assert len(simulator.recorder.bodies) == 1
    assert record["claude_gw"]["error_type"] == "client_disconnected"
    assert record["response"]["status"] == 499


def test_stream_disconnect_logs_the_prompt_counted_locally_priced_and_marked_estimated():
    # The usage chunk comes last: a client that leaves early takes it along, although the
    # upstream has processed (and billed) the prompt.
    simulator, _, record = asyncio.run(
        disconnect_after_first_bytes("[sim:stall 5] hi", stream=True)
    )
    assert simulator.recorder is not None
    (sent,) = simulator.recorder.bodies
    usage = record["ai"]["proxy"]["usage"]
    assert usage["prompt_tokens"] == count_openai_messages(sent["messages"]) > 0
    assert usage["completion_tokens"] == 0  # it stalled before the first token
    assert record["claude_gw"]["usage_source"] == "estimated"
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    # gpt-5-mini: $0.25 per million input tokens
    assert usage["cost"] == pytest.approx(usage["prompt_tokens"] * 0.25 / 1e6)
    # and a loaded log says so: the `usage_source` column
    frame = read_logs(io.BytesIO(orjson.dumps(record) + b"\n"))
    assert frame["usage_source"].to_list() == ["estimated"]


def test_a_complete_stream_keeps_the_upstream_usage():
    async def run() -> dict[str, Any]:
        simulator = Simulator(time_scale=0.0)
        client = httpx.AsyncClient(transport=simulated_transport(simulator))
        upstream = Upstream(client, base_url=SIMULATED_BASE_URL, api_key=None, provider="simulated")
        sink = ListSink()
        app = create_app(Settings(upstream_url="simulated"), upstream=upstream, log_writer=sink)
        body = orjson.dumps(
            {
                "model": "gpt-5-mini",
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": "[sim:reply Hello world] hi"}],
            }
        )
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else await asyncio.Future()

        async def send(message: Message) -> None:
            pass

        await asyncio.wait_for(app(scope(body), receive, send), timeout=10)
        await client.aclose()
        record: dict[str, Any] = json.loads(sink.lines[0])
        return record

    record = asyncio.run(run())
    assert record["claude_gw"]["usage_source"] == "upstream"
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] > 0
