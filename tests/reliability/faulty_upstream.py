"""TEST DOUBLE: a fault-injecting OpenAI-compatible upstream on a raw loopback socket.

Not a model of OpenAI (that is `claude_gw.testing.StrictSimulator`): it exists to misbehave on
purpose, below HTTP when needed, which an ASGI app cannot do. The fault is chosen by the
request: a marker `[fault:NAME]` anywhere in the body (the gateway forwards the user's text);
no marker = `ok`.

Faults: `ok` (a proper answer, streamed or not), `slow` (a proper stream with gaps), `reset`
(the TCP connection is reset after the request is read), `stall` (nothing after the headers, or
nothing at all, until the gateway gives up), `truncate` (the body stops halfway and the
connection closes), `bad_json` (200 with a body that is not JSON), `bad_sse` (200 with a stream
line that is not JSON), `status_429`, `status_500`, `status_503` (OpenAI error envelopes).

Every response says `connection: close`, so when the gateway is done with a request nothing of
it stays open here: `active` counts the requests still being handled, and must fall back to 0
once the gateway's clients are gone (no upstream request outlives its client).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import threading
from collections import Counter
from types import TracebackType

FAULTS = (
    "ok",
    "slow",
    "reset",
    "stall",
    "truncate",
    "bad_json",
    "bad_sse",
    "status_429",
    "status_500",
    "status_503",
)
MARKER = re.compile(rb"\[fault:(\w+)\]")
STALL_LIMIT_S = 60.0  # a stall ends sooner when the gateway closes the connection
STARTUP_TIMEOUT_S = 10.0


def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    doc = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fault-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
STREAM_PARTS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "all "}),
    chunk({"content": "is well"}),
    chunk({}, "stop"),
    b"data: "
    + json.dumps({"id": "chatcmpl-fault", "choices": [], "usage": USAGE}).encode()
    + b"\n\n",
    b"data: [DONE]\n\n",
]
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 0,
        "model": "fault-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "all is well"},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
).encode()


def head(status: int, content_type: str, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}", "connection: close"]
    if length is not None:
        lines.append(f"content-length: {length}")
    if status == 429:
        lines.append("retry-after: 1")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def error_body(status: int) -> bytes:
    kind = {429: "rate_limit_exceeded", 500: "server_error", 503: "overloaded"}[status]
    return json.dumps(
        {"error": {"message": f"fault {status}", "type": kind, "code": None}}
    ).encode()


class FaultyUpstream:
    """`with FaultyUpstream() as up:` serves at `up.base_url` (`http://127.0.0.1:N/v1`) from a
    thread with its own event loop. `served` counts requests per fault; `active` is how many
    are being handled right now."""

    def __init__(self, *, slow_gap_s: float = 0.05) -> None:
        self.slow_gap_s = slow_gap_s
        self.base_url = ""
        self.active = 0
        self.served: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-upstream", daemon=True)

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError("the faulty upstream did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STARTUP_TIMEOUT_S)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
        )
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        try:
            request = await self._read_request(reader)
            if request is not None:
                stream, fault = request
                self.served[fault] += 1
                await self._answer(fault, stream, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the gateway went away: exactly what some tests provoke
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[bool, str] | None:
        try:
            raw_head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", raw_head)
        body = await reader.readexactly(int(length.group(1))) if length else b""
        marker = MARKER.search(body)
        stream = re.search(rb'"stream"\s*:\s*true', body) is not None
        return stream, (marker.group(1).decode() if marker else "ok")

    async def _answer(
        self, fault: str, stream: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if fault.startswith("status_"):
            status = int(fault.removeprefix("status_"))
            body = error_body(status)
            writer.write(head(status, "application/json", len(body)) + body)
        elif fault == "reset":
            reset(writer)
            return
        elif fault == "stall":
            if stream:
                writer.write(head(200, "text/event-stream"))
            await stall(reader)
            return
        elif fault == "bad_json":
            body = b'{"id": "chatcmpl-fault", "choices": [{'
            writer.write(head(200, "application/json", len(body)) + body)
        elif fault == "bad_sse":
            writer.write(head(200, "text/event-stream") + STREAM_PARTS[0] + b"data: {broken\n\n")
        elif fault == "truncate":
            await self._truncate(stream, writer)
            return
        elif stream:
            await self._stream(fault == "slow", writer)
            return
        else:
            writer.write(head(200, "application/json", len(COMPLETION)) + COMPLETION)
        await writer.drain()

    async def _stream(self, slow: bool, writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, "text/event-stream"))
        for part in STREAM_PARTS:
            writer.write(part)
            await writer.drain()
            if slow:
                await asyncio.sleep(self.slow_gap_s)

    async def _truncate(self, stream: bool, writer: asyncio.StreamWriter) -> None:
        if stream:
            writer.write(head(200, "text/event-stream") + b"".join(STREAM_PARTS[:2]))
        else:
            half = COMPLETION[: len(COMPLETION) // 2]
            writer.write(head(200, "application/json", len(COMPLETION)) + half)
        await writer.drain()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def stall(reader: asyncio.StreamReader) -> None:
    """Send nothing until the peer closes the connection (EOF) or STALL_LIMIT_S pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(1), STALL_LIMIT_S)
