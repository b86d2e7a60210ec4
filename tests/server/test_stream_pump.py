"""How a translated stream reaches the client (claude_gw/server/messages.py, `StreamPump`): what
one upstream read brings goes out in one send, and a quiet upstream gets pings from the pump's
timer, never inside another send and never after the end. Driven at the ASGI level against a
scripted test double of OpenAI's streaming endpoint."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from claude_gw.config import Settings
from claude_gw.server.app import create_app
from claude_gw.server.asgi import Message
from claude_gw.upstream import AiohttpTransport, Upstream
from tests.servers import ServerThread

WIRE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "wire"
STREAM = (WIRE / "openai-chat-stream-text.sse").read_bytes()
BASE_URL = "http://openai.test/v1"


class ListSink:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)


class ScriptedStream(httpx.AsyncByteStream):
    """The body of a streamed answer: each piece after its pause (seconds). `on_start` is
    called when the gateway starts reading it."""

    def __init__(
        self, script: list[tuple[float, bytes]], on_start: Callable[[], None] | None = None
    ) -> None:
        self.script = script
        self.on_start = on_start

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.on_start is not None:
            self.on_start()
        for pause, piece in self.script:
            if pause:
                await asyncio.sleep(pause)
            yield piece


def scripted_openai(
    script: list[tuple[float, bytes]], on_start: Callable[[], None] | None = None
) -> httpx.MockTransport:
    """A test double of OpenAI's chat completions endpoint that streams `script` back."""

    async def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=ScriptedStream(script, on_start))

    return httpx.MockTransport(answer)


async def stream_through_gateway(
    script: list[tuple[float, bytes]],
    *,
    ping_interval: float,
    prompt: str = "hi",
    on_start: Callable[[], None] | None = None,
    failing_pings: bool = False,
    upstream: Upstream | None = None,
) -> tuple[list[Message], dict[str, Any]]:
    """Every ASGI message the gateway sent for one streamed request, and its log record.
    The upstream streams `script`, unless another `upstream` is given."""
    client = None
    if upstream is None:
        transport = scripted_openai(script, on_start)
        client = httpx.AsyncClient(transport=transport)
        upstream = Upstream(client, base_url=BASE_URL, api_key="sk-test", transport=transport)
    sink = ListSink()
    settings = Settings(upstream_url=upstream.base_url, ping_interval=ping_interval)
    app = create_app(settings, upstream=upstream, log_writer=sink)
    body = orjson.dumps(
        {
            "model": "gpt-5-mini",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": prompt}],
        }
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/messages",
        "query_string": b"",
        "scheme": "http",
        "headers": [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
    }
    finished = asyncio.Event()
    requested = False
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if failing_pings and b"event: ping" in message.get("body", b""):
            raise RuntimeError("the ping could not be written")
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    finished.set()
    if client is not None:
        await client.aclose()
    assert len(sink.lines) == 1
    return sent, orjson.loads(sink.lines[0])


def event_names(data: bytes) -> list[str]:
    return [
        line[len(b"event: ") :].decode() for line in data.split(b"\n") if line[:7] == b"event: "
    ]


def bodies(sent: list[Message]) -> list[bytes]:
    return [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]


def test_a_stream_read_at_once_goes_out_in_one_send_that_ends_the_response() -> None:
    sent, record = asyncio.run(stream_through_gateway([(0, STREAM)], ping_interval=5))
    # the fixture's 13 events in one read: the response head, then one send with every
    # translated event, closing events included, that also ends the body
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[-1]["more_body"] is False
    names = event_names(sent[-1]["body"])
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "content_block_delta" in names and "ping" not in names
    assert record["response"]["status"] == 200 and record["claude_gw"]["error_type"] is None


def test_a_quiet_upstream_gets_pings_after_message_start_and_none_after_the_end() -> None:
    events = STREAM.split(b"\n\n")
    first, rest = events[0] + b"\n\n", b"\n\n".join(events[1:])
    # the role chunk at once, then 0.35 s of silence (3 intervals of 0.1 s), then the rest
    sent, record = asyncio.run(
        stream_through_gateway([(0, first), (0.35, rest)], ping_interval=0.1)
    )
    names = [name for chunk in bodies(sent) for name in event_names(chunk)]
    assert names[0] == "message_start"
    pings = [i for i, name in enumerate(names) if name == "ping"]
    assert 2 <= len(pings) <= 4  # about one per interval of silence
    assert max(pings) < names.index("message_stop")
    assert all(name != "ping" for name in names[names.index("content_block_start") :])
    assert names[-1] == "message_stop"
    assert record["claude_gw"]["error_type"] is None


def test_pings_keep_coming_while_the_upstream_stays_silent_before_its_first_byte() -> None:
    # nothing at all for 0.45 s: the client gets message_start with the first ping, then pings
    sent, _ = asyncio.run(stream_through_gateway([(0.45, STREAM)], ping_interval=0.1))
    names = [name for chunk in bodies(sent) for name in event_names(chunk)]
    assert names[:2] == ["message_start", "ping"]
    assert 3 <= names.count("ping") <= 5
    assert names.count("message_start") == 1 and names[-1] == "message_stop"


def test_the_parsed_request_is_not_kept_while_the_answer_streams() -> None:
    # a stream can last minutes: 256 of them must not hold 256 parsed Claude CLI requests
    marker = "a prompt that only this test sends, 5f0c2b"
    held: list[int] = []

    def count_request_objects() -> None:
        # a dict of strings only is not tracked by gc; the `messages` list holding it is
        held.append(
            sum(
                1
                for o in gc.get_objects()
                if isinstance(o, list)
                for item in o
                if isinstance(item, dict) and item.get("content") == marker
            )
        )

    _, record = asyncio.run(
        stream_through_gateway(
            [(0, STREAM)], ping_interval=5, prompt=marker, on_start=count_request_objects
        )
    )
    assert held == [0]  # neither the client's message nor its translation is alive
    assert record["response"]["status"] == 200


def test_a_ping_that_cannot_be_sent_is_reported_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent, record = asyncio.run(
        stream_through_gateway([(0.25, STREAM)], ping_interval=0.1, failing_pings=True)
    )
    names = [name for chunk in bodies(sent) for name in event_names(chunk)]
    assert "ping" not in names and names[-1] == "message_stop"
    assert "a keep-alive ping could not be sent" in caplog.text
    assert record["claude_gw"]["error_type"] is None


def sse_openai(body: bytes) -> Any:
    """A test double of OpenAI's streaming endpoint on a real socket: `body`, one event per
    HTTP chunk, as OpenAI sends them."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in body.split(b"\n\n")[:-1]:
            await send({"type": "http.response.body", "body": event + b"\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_a_stream_leaves_no_async_generator_for_the_loop_to_finalize() -> None:
    # an async generator dropped unfinished (the stream ends at [DONE]) is closed by the event
    # loop's finalizer hook: a task and a wake-up of the loop for every stream
    finalized: list[object] = []

    async def run(base_url: str) -> list[dict[str, Any]]:
        firstiter, finalizer = sys.get_asyncgen_hooks()

        def counted(agen: Any) -> None:
            finalized.append(agen)
            if finalizer is not None:
                finalizer(agen)

        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=counted)
        transport = AiohttpTransport()
        client = httpx.AsyncClient(transport=transport)
        upstream = Upstream(client, base_url=base_url, api_key="sk-test", transport=transport)
        records = []
        for _ in range(3):
            _, record = await stream_through_gateway([], ping_interval=5, upstream=upstream)
            records.append(record)
        await transport.aclose()
        gc.collect()
        return records

    with ServerThread(sse_openai(STREAM)) as server:
        records = asyncio.run(run(f"{server.base_url}/v1"))
    assert [r["response"]["status"] for r in records] == [200] * 3
    assert all(r["ai"]["proxy"]["usage"]["completion_tokens"] == 74 for r in records)
    assert finalized == []
