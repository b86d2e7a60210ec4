"""A listening socket, and uvicorn serving an ASGI app on it from a background thread.

Shared by the gateway (`server.runner`: `claude-gw serve`, `BackgroundGateway`) and the
simulated backend served on a port (`simulated.serving`), so both get the same socket: created
with `IPPROTO_TCP`, not protocol 0. Accepted sockets inherit it, and asyncio sets TCP_NODELAY only
on sockets whose protocol says TCP; without it Nagle's algorithm held each response's body until
the client's delayed ACK of the headers, 40 ms on every non-streaming answer.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from claude_gw import aio


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
