"""A listening socket, uvicorn serving an ASGI app on it (from a background thread, too), and
the ASGI pieces every app of ours needs: the types, the lifespan loop, and running a handler
until the client goes away.

Shared by the gateway (`server`: `claude-gw serve`, `BackgroundGateway`) and the simulated
backend served on a port (`simulated.serving`), so both get the same socket: created
with `IPPROTO_TCP`, not protocol 0. Accepted sockets inherit it, and asyncio sets TCP_NODELAY only
on sockets whose protocol says TCP; without it Nagle's algorithm held each response's body until
the client's delayed ACK of the headers, 40 ms on every non-streaming answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import uvicorn

from claude_gw import aio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client closed the connection before the request finished."""


async def lifespan(
    receive: Receive, send: Send, on_shutdown: Callable[[], Awaitable[None]] | None = None
) -> None:
    """The ASGI lifespan protocol: startup completes at once; at shutdown `on_shutdown` (if
    any) runs before shutdown is reported complete."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def run_until_disconnect(handler: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run `handler`; if the client disconnects first, cancel it (closing whatever upstream
    request it has open) and raise `ClientDisconnected`."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(handler)
    disconnected = False

    async def watch() -> None:
        nonlocal disconnected
        await wait_for_disconnect(receive)
        if not task.done():  # a connection closed after the response ended is no disconnect
            disconnected = True
            task.cancel()

    watcher = loop.create_task(watch())
    try:
        await task  # cancelling the caller cancels the handler too
    except (Exception, asyncio.CancelledError):
        if not disconnected:
            raise
    finally:
        watcher.cancel()
    if disconnected:  # however the cancelled handler ended
        raise ClientDisconnected


def uvicorn_server(app: ASGIApp, *, grace: float, **options: Any) -> uvicorn.Server:
    """uvicorn serving `app` quietly (no access log) with lifespan on; in-flight requests get
    `grace` seconds at shutdown. `options` go to `uvicorn.Config` as they are."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=grace,  # type: ignore[arg-type]
        **options,
    )
    return uvicorn.Server(config)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; `OSError` (with a readable `strerror`) when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class ThreadedServer:
    """`server` serving on `sock` from a daemon thread named `name` (on `aio.run`'s loop)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, *, name: str) -> None:
        self.server = server
        self.name = name
        self.thread = threading.Thread(
            target=lambda: aio.run(server.serve(sockets=[sock])), name=name, daemon=True
        )

    def start(self, timeout: float) -> None:
        """Start it and wait until uvicorn serves; `RuntimeError` (and stopped) otherwise."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop(grace=5)
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)

    def stop(self, grace: float) -> None:
        """Ask uvicorn to exit (in-flight requests get `grace` seconds, and a little more);
        force it if open connections keep it past that."""
        self.server.should_exit = True
        self.thread.join(grace + 2)
        if self.thread.is_alive():  # a connection uvicorn would not let go of
            self.server.force_exit = True
            self.thread.join(5)
