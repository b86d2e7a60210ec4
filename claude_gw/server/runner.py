"""Assembling and running a gateway: the upstream client, the log writer, the app, uvicorn.

`build_gateway(settings, listen=...)` wires the parts together; `serve(...)` runs them in the
foreground (SIGTERM/SIGINT drain in-flight requests, then flush the log); `BackgroundGateway`
runs them in a thread, for `claude-gw capture` and notebooks. The process's `Listen` settings
(address, client limits, shutdown grace) are the gateway's, never a route's.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from claude_gw import listener
from claude_gw.config import SIMULATED, SIMULATED_TIMINGS, Listen, Settings
from claude_gw.listener import ThreadedServer, bind, url_of
from claude_gw.logs.cost import find_model
from claude_gw.logs.writer import LogWriter
from claude_gw.server.app import Gateway, create_app
from claude_gw.server.protocol import ClientLimits, connection_cap, guarded_protocol
from claude_gw.tokens import preload
from claude_gw.upstream import SIMULATED_BASE_URL, Upstream, remote_upstream

STARTUP_TIMEOUT_S = 30.0


def build_upstream(settings: Settings) -> Upstream:
    """The upstream of `settings`, with the upstream of its search route when it has one (its
    secrets masked with the main upstream's)."""
    upstream = _build_upstream(settings)
    search = settings.search_settings()
    if search is not None:
        upstream.search = _build_upstream(search)
        upstream.masker |= upstream.search.masker
    return upstream


async def close_upstream(upstream: Upstream) -> None:
    await upstream.client.aclose()
    if upstream.search is not None:
        await upstream.search.client.aclose()


def _build_upstream(settings: Settings) -> Upstream:
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    if settings.simulated:
        from claude_gw.simulated import Simulator, simulated_transport

        time_scale = SIMULATED_TIMINGS[settings.simulated_timing]
        transport = simulated_transport(Simulator(time_scale=time_scale))
        client = httpx.AsyncClient(transport=transport, timeout=timeout)
        return Upstream(
            client,
            base_url=SIMULATED_BASE_URL,
            api_key=None,
            api=settings.api,
            provider=SIMULATED,
            transport=transport,
            **answer_limits(settings),
        )
    return remote_upstream(
        settings.api,
        settings.upstream_url,
        settings.api_key,
        timeout=timeout,
        provider=settings.provider,
        auth_header=settings.auth_header,
        extra_headers=dict(settings.upstream_headers),
        query=dict(settings.upstream_query),
        **answer_limits(settings),
    )


def answer_limits(settings: Settings) -> dict[str, Any]:
    return {
        "max_answer_bytes": settings.max_answer_bytes,
        "max_decompression_ratio": settings.max_decompression_ratio,
    }


def warm_up(*, tokenizer: bool = False) -> None:
    """Load the price table (0.1 s) and, with `tokenizer`, the tokenizer (0.5 s) before
    serving, rather than on the first request, which would stall every stream in flight.

    The tokenizer holds 130 MB, more than the rest of the gateway, and only count_tokens and
    long-context routing need it: a gateway without that routing loads it on its first
    count_tokens request (in a worker thread), and most Claude CLI sessions never send one.
    """
    find_model("gpt-5-mini", "openai")
    if tokenizer:
        preload()


def build_gateway(
    settings: Settings, upstream: Upstream | None = None, *, listen: Listen | None = None
) -> Gateway:
    """The app, with a started log writer; both are closed at the app's lifespan shutdown."""
    upstream = upstream or build_upstream(settings)
    writer = LogWriter(settings.log_path)
    writer.start()

    async def shutdown() -> None:
        await close_upstream(upstream)
        await asyncio.to_thread(writer.close)

    return create_app(
        settings, upstream=upstream, log_writer=writer, listen=listen, on_shutdown=[shutdown]
    )


def build_routes_gateway(
    routes: Sequence[Settings],
    upstreams: Sequence[Upstream] | None = None,
    *,
    listen: Listen | None = None,
) -> Gateway:
    """A gateway with several routes (from a Kong configuration): each route has its own
    upstream; routes that log to the same file share one writer."""
    upstreams = list(upstreams) if upstreams is not None else [build_upstream(s) for s in routes]
    writers: dict[Path, LogWriter] = {}
    for settings in routes:
        path = settings.log_path.resolve()
        if path not in writers:
            writers[path] = LogWriter(settings.log_path)
            writers[path].start()

    async def shutdown() -> None:
        for upstream in upstreams:
            await close_upstream(upstream)
        for writer in writers.values():
            await asyncio.to_thread(writer.close)

    triples = [
        (settings, upstream, writers[settings.log_path.resolve()])
        for settings, upstream in zip(routes, upstreams, strict=True)
    ]
    return Gateway(triples, listen=listen, on_shutdown=[shutdown])


def client_limits(listen: Listen) -> ClientLimits:
    return ClientLimits(
        header_timeout=listen.header_timeout,
        max_header_bytes=listen.max_header_bytes,
        max_connections=connection_cap(listen.max_connections),
    )


def uvicorn_server(app: Gateway) -> uvicorn.Server:
    """uvicorn serving `app` under the gateway's `Listen` limits."""
    listen = app.listen
    return listener.uvicorn_server(
        app,
        # in-flight requests get this long on SIGTERM/SIGINT; then they are cancelled, and
        # the app ends each with an error (see Gateway) and logs it as interrupted
        grace=listen.shutdown_grace,
        http=guarded_protocol(client_limits(listen)),
        ws="none",
        timeout_keep_alive=listen.idle_timeout,
    )


async def serve(app: Gateway, sock: socket.socket) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish and the log is flushed first."""
    try:
        await uvicorn_server(app).serve(sockets=[sock])
    finally:
        sock.close()


@dataclass
class BackgroundGateway:
    """`with BackgroundGateway(settings, listen) as gw:` serves a gateway at `gw.url` (where
    `listen` says: `Listen(port=0)` for a free loopback port) from a thread; leaving the block
    drains and flushes it."""

    settings: Settings
    listen: Listen = field(default_factory=Listen)
    url: str = ""

    def __post_init__(self) -> None:
        self._running: ThreadedServer | None = None

    @property
    def log_path(self) -> Path:
        return self.settings.log_path

    def __enter__(self) -> BackgroundGateway:
        warm_up(tokenizer=self.settings.routing.long_context_model is not None)
        sock = bind(self.listen.host, self.listen.port)
        self.url = url_of(sock)
        gateway = build_gateway(self.settings, listen=self.listen)
        self._running = ThreadedServer(uvicorn_server(gateway), sock, name="claude-gw")
        self._running.start(STARTUP_TIMEOUT_S)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop(self.listen.shutdown_grace)
