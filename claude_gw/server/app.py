"""The gateway as a pure ASGI application.

`create_app(settings, upstream=..., log_writer=...)` routes `POST <any prefix>/v1/messages` and
`<any prefix>/v1/messages/count_tokens` (any query string), answers every error in the Anthropic
shape with the right status, and writes exactly one log record per request, whatever happens:
success, upstream error, bad input, a client gone mid-stream, or a bug in the gateway itself.

Requests are routed by their normalised path (`normalize_path`: dot segments resolved, repeated
slashes merged), and a route with `client_auth` answers 401 `authentication_error` to a request
without one of its keys before anything else happens; the headers and query parameters that
carried a key are logged as REDACTED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote_plus

import orjson

from claude_gw import __version__
from claude_gw.config import Listen, Settings
from claude_gw.errors import GatewayError, GatewayOverloaded, MethodNotAllowed, NotFound
from claude_gw.listener import lifespan
from claude_gw.logs.encode import encode_record
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.mask import Masker
from claude_gw.logs.record import RecordContext, build_record
from claude_gw.logs.redact import REDACTED
from claude_gw.server.asgi import (
    ClientDisconnected,
    GuardedReceive,
    InflightBytes,
    Receive,
    Responder,
    Scope,
    Send,
    header,
    header_list,
)
from claude_gw.server.masking import guard_console, masked_send
from claude_gw.server.messages import MessagesHandler, gateway_headers
from claude_gw.server.passthrough import chat_completions, openai_error_body
from claude_gw.server.protocol import refusal_of
from claude_gw.translate.sse import encode_event
from claude_gw.upstream import Upstream
from claude_gw.wire import LogRecord

logger = logging.getLogger("claude_gw.server")
RecordBuilder = Callable[[Exchange, RecordContext], LogRecord]  # an Exchange -> its record

MESSAGES = "/v1/messages"
COUNT_TOKENS = "/v1/messages/count_tokens"
CHAT_COMPLETIONS = "/v1/chat/completions"  # routes with Kong's `llm_format: openai`
# A request cut short by the server's shutdown gets this long to send its closing error.
INTERRUPT_SEND_S = 1.0
# The shutdown waits up to this long for those requests to end and log their lines before it
# closes the log: a stream cut short first counts the prompt the upstream billed, which may
# load the tokenizer (about 0.5 s, several seconds on a busy machine), then sends its error.
DRAIN_S = INTERRUPT_SEND_S + 10.0
INTERRUPTED = "claude-gw shut down before this answer ended; try again"


class LineSink(Protocol):
    def write(self, line: bytes) -> None: ...


@dataclass
class Clock:
    """Where the server reads time; tests may inject their own."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)


def split_endpoint(path: str) -> tuple[str, str]:
    """(endpoint, prefix) for a request path; endpoint is "other" when nothing matches."""
    trimmed = path.rstrip("/")
    suffixes = (
        (COUNT_TOKENS, "count_tokens"),
        (MESSAGES, "messages"),
        (CHAT_COMPLETIONS, "chat_completions"),
    )
    for suffix, endpoint in suffixes:
        if trimmed.endswith(suffix):
            return endpoint, trimmed[: -len(suffix)]
    return "other", ""


def normalize_path(path: str) -> str:
    """The path a request is routed by. ASGI servers hand over `path` percent-decoded (so
    `%2e%2e` arrives as `..`); here dot segments are removed as RFC 3986 section 5.2.4 does and
    repeated slashes merged, as Kong's router normalises a path before matching it:
    `/team-b/../team-a/v1/messages` is routed as `/team-a/v1/messages`, never by team B's
    prefix. `..` above the root stays at the root."""
    if path.startswith("/") and "//" not in path and "/." not in path:
        return path  # nothing to normalise (every path a client such as the Claude CLI sends)
    kept: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in (".", ""):
            kept.append(segment)
    trailing = segments[-1] in ("", ".", "..") and bool(kept)
    return "/" + "/".join(kept) + ("/" if trailing else "")


def hide_credentials(exchange: Exchange, settings: Settings) -> None:
    """Replace, for the log, every header and query parameter a route reads client keys from
    with REDACTED (Kong logs them verbatim unless `hide_credentials` is on)."""
    auth = settings.client_auth
    if auth is None:
        return
    names = {name.lower() for name in auth.header_names} | {"authorization"}
    exchange.headers = [
        (name, REDACTED if name.lower() in names else value) for name, value in exchange.headers
    ]
    if auth.query_names and exchange.query_string:
        exchange.query_string = "&".join(
            _redacted_param(part, auth.query_names) for part in exchange.query_string.split("&")
        )


def _redacted_param(part: str, names: Sequence[str]) -> str:
    name = part.partition("=")[0]
    return f"{name}={REDACTED}" if unquote_plus(name) in names else part


CAPTURE_PREFIX = re.compile(r"/capture/([A-Za-z0-9._-]{1,64})$")


def capture_label(prefix: str) -> str | None:
    """`claude-gw capture` points the client at `<gateway>/capture/<name>`: the label rides in
    the path, so it works with a gateway in another process too."""
    match = CAPTURE_PREFIX.search(prefix)
    return match.group(1) if match else None


def record_context(settings: Settings, upstream: Upstream, version: str) -> RecordContext:
    return RecordContext(
        plugin_id=settings.plugin_id,
        route_paths=settings.paths,
        route_name=settings.name,
        service_name=upstream.provider,
        upstream_url=upstream.base_url,
        log_payloads=settings.log_payloads,
        workspace=str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:workspace")),
        version=version,
        input_cost=settings.kong.input_cost,
        output_cost=settings.kong.output_cost,
    )


def authenticate(settings: Settings, exchange: Exchange) -> None:
    """`ClientUnauthenticated` (401) unless the request carries a key the route accepts, whose
    consumer the exchange then names (never the key); a route without `client_auth` accepts
    every request."""
    if settings.client_auth is not None:
        found = settings.client_auth.authenticate(exchange.headers, exchange.query_string)
        exchange.consumer = found.consumer_entity()
        exchange.authenticated_entity = found.authenticated_entity()


@dataclass
class Route:
    """One configured route: its settings, its upstream, its log (Kong: a route with its
    ai-proxy and file-log plugins)."""

    settings: Settings
    upstream: Upstream
    log_writer: LineSink
    context: RecordContext
    messages: MessagesHandler

    def match(self, path: str) -> int:
        """Length of the longest of this route's path prefixes that `path` falls under; -1
        when none does. `/` matches everything."""
        best = -1
        for prefix in self.settings.paths:
            stem = prefix.rstrip("/")
            if path == stem or path.startswith(stem + "/"):
                best = max(best, len(stem))
        return best


class Gateway:
    def __init__(
        self,
        routes: Sequence[tuple[Settings, Upstream, LineSink]],
        *,
        listen: Listen | None = None,
        clock: Clock | None = None,
        on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
        record_builder: RecordBuilder = build_record,
    ) -> None:
        if not routes:
            raise ValueError("a gateway needs at least one route")
        self.on_shutdown = list(on_shutdown)
        self.listen = listen or Listen()  # the process's limits, whatever the route
        self.clock = clock or Clock()
        self.record_builder = record_builder
        self.routes = [
            Route(
                s,
                u,
                w,
                record_context(s, u, __version__),
                MessagesHandler(s, u, self.clock.monotonic),
            )
            for s, u, w in routes
        ]
        # every route's secrets, masked in every answer, log line and console line
        self.masker = Masker()
        for configured in self.routes:
            self.masker |= configured.upstream.masker
        self.inflight = InflightBytes(self.listen.max_inflight_bytes)
        self.active = 0  # requests being handled (the shutdown waits for their log lines)
        self._idle = asyncio.Event()  # set while `active` is 0
        self._idle.set()
        guard_console(self.masker)

    def route_for(self, path: str) -> Route | None:
        scored = [(route.match(path), i, route) for i, route in enumerate(self.routes)]
        best = max(scored, key=lambda item: (item[0], -item[1]))
        return best[2] if best[0] >= 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        exchange = self._new_exchange(scope)
        responder = Responder(masked_send(send, self.masker))
        path = normalize_path(exchange.path)
        matched = self.route_for(path)
        route_ = matched or self.routes[0]  # an unrouted request is logged by the first route
        exchange.provider = route_.upstream.provider
        body = GuardedReceive(receive, scope, self.inflight, timeout=self.listen.body_timeout)
        self.active += 1
        self._idle.clear()
        try:
            if (refusal := refusal_of(scope)) is not None:
                raise refusal  # refused by the listener (limits, bad HTTP): answered and logged
            if matched is None:
                raise NotFound(f"no route matched {exchange.path}")
            authenticate(route_.settings, exchange)
            await self._dispatch(route_, exchange, path, scope, body, responder)
        except ClientDisconnected:
            exchange.error_type = "client_disconnected"
            exchange.error_message = "the client closed the connection before the response ended"
        except GatewayError as error:
            await self._fail(route_, exchange, responder, error)
        except asyncio.CancelledError:  # the server's shutdown grace is over: end it and say so
            await self._interrupted(route_, exchange, responder)
        except Exception as exc:  # a bug: still answer in the Anthropic shape and log the line
            logger.exception("internal error while handling %s", exchange.path)
            internal = GatewayError(f"internal error in claude_gw: {type(exc).__name__}")
            await self._fail(route_, exchange, responder, internal)
        finally:
            body.release()
            self._finish(route_, exchange, responder)
            self.active -= 1
            if not self.active:
                self._idle.set()

    async def _dispatch(
        self,
        route_: Route,
        exchange: Exchange,
        path: str,
        scope: Scope,
        receive: Receive,
        responder: Responder,
    ) -> None:
        endpoint, prefix = split_endpoint(path)
        openai_format = route_.settings.kong.openai_clients
        if endpoint == "other" or (endpoint == "chat_completions") != openai_format:
            served = (
                CHAT_COMPLETIONS if openai_format else f"{MESSAGES} and POST <prefix>{COUNT_TOKENS}"
            )
            raise NotFound(
                f"no route for {exchange.method} {exchange.path}: claude_gw serves "
                f"POST <prefix>{served} here"
            )
        exchange.endpoint = endpoint  # type: ignore[assignment]
        exchange.route_prefix = prefix
        exchange.capture = capture_label(prefix)
        if exchange.method != "POST":
            raise MethodNotAllowed(f"{exchange.path} accepts POST only, not {exchange.method}")
        handler = route_.messages
        if endpoint == "messages":
            await handler.messages(exchange, scope, receive, responder)
        elif endpoint == "count_tokens":
            await handler.count_tokens(exchange, scope, receive, responder)
        else:
            await chat_completions(handler, exchange, scope, receive, responder)

    async def _fail(
        self, route_: Route, exchange: Exchange, responder: Responder, error: GatewayError
    ) -> None:
        exchange.error_type = error.error_type
        exchange.error_message = error.message
        if error.upstream_status is not None:
            exchange.upstream_status = error.upstream_status
            exchange.source = "upstream"
        if responder.started:
            return  # streaming already began: the stream handler sent an `error` event
        if route_.settings.kong.openai_clients:
            body = openai_error_body(error.error_type, error.message)
        else:
            body = {**error.to_body(), "request_id": f"req_{exchange.request_id}"}
        headers = {**gateway_headers(exchange, self.clock.monotonic()), **error.headers}
        data = await responder.json(error.http_status, body, headers)
        if route_.settings.log_payloads:
            exchange.response_body = data.decode("utf-8")

    async def _interrupted(self, route_: Route, exchange: Exchange, responder: Responder) -> None:
        """The request was cancelled by the server's shutdown: end the answer with an error
        the client can act on (a 529 not yet begun, an `error` event ending a stream), within
        INTERRUPT_SEND_S, and have it logged as interrupted. The cancellation ends here: the
        request's task ends normally (no traceback on the console)."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        error = GatewayOverloaded(INTERRUPTED)
        try:
            async with asyncio.timeout(INTERRUPT_SEND_S):
                if not responder.started:
                    await self._fail(route_, exchange, responder, error)
                elif not responder.finished and is_event_stream(responder.headers):
                    await responder.body(error_event(route_, error), more=False)
        except (TimeoutError, OSError, RuntimeError):
            pass  # a client that does not read: the log still says what happened
        exchange.error_type = "interrupted"
        exchange.error_message = INTERRUPTED

    async def drained(self) -> None:
        """Return once no request is being handled."""
        await self._idle.wait()

    def _finish(self, route_: Route, exchange: Exchange, responder: Responder) -> None:
        exchange.t_end = self.clock.monotonic()
        exchange.status = responder.status or 499  # 499: nothing sent (nginx's "client closed")
        exchange.response_headers = responder.headers
        exchange.response_size = responder.size
        hide_credentials(exchange, route_.settings)
        try:
            line = encode_record(self.record_builder(exchange, route_.context))
        except Exception:  # never lose the line over a bug in the record builder
            logger.exception("could not build the log record for %s", exchange.request_id)
            return
        route_.log_writer.write(self.masker.data(line))

    def _new_exchange(self, scope: Scope) -> Exchange:
        client = scope.get("client") or ("", 0)
        return Exchange(
            request_id=self.clock.new_id(),
            started_at=self.clock.wall(),
            t_start=self.clock.monotonic(),
            method=scope.get("method", "GET"),
            path=scope.get("path", ""),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            host=header(scope, "host") or "",
            scheme=scope.get("scheme", "http"),
            headers=header_list(scope),
            client_ip=client[0] or "",
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await lifespan(receive, send, self._shut_down)

    async def _shut_down(self) -> None:
        # In-flight requests have finished, or been cancelled: those end and log their line
        # within DRAIN_S (at once, unless one counts its prompt first).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                await self.drained()
        for callback in self.on_shutdown:
            await callback()


def is_event_stream(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").startswith("text/event-stream")


def error_event(route_: Route, error: GatewayError) -> bytes:
    """The SSE event that ends a stream with `error`, in the route's client format."""
    if route_.settings.kong.openai_clients:
        return b"data: %s\n\n" % orjson.dumps(openai_error_body(error.error_type, error.message))
    return encode_event(error.to_body(), dumps=orjson.dumps)


def create_app(
    settings: Settings,
    *,
    upstream: Upstream,
    log_writer: LineSink,
    listen: Listen | None = None,
    clock: Clock | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    record_builder: RecordBuilder = build_record,
) -> Gateway:
    """The gateway app with one route, under `listen`'s limits (default `Listen()`). `on_shutdown`
    callbacks run at ASGI lifespan shutdown, after the server has drained in-flight requests:
    the place to flush the log and close clients. `record_builder` makes each log record
    (`logs.record.build_record`)."""
    return Gateway(
        [(settings, upstream, log_writer)],
        listen=listen,
        clock=clock,
        on_shutdown=on_shutdown,
        record_builder=record_builder,
    )
