"""Serve an ASGI app on a real loopback socket for the duration of a `with` block.

`httpx.ASGITransport` buffers whole bodies and skips lifespan, so it cannot prove streaming or
disconnects; tests that need either run the app under uvicorn on 127.0.0.1, port 0.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import uvicorn

from tests.waiting import wait_until

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0


class ServerThread:
    """`with ServerThread(app) as server:` serves `app` at `server.base_url` (http://127.0.0.1:N)
    from a daemon thread, and stops it on exit."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1") -> None:
        config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="auto")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self.base_url = ""

    def __enter__(self) -> ServerThread:
        self.thread.start()

        def started() -> bool:
            assert self.thread.is_alive(), "uvicorn's thread ended before it started serving"
            return bool(self.server.started)

        try:
            wait_until(started, STARTUP_TIMEOUT_S, "uvicorn to start", every=0.01)
        except AssertionError:
            self.stop()
            raise
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Ask uvicorn to exit; force it if open connections keep it past the timeout."""
        self.server.should_exit = True
        self.thread.join(SHUTDOWN_TIMEOUT_S)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(SHUTDOWN_TIMEOUT_S)
