"""uvicorn's httptools protocol with the limits of a gateway that faces clients it cannot trust.

uvicorn (0.54) has a keep-alive timeout and `limit_concurrency` (a plain-text 503), but no
limit on how long or how large the request line and headers may be, and it answers what its HTTP
parser rejects with a plain-text 400 the app never hears of. `guarded_protocol(limits)` adds:

- a **header timeout**: a connection's request line and headers must arrive within
  `header_timeout` seconds of its opening (or of the first byte of its next request on a
  keep-alive connection). Headers still arriving then get a 408; a connection that sent nothing
  is closed without an answer (it made no request);
- a **header size cap**: over `max_header_bytes` (counted on the raw bytes as they arrive, so a
  150 MB header is refused after its first `max_header_bytes` + one read, not parsed) gets a 431;
- a **connection cap**: the requests of a connection opened while `max_connections` were
  already open get a 529 with `retry-after`, and such a connection has at most
  `OVER_CAP_HEADER_S` to send its headers;
- **parser rejections** answered by the app, as a 400 in the Anthropic shape.

Each refusal is handed to the app (the error rides in `scope["extensions"]`, see `refusal_of`),
which answers it in the Anthropic shape and logs it like any request, then the connection closes.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any, cast

import httptools
from uvicorn._types import ASGI3Application, HTTPScope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from claude_gw.errors import (
    GatewayError,
    GatewayOverloaded,
    HeadersTooLarge,
    InvalidRequest,
    RequestTimeout,
)

REFUSAL = "claude_gw.refusal"
# A connection beyond the cap has this long to send its headers (and get its 529): a client that
# means it sends them at once; an idle one must not hold a descriptor for the whole timeout.
OVER_CAP_HEADER_S = 1.0
# After a refusal the connection is half-closed and what the client still sends is read and
# dropped for this long: closing with unread data would reset the connection, and the client
# could lose the answer before reading it (nginx's lingering close).
LINGER_S = 2.0
MAX_AUTO_CONNECTIONS = 10_000
LOGGED_HEADERS = 100
LOGGED_HEADER_BYTES = 1024


@dataclass(frozen=True)
class ClientLimits:
    header_timeout: float
    max_header_bytes: int
    max_connections: int


def connection_cap(configured: int | None) -> int:
    """`configured`, or half the soft open-file limit (each client connection may need one
    upstream connection too) less a reserve, between 16 and MAX_AUTO_CONNECTIONS."""
    if configured is not None:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_AUTO_CONNECTIONS
    return max(16, min(MAX_AUTO_CONNECTIONS, (soft - 64) // 2))


def refusal_of(scope: Any) -> GatewayError | None:
    """The refusal a guarded protocol attached to this request's scope, if any."""
    extensions = scope.get("extensions")
    return extensions.get(REFUSAL) if extensions else None


def refusing(app: ASGI3Application, error: GatewayError) -> ASGI3Application:
    """`app`, called with `error` attached to the scope (see `refusal_of`)."""

    async def call(scope: Any, receive: Any, send: Any) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), REFUSAL: error}
        await app(scope, receive, send)

    return cast(ASGI3Application, call)


def guarded_protocol(limits: ClientLimits) -> type[asyncio.Protocol]:
    """A uvicorn protocol class (`uvicorn.Config(http=...)`) that applies `limits`."""

    class Protocol(GuardedProtocol):
        pass

    Protocol.limits = limits
    return Protocol


def bounded(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """At most LOGGED_HEADERS headers, each name and value cut at LOGGED_HEADER_BYTES: what a
    refused request's log record shows of headers that may be megabytes long."""
    cut = LOGGED_HEADER_BYTES
    return [(name[:cut], value[:cut]) for name, value in headers[:LOGGED_HEADERS]]


def _size(amount: int) -> str:
    return f"{amount // 1024} KiB" if amount % 1024 == 0 else f"{amount} bytes"


class GuardedProtocol(HttpToolsProtocol):
    """See the module docstring. `limits` is set on the subclass `guarded_protocol` makes."""

    limits: ClientLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True  # between requests, or inside a request line + headers
        self._header_bytes = 0  # raw bytes received since the current request began (about)
        # One timer per connection, not one per request: each request's start moves the
        # deadline, the timer checks it when it fires (arming and cancelling a timer for every
        # request cost more than the rest of these limits together).
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_deadline = 0.0
        self._served = False  # a request of this connection has completed
        self._over_cap = False
        self._refused = False
        self._began = False  # the parser has seen the start of the current request
        self._uncounted = False  # part of the current request's headers was not counted

    # -------------------------------------------------------------- connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._over_cap = len(self.connections) > self.limits.max_connections
        self._header_deadline = self.loop.time() + self._header_limit()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the refusal is on its way; what follows is not read
        if self._awaiting_headers:
            if not self._began:
                self._uncounted = False  # the next request begins in this read: all counted
            if not self._header_bytes and self._served:  # a next request's first bytes
                self._header_deadline = self.loop.time() + self._header_limit()
                if self._header_timer is None:
                    self._arm_header_timer()
            self._header_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # the gateway serves no WebSocket
        except httptools.HttpParserError as exc:
            reason = str(exc) or type(exc).__name__
            self._refuse(InvalidRequest(f"the request is not valid HTTP: {reason}"))
            return
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            self._refuse(self._too_large())

    # -------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = True

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        # The raw bytes counted bound the headers' size from above, unless this request began
        # in the read that ended the one before (pipelined): then count them exactly.
        size = self._header_bytes
        if self._uncounted or size > self.limits.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        self._header_bytes = 0
        self._uncounted = False
        refusal: GatewayError | None = None
        if size > self.limits.max_header_bytes:
            refusal = self._too_large()
            self.headers[:] = bounded(self.headers)  # the scope's list: what the log shows
        elif self._over_cap:
            refusal = GatewayOverloaded(
                f"claude-gw is serving its limit of {self.limits.max_connections} connections "
                "(claude-gw serve --max-connections); try again shortly"
            )
        if refusal is None:
            super().on_headers_complete()
            return
        # uvicorn starts the request with `self.app` on `self.transport`: for this one request,
        # an app that hands it the refusal, and a transport that lingers when closed.
        app, transport = self.app, self.transport
        self.app, self.transport = refusing(app, refusal), lingering(transport, self.loop)
        try:
            super().on_headers_complete()
        finally:
            self.app, self.transport = app, transport
        self.cycle.keep_alive = False
        self._refused = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._began = False
        self._served = True
        self._uncounted = True  # the rest of this read is not counted

    # -------------------------------------------------------------- refusals

    def _too_large(self) -> HeadersTooLarge:
        return HeadersTooLarge(
            f"the request headers are over this gateway's limit of "
            f"{_size(self.limits.max_header_bytes)} (claude-gw serve --max-header)"
        )

    def _header_limit(self) -> float:
        limit = self.limits.header_timeout
        return min(limit, OVER_CAP_HEADER_S) if self._over_cap else limit

    def _arm_header_timer(self) -> None:
        delay = max(self._header_deadline - self.loop.time(), 0.0)
        self._header_timer = self.loop.call_later(delay, self._on_header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        """The timer fired: refuse headers late past their deadline, wait on for headers not
        yet late; otherwise stop (the next request's first bytes arm it again)."""
        self._header_timer = None
        if self.transport.is_closing() or self._refused or not self._awaiting_headers:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # an answer is on its way: the keep-alive timer takes over after it
        if self._header_bytes == 0:
            if not self._served:  # nothing was asked: nothing to answer, nothing to log
                self.transport.close()
            return  # between requests: uvicorn's keep-alive timer closes an idle connection
        if self.loop.time() < self._header_deadline:
            self._arm_header_timer()  # a later request's headers, not late yet
            return
        limit = self._header_limit()
        self._refuse(
            RequestTimeout(
                f"the request headers did not arrive within {limit:g} s "
                "(claude-gw serve --header-timeout)"
            )
        )

    def _refuse(self, error: GatewayError) -> None:
        """Answer `error` through the app (which logs it) and close the connection; for a
        request whose headers never completed, so uvicorn made no request cycle for it."""
        self._refused = True
        self._cancel_header_timer()
        cycle = RequestResponseCycle(
            scope=self._partial_scope(),
            transport=lingering(self.transport, self.loop),
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=False,
            on_response=self.on_response_complete,
        )
        cycle.more_body = False
        app = refusing(self.app, error)
        busy = self.cycle is not None and not self.cycle.response_complete
        self.cycle = cycle
        if busy:  # after the answer in progress, as uvicorn does with pipelined requests
            self.pipeline.appendleft((cycle, app))
        else:
            self._start_asgi_task(cycle, app)

    def _partial_scope(self) -> HTTPScope:
        """The scope of a request cut short: what the parser got of it, bounded."""
        url = getattr(self, "url", b"")[:2048] if self._began else b""
        path, _, query = url.partition(b"?")
        method = ""
        if url:  # the method comes before the URL: the parser has read it
            method = self.parser.get_method().decode("latin-1", "replace")
        headers = (self.headers or [])[:100] if self._began else []
        return cast(
            HTTPScope,
            {
                "type": "http",
                "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
                "http_version": "1.1",
                "server": self.server,
                "client": self.client,
                "scheme": self.scheme,
                "root_path": self.root_path,
                "method": method,
                "path": path.decode("latin-1"),
                "raw_path": path,
                "query_string": query,
                "headers": bounded(headers),
                "state": self.app_state.copy(),
            },
        )


class Lingering:
    """A transport whose `close()` half-closes at once and closes `LINGER_S` later (see
    LINGER_S); everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        transport = self._transport
        if transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
            self._loop.call_later(LINGER_S, transport.close)
        else:
            transport.close()


def lingering(transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> asyncio.Transport:
    return cast(asyncio.Transport, Lingering(transport, loop))
