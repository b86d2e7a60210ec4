"""The simulator behind three doors: an in-process httpx transport, a pure ASGI app, and that
app served on a loopback socket (`serve_simulated`) for clients that need a real URL.

All stream: bytes reach the client as the simulator produces them, and a client that leaves
early closes the body generator (which the simulator counts in `stats.streams_cancelled`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager, suppress

import httpx

from claude_gw.listener import (
    ASGIApp,
    ClientDisconnected,
    Receive,
    Scope,
    Send,
    ThreadedServer,
    bind,
    lifespan,
    run_until_disconnect,
    url_of,
    uvicorn_server,
)
from claude_gw.simulated.simulator import Simulator


class _BodyStream(httpx.AsyncByteStream):
    def __init__(self, body: AsyncGenerator[bytes, None]) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._body:
            yield chunk

    async def aclose(self) -> None:
        await self._body.aclose()


class SimulatedTransport(httpx.AsyncBaseTransport):
    """Answers every request in-process from a `Simulator`, without a socket."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = await self.sim.respond(request.method, request.url.path, request.headers, body)
        return httpx.Response(
            answer.status, headers=answer.headers, stream=_BodyStream(answer.body)
        )


def simulated_transport(sim: Simulator) -> httpx.AsyncBaseTransport:
    """An httpx transport for `httpx.AsyncClient(transport=...)`; any host works (the CLI uses
    `http://simulated.invalid/v1`). Closing a response early closes the simulated stream."""
    return SimulatedTransport(sim)


def asgi_app(sim: Simulator) -> ASGIApp:
    """The simulator as a pure ASGI app (lifespan supported), for serving on a real socket.
    An `http.disconnect` while streaming stops the stream and closes its generator."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            await _http(sim, scope, receive, send)

    return app


async def _http(sim: Simulator, scope: Scope, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    if body is None:
        return  # the client left before sending its whole request
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    answer = await sim.respond(scope["method"], scope["path"], headers, body)
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": raw_headers})
    try:
        with suppress(ClientDisconnected):  # the stream stops; its generator is closed below
            await run_until_disconnect(_send_body(answer.body, send), receive)
    finally:
        await answer.body.aclose()


async def _read_body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_body(body: AsyncGenerator[bytes, None], send: Send) -> None:
    async for chunk in body:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5  # streams still open then are cut: the simulator is a test double


@contextmanager
def serve_simulated(sim: Simulator | None = None, *, port: int = 0) -> Iterator[str]:
    """`with serve_simulated() as base_url:` serves `sim` (default: a new `Simulator()`) on
    127.0.0.1 from a daemon thread; `base_url` is `http://127.0.0.1:PORT/v1`, ready for the
    openai SDK or a replay `Target(kind="chat", base_url=...)`. Port 0 picks a free port.

    Leaving the block stops the server and waits for its thread: requests still in flight get
    `SHUTDOWN_TIMEOUT_S` seconds to finish, then their connections are closed.
    Raises `OSError` when the port is taken and `RuntimeError` when uvicorn does not start.
    """
    sock = bind("127.0.0.1", port)
    try:
        server = uvicorn_server(asgi_app(sim or Simulator()), grace=SHUTDOWN_TIMEOUT_S)
        running = ThreadedServer(server, sock, name="claude-gw-simulated")
        running.start(STARTUP_TIMEOUT_S)
        try:
            yield f"{url_of(sock)}/v1"
        finally:
            running.stop(SHUTDOWN_TIMEOUT_S)
    finally:
        sock.close()
