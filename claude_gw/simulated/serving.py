"""The simulator behind two doors: an in-process httpx transport and a pure ASGI app.

Both stream: bytes reach the client as the simulator produces them, and a client that leaves
early closes the body generator (which the simulator counts in `stats.streams_cancelled`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from claude_gw.simulated.simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await _http(sim, scope, receive, send)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _http(sim: Simulator, scope: Scope, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    if body is None:
        return  # the client left before sending its whole request
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    answer = await sim.respond(scope["method"], scope["path"], headers, body)
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": raw_headers})
    try:
        await _stream_until_disconnect(answer.body, receive, send)
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


async def _stream_until_disconnect(
    body: AsyncGenerator[bytes, None], receive: Receive, send: Send
) -> None:
    """Send the body while watching `receive`; whichever ends first cancels the other."""

    async def pump() -> None:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async with asyncio.TaskGroup() as group:
        pumping = group.create_task(pump())
        watching = group.create_task(watch())
        pumping.add_done_callback(lambda _: watching.cancel())
        watching.add_done_callback(lambda _: pumping.cancel())
