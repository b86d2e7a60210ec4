"""A closed-loop HTTP/1.1 load generator that is cheap enough not to be the bottleneck.

Each of `concurrency` workers owns one keep-alive connection (a raw asyncio `Protocol` with
`httptools` parsing the responses: no shared client pool) and sends prebuilt request bytes
back to back until the run's deadline; a request started before the deadline is waited for.
Per request it records the latency (first byte sent to the end of the response), the time to
the first streamed event (the first body bytes holding `marker`, e.g. `event:`), the status and
whether the body holds `expect` (e.g. `message_stop`). On uvloop it costs 30-50 µs of CPU per
request at full speed (measured against the fake upstream), so one process drives well over
10,000 requests a second.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httptools


@dataclass(frozen=True)
class Target:
    """Where and what to send: `requests` are whole HTTP/1.1 requests (head + body), used in
    turn; a response is good when its status is 200 and its body holds `expect`."""

    host: str
    port: int
    requests: tuple[bytes, ...]
    expect: bytes
    marker: bytes = b""  # streamed responses: the bytes that make the first event


@dataclass
class Sample:
    """One request: its start (perf_counter), latency and time to the first event (seconds)."""

    start: float
    latency: float
    first_event: float | None
    ok: bool


@dataclass
class Run:
    """What one bounded run measured."""

    wall: float
    samples: list[Sample] = field(default_factory=list)
    max_in_flight: int = 0
    resent: int = 0  # requests sent again after a stale keep-alive connection failed

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    def open_streams_max(self) -> int:
        """Most streams open at once: between their first event and their end."""
        edges = []
        for s in self.samples:
            if s.first_event is not None:
                edges += [(s.start + s.first_event, 1), (s.start + s.latency, -1)]
        most = current = 0
        for _, step in sorted(edges):
            current += step
            most = max(most, current)
        return most


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """Request line, headers (`Host` and `Content-Length` added) and body, as sent."""
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ClientConnection(asyncio.Protocol):
    """One keep-alive connection sending one request at a time."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] | None = None
        self.body: list[bytes] = []
        self.first_event: float | None = None
        self.seen = b""  # the start of the body, until the marker shows up
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream server is given a Transport (the stub types it BaseTransport)
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish(exc or ConnectionError("the server closed the connection"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        if self.first_event is None and self.marker:
            # The marker may be cut across two reads: look at the start of the body so far.
            if len(self.seen) < 8192:
                self.seen += body
            if self.marker in self.seen:
                self.first_event = time.perf_counter()

    def on_message_complete(self) -> None:
        self._finish(None)

    def _finish(self, exc: BaseException | None) -> None:
        if self.done is not None and not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)

    async def send(self, request: bytes) -> tuple[int, bytes, float | None]:
        """Send one request; (status, body, time of the first event or None)."""
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.body, self.first_event, self.seen = [], None, b""
        self.parser = httptools.HttpResponseParser(self)
        self.transport.write(request)
        await self.done
        return self.parser.get_status_code(), b"".join(self.body), self.first_event


async def connect(target: Target) -> ClientConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: ClientConnection(target.marker), target.host, target.port
    )
    return protocol


class Pool:
    """`concurrency` open connections to one target, reused by successive runs."""

    def __init__(self, target: Target, connections: list[ClientConnection]) -> None:
        self.target = target
        self.connections = connections
        self.sent = 0  # every request sent, warm-ups included (for the log-line check)
        self._next = 0
        self._in_flight = 0

    @classmethod
    async def open(cls, target: Target, concurrency: int) -> Pool:
        conns = await asyncio.gather(*(connect(target) for _ in range(concurrency)))
        return cls(target, list(conns))

    def close(self) -> None:
        for conn in self.connections:
            if conn.transport is not None:
                conn.transport.close()

    async def run(
        self, duration: float, request_timeout: float, max_requests: int | None = None
    ) -> Run:
        """Every worker sends requests until `duration` seconds have passed (or the pool has
        sent `max_requests`); the run ends when the last one is answered."""
        self._in_flight = 0
        run = Run(wall=0.0)
        start = time.perf_counter()
        deadline = start + duration
        budget = [max_requests if max_requests is not None else 1 << 62]
        workers = [
            self._worker(i, deadline, request_timeout, budget, run)
            for i in range(len(self.connections))
        ]
        await asyncio.gather(*workers)
        run.wall = time.perf_counter() - start
        return run

    async def _worker(
        self, index: int, deadline: float, request_timeout: float, budget: list[int], run: Run
    ) -> None:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            run.samples.append(await self._one(index, request_timeout, run))

    async def _one(self, index: int, request_timeout: float, run: Run) -> Sample:
        request = self.target.requests[self._next % len(self.target.requests)]
        self._next += 1
        self.sent += 1
        self._in_flight += 1
        run.max_in_flight = max(run.max_in_flight, self._in_flight)
        t0 = time.perf_counter()
        try:
            status, body, first = await asyncio.wait_for(
                self._send(index, request, run), request_timeout
            )
            ok = status == 200 and self.target.expect in body
        except (OSError, TimeoutError, RuntimeError, httptools.HttpParserError):
            self._drop(index)
            first, ok = None, False
        finally:
            self._in_flight -= 1
        t1 = time.perf_counter()
        return Sample(t0, t1 - t0, None if first is None else first - t0, ok)

    async def _send(self, index: int, request: bytes, run: Run) -> tuple[int, bytes, float | None]:
        """Send on the worker's connection; a keep-alive connection the server closed while it
        sat idle (uvicorn closes them after 5 s, and a worker may wait longer between runs) is
        replaced, and the request sent again once if it failed before any answer (counted)."""
        for attempt in (0, 1):
            conn = self.connections[index]
            if conn.closed or conn.transport is None or conn.transport.is_closing():
                conn = self.connections[index] = await connect(self.target)
            try:
                return await conn.send(request)
            except (ConnectionError, RuntimeError):
                answered = conn.parser.get_status_code() if conn.body else 0
                self._drop(index)
                if attempt or answered:
                    raise
                run.resent += 1
        raise AssertionError("unreachable")

    def _drop(self, index: int) -> None:
        conn = self.connections[index]
        if conn.transport is not None:
            conn.transport.close()
        conn.closed = True


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
