"""The two endpoints: `/v1/messages` (one-shot and streaming) and `/v1/messages/count_tokens`.

Streaming contract: nothing is sent to the client until the upstream has answered 2xx and either
produced its first event or stayed silent for one ping interval, so an upstream failure before
that is an ordinary HTTP error (the Claude CLI would otherwise repeat the whole request without
streaming). After that, the answer is the exact Anthropic event sequence, with a `ping` whenever
the upstream is silent for `ping_interval` seconds (the CLI aborts streams that go quiet), and a
failure becomes an in-stream `error` event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import orjson

from claude_gw.apis import RESPONSES, Translator
from claude_gw.config import Settings
from claude_gw.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.mask import StreamMasker
from claude_gw.logs.record import gateway_overhead_ms
from claude_gw.server.asgi import (
    Receive,
    Responder,
    Scope,
    header,
    read_body,
    run_until_disconnect,
)
from claude_gw.server.context_window import check_fits, may_exceed, window_for
from claude_gw.server.usage_estimate import estimate
from claude_gw.server.web_search import answer_unavailable, search_mode
from claude_gw.tokens import count_anthropic_request
from claude_gw.tokens import loaded as tokens_loaded
from claude_gw.tokens import preload as preload_tokens
from claude_gw.translate.models import target_for
from claude_gw.translate.profiles import choose_profile
from claude_gw.translate.response import completion_chunks, usage_to_anthropic
from claude_gw.translate.responses_search import SearchOptions, search_options
from claude_gw.translate.sse import SSEDecoder, encode_event
from claude_gw.translate.web_search import is_search_request, search_tools
from claude_gw.upstream import Upstream, encode_body
from claude_gw.wire import AGENT_HEADER

logger = logging.getLogger("claude_gw.server")

OVERHEAD_HEADER = "x-claude-gw-overhead-ms"
SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
PING = encode_event({"type": "ping"})
DELTA_TEXTS = ("text", "thinking", "partial_json")  # the delta fields a client concatenates
DELTA_TEXT_OF = dict(
    zip(("text_delta", "thinking_delta", "input_json_delta"), DELTA_TEXTS, strict=True)
)


def gateway_headers(exchange: Exchange, now: float) -> dict[str, str]:
    """The request id, and the gateway's own time so far as the record counts it
    (`logs.record.gateway_overhead_ms`): a stream's headers go out while its answer is still
    coming, so all the time since sending is waiting on the upstream."""
    return {
        "request-id": f"req_{exchange.request_id}",
        OVERHEAD_HEADER: f"{gateway_overhead_ms(exchange, now):.2f}",
    }


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidRequest(f"the request body must be a JSON object, not {type(doc).__name__}")
    return doc


def request_size(exchange: Exchange, body_size: int) -> int:
    """Bytes of request line + headers + body, like nginx's `$request_length`."""
    target = exchange.path + (f"?{exchange.query_string}" if exchange.query_string else "")
    line = len(f"{exchange.method} {target} HTTP/1.1\r\n")
    return line + sum(len(k) + len(v) + 4 for k, v in exchange.headers) + 2 + body_size


class MessagesHandler:
    def __init__(self, settings: Settings, upstream: Upstream, now: Callable[[], float]) -> None:
        self.settings = settings
        self.upstream = upstream
        self.now = now
        self.api = settings.api
        self.profile = choose_profile(
            settings.upstream_url, settings.provider_name, settings.server_profile
        )
        self.search_mode = search_mode(settings)
        # Searches go to the same upstream's Responses API, through a handler of their own.
        self.search_route: MessagesHandler | None = None
        search_settings = settings.search_settings()
        if upstream.search is not None and search_settings is not None:  # --search-upstream
            self.search_route = MessagesHandler(search_settings, upstream.search, now)
        elif self.search_mode == "route":
            responses = dataclasses.replace(settings, upstream_api=RESPONSES.name)
            self.search_route = MessagesHandler(responses, upstream.with_api(RESPONSES), now)

    async def read(self, exchange: Exchange, scope: Scope, receive: Receive) -> dict[str, Any]:
        declared = header(scope, "content-length")
        # Logged even when the body is refused unread. isascii: str.isdigit() accepts "²".
        if declared and declared.isascii() and declared.isdigit():
            exchange.request_size = request_size(exchange, int(declared))
        raw = await read_body(scope, receive, limit=self.settings.max_body_bytes)
        exchange.request_size = request_size(exchange, len(raw))
        if self.settings.log_payloads:
            exchange.request_body = raw
        doc = parse_json_object(raw)
        model = doc.get("model")
        exchange.client_model = model if isinstance(model, str) else None
        return doc

    async def count_tokens(
        self, exchange: Exchange, scope: Scope, receive: Receive, responder: Responder
    ) -> None:
        doc = await self.read(exchange, scope, receive)
        if not isinstance(doc.get("messages"), list):
            raise InvalidRequest("messages: required, and must be a list")
        exchange.request_model = self.settings.routing.resolve(exchange.client_model)
        if not tokens_loaded():  # loaded on first use, off the event loop (0.5 s)
            await asyncio.to_thread(preload_tokens)
        try:
            count = count_anthropic_request(doc)
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidRequest(f"cannot count the tokens of this request: {exc}") from None
        exchange.counted_input_tokens = count
        await self.send_json(exchange, responder, {"input_tokens": count})

    async def messages(
        self, exchange: Exchange, scope: Scope, receive: Receive, responder: Responder
    ) -> None:
        doc = await self.read(exchange, scope, receive)
        route = self.search_route
        handler = route if route is not None and is_search_request(doc) else self
        exchange.provider = handler.upstream.provider
        answering = handler.answer(exchange, doc, scope, receive, responder)
        del doc  # `answer` lets go of the parsed request before the answer comes (its docstring)
        await answering

    async def answer(
        self,
        exchange: Exchange,
        doc: dict[str, Any],
        scope: Scope,
        receive: Receive,
        responder: Responder,
    ) -> None:
        """Send a read request upstream (or answer it here) and the answer to the client; the
        request's parsed objects are dropped once translated, so the caller keeps none."""
        if self.settings.kong.request_overrides:  # Kong's model.options replace the client's values
            doc = {**doc, **dict(self.settings.kong.request_overrides)}
        model, rule = self.settings.routing.choose(
            exchange.client_model,
            subagent=header(scope, AGENT_HEADER) is not None,
            prompt_tokens=partial(count_anthropic_request, doc),
        )
        target = target_for(model)
        exchange.request_model = target.name
        exchange.route_rule = rule
        await self._check_window(exchange, doc, target.name)
        stream = doc.get("stream") is True
        offered = search_tools(doc)  # one look at the tools: most requests offer no search
        if self.api.web_search is None and offered:
            exchange.web_search_requests = 0  # an API that cannot search is never offered it
            if is_search_request(doc):  # no search route took it: nothing can search
                headers = {**SSE_HEADERS} if stream else {}
                headers.update(self.response_headers(exchange))
                await answer_unavailable(
                    exchange, doc, responder, headers, log_payloads=self.settings.log_payloads
                )
                return
        search = search_options(doc) if offered else None
        translated = self.api.request(doc, target, stream=stream, profile=self.profile)
        # an empty stream to a request with tools is asked again unstreamed (`_unstreamed`),
        # on servers whose profile says they cannot stream every answer
        retry = (
            self.api.profiled and self.profile.unstreamed_retry and bool(translated.get("tools"))
        )
        body = encode_body(translated)
        # The request's objects (about 0.4 MB for a Claude CLI turn) are freed now, not kept
        # for the answer: an answer can take minutes, and every stream in flight would otherwise
        # hold its parsed request.
        del doc, translated
        exchange.upstream_uri = self.upstream.endpoint_uri
        exchange.upstream_host, exchange.upstream_port = self.upstream.host_port
        headers = self._forwarded_headers(scope)
        if stream:
            exchange.mode = "stream"
            handler = self._stream(exchange, body, headers, target.name, responder, search, retry)
        else:
            handler = self._oneshot(exchange, body, headers, responder, search)
        await run_until_disconnect(handler, receive)

    async def _check_window(self, exchange: Exchange, doc: dict[str, Any], model: str) -> None:
        """400 `prompt is too long` for a prompt over the model's window (see context_window)."""
        configured = self.settings.context_window
        if configured is None and not self.api.priced_window:
            return  # e.g. Anthropic's windows depend on beta headers (1M); it refuses itself
        window = window_for(model, self.settings.provider, configured)
        if window is None or not may_exceed(exchange.request_size, window):
            return
        try:
            count = await asyncio.to_thread(count_anthropic_request, doc)
        except (TypeError, ValueError, AttributeError):
            return  # the translator names what is wrong with the request
        check_fits(count, window)

    def estimate_usage(self, exchange: Exchange, body: bytes, message: Any) -> Any:
        """Usage counted locally, for an answer the upstream gave no usage for."""
        exchange.usage_source = "estimated"
        return estimate(body, self.api, message)

    def _forwarded_headers(self, scope: Scope) -> dict[str, str]:
        forwarded = {}
        auth = (self.settings.auth_header or "authorization").lower()
        if self.settings.kong.allow_override and (value := header(scope, auth)) is not None:
            forwarded[auth] = value  # Kong's allow_override: the client's own credential
        for name in self.api.forwarded:
            if (value := header(scope, name)) is not None:
                forwarded[name] = value
        return forwarded

    def response_headers(self, exchange: Exchange) -> dict[str, str]:
        """The gateway's headers, plus Kong's `X-Kong-LLM-Model` when configured."""
        headers = gateway_headers(exchange, self.now())
        if self.settings.kong.model_name_header and exchange.request_model:
            headers["x-kong-llm-model"] = f"{self.upstream.provider}/{exchange.request_model}"
        return headers

    async def _oneshot(
        self,
        exchange: Exchange,
        body: bytes,
        headers: dict[str, str],
        responder: Responder,
        search: SearchOptions | None,
    ) -> None:
        exchange.t_upstream_sent = self.now()
        answer, _ = await self.upstream.complete(body, headers)
        exchange.t_upstream_headers = exchange.t_upstream_done = self.now()
        exchange.t_first_token = exchange.t_upstream_done
        exchange.upstream_status = 200
        exchange.source = "upstream"
        exchange.response_model = answer.get("model")
        message, exchange.usage = self.api.response(  # type: ignore[assignment]
            answer, message_id=f"msg_{exchange.request_id}", search=search
        )
        searches = (message.get("usage", {}).get("server_tool_use") or {}).get(
            "web_search_requests"
        )
        if isinstance(searches, int):
            exchange.web_search_requests = searches
        if exchange.usage is None:
            usage = await asyncio.to_thread(self.estimate_usage, exchange, body, message)
            exchange.usage = usage
            if not self.api.passthrough:
                message["usage"] = usage_to_anthropic(usage)
        exchange.stop_reason = message.get("stop_reason")
        exchange.tool_calls = sum(1 for b in message.get("content", []) if b["type"] == "tool_use")
        await self.send_json(exchange, responder, message)

    async def send_json(self, exchange: Exchange, responder: Responder, doc: Any) -> None:
        data = await responder.json(200, doc, self.response_headers(exchange))
        if self.settings.log_payloads:
            exchange.response_body = data.decode("utf-8")

    async def _stream(
        self,
        exchange: Exchange,
        body: bytes,
        headers: dict[str, str],
        model: str,
        responder: Responder,
        search: SearchOptions | None,
        retry: bool = False,
    ) -> None:
        translator = self.api.translator(
            message_id=f"msg_{exchange.request_id}", model=model, search=search
        )
        exchange.t_upstream_sent = self.now()
        # `body` is held by the upstream call until the stream ends anyway; it is kept here too,
        # to count its prompt should the upstream report no usage
        sending = self.upstream.stream(body, headers)
        answered = False  # the upstream began an answer, or the client left while it worked
        cancelled = False
        try:
            async with sending as response:
                exchange.t_upstream_headers = self.now()
                exchange.upstream_status = response.status_code
                exchange.source = "upstream"
                pump = StreamPump(
                    self,
                    exchange,
                    translator,
                    responder,
                    partial(self.estimate_usage, exchange, body),
                )
                again = partial(self._unstreamed, exchange, body, headers) if retry else None
                try:
                    await pump.run(self.upstream.iter_bytes(response), again=again)
                finally:
                    answered = pump.saw_data
        except asyncio.CancelledError:
            cancelled = True
            answered = answered or exchange.upstream_status == 200  # the client left meanwhile
            raise
        finally:
            exchange.t_upstream_done = exchange.t_upstream_done or self.now()
            exchange.usage = translator.usage  # type: ignore[assignment]
            if exchange.usage is None and answered:
                exchange.usage = await self._usage_after_all(exchange, body, translator, cancelled)
            exchange.response_model = translator.response_model
            exchange.stop_reason = translator.stop_reason
            exchange.tool_calls = translator.tool_calls
            if translator.web_search_requests is not None:
                exchange.web_search_requests = translator.web_search_requests
            if self.settings.log_payloads and translator.started:
                exchange.response_body = orjson.dumps(translator.message()).decode("utf-8")

    async def _unstreamed(
        self, exchange: Exchange, body: bytes, headers: dict[str, str]
    ) -> AsyncIterator[bytes]:
        """The request asked again without streaming, its answer as the SSE bytes of the same
        answer streamed (`completion_chunks`); the pump pings the client while it waits.

        For a request with tools whose 200 stream ended, or broke, before its first data
        line: llama-cpp-python's `chatml-function-calling` (0.3.36) with `tool_choice: auto`
        cannot stream a tool call (its server logs "Automatic streaming tool choice is not
        supported" and drops the connection without a line), and answers the same request
        unstreamed. Its prompt is cached by then: asking again costs the answer, not the
        prompt. Over its context, the unstreamed answer is the error that says so."""
        logger.info("upstream %s sent no stream: asked again unstreamed", self.upstream.label)
        request = orjson.loads(body)
        for name in ("stream", "stream_options"):
            request.pop(name, None)
        unstreamed = orjson.dumps(request)
        try:
            answer, _ = await self.upstream.complete(unstreamed, headers)
        except UpstreamError as error:
            if error.upstream_status is not None:
                raise
            # The pool hands out the failed stream's connection, which that server (uvicorn)
            # closes after it: "Server disconnected" at once. Once more, on a new connection.
            answer, _ = await self.upstream.complete(unstreamed, headers)
        for chunk in completion_chunks(answer):  # type: ignore[arg-type]
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def _usage_after_all(
        self, exchange: Exchange, body: bytes, translator: Translator, cancelled: bool
    ) -> Any:
        """Estimated usage for a stream that ended without any: the client left, or the stream
        failed, and the upstream still processed (and billed) the prompt (an empty stream is
        not counted). After a disconnect (the common case: Esc in the CLI) it is counted off
        the event loop, a 400 KB prompt taking tens of ms; a stream that failed has answered
        already, and waiting then would let the client's close pass for a disconnect."""
        message = translator.message()
        if cancelled:
            return await asyncio.to_thread(self.estimate_usage, exchange, body, message)
        return self.estimate_usage(exchange, body, message)


def _ping_failed(task: asyncio.Task[None]) -> None:
    """Say why a ping task failed (it is nobody's to await), rather than lose it."""
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("a keep-alive ping could not be sent: %r", error)


class StreamPump:
    """Moves one upstream SSE stream to the client: decode, translate, ping, finish.

    Pings come from one timer per stream, not from a timeout on each upstream read (a task and
    a timer per read cost more: `bench/README.md`). The timer wakes up every `ping_interval`;
    when the upstream has been quiet that long, a ping task sends the ping. Sends hold
    `_sending`, so a ping never lands inside another send, and the ping task is gone before the
    stream ends.
    """

    def __init__(
        self,
        handler: MessagesHandler,
        exchange: Exchange,
        translator: Translator,
        responder: Responder,
        estimate: Callable[[Any], Any] | None = None,
    ) -> None:
        self.handler = handler
        self.estimate = estimate  # message so far -> usage, for a stream that reports none
        self.exchange = exchange
        self.translator = translator
        self.responder = responder
        self.decoder = SSEDecoder()
        self.done = False  # saw `data: [DONE]`
        self.saw_data = False  # any `data:` line at all (an empty 200 stream has none)
        self._sending = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self._interval = handler.settings.ping_interval
        self._last_data = self._loop.time()  # when the upstream last sent (or we last pinged)
        self._timer: asyncio.TimerHandle | None = None
        self._pinging: asyncio.Task[None] | None = None
        self._held: list[Any] = []  # the events of the read that ended the stream, sent at the end
        # A key may come split over text deltas, which the byte masking of the answer cannot
        # see whole: each block's text is masked as one stream (`StreamMasker`).
        self._masker = handler.upstream.masker
        self._block_masks: dict[int, StreamMasker] = {}

    async def run(
        self,
        source: AsyncIterator[bytes],
        *,
        again: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> None:
        """Pump `source` to the client, or `again()` instead should `source` end (or break)
        before its first data line."""
        try:
            try:
                await self._pump(source)
            except UpstreamError as error:
                if again is None or self.saw_data or isinstance(error, UpstreamTimeout):
                    raise
            if again is not None and not self.saw_data:
                await self._pump(again())
        except GatewayError as error:
            if not self.responder.started:
                raise  # nothing sent yet: an ordinary HTTP error
            self.exchange.error_type = error.error_type
            self.exchange.error_message = error.message
            await self._emit(self.translator.error(error.error_type, error.message), last=True)
            return
        await self._end()

    async def _pump(self, source: AsyncIterator[bytes]) -> None:
        iterator = source.__aiter__()
        self._timer = self._loop.call_later(self._interval, self._on_timer)
        try:
            async for data in iterator:
                self._last_data = self._loop.time()
                await self._feed(self.decoder.feed(data))
                if self.done:
                    break
            if not self.done:
                await self._feed(self.decoder.flush())
        finally:
            await self._stop_pinging()
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    def _on_timer(self) -> None:
        quiet = self._loop.time() - self._last_data
        if quiet < self._interval:  # data came meanwhile: look again when it is due
            self._timer = self._loop.call_later(self._interval - quiet, self._on_timer)
        elif self._pinging is None or self._pinging.done():
            self._pinging = self._loop.create_task(self._ping())
            self._pinging.add_done_callback(_ping_failed)
        else:  # the last ping is still being sent (a slow client): look again later
            self._timer = self._loop.call_later(self._interval, self._on_timer)

    async def _stop_pinging(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pinging, self._pinging = self._pinging, None
        if pinging is not None and not pinging.done():
            pinging.cancel()
            # wait() neither raises the ping's CancelledError nor swallows one aimed at us
            await asyncio.wait([pinging])

    async def _feed(self, events: list[Any]) -> None:
        """Translate the events of one upstream read and send what they give in one write (one
        send per event cost a system call each: 12 for a short answer read at once)."""
        out: list[Any] = []
        bad: UpstreamError | None = None
        for sse in events:
            data = sse.data.strip()
            if not data:
                continue
            self.saw_data = True
            if data == "[DONE]":
                self.done = True
                break
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                bad = UpstreamError(
                    f"upstream {self.handler.upstream.label} sent a stream line that is not JSON: "
                    f"{data[:120]!r}"
                )
                break
            if not isinstance(chunk, dict):
                continue
            out += self.translator.feed(chunk)
            if self.translator.has_content and self.exchange.t_first_token is None:
                self.exchange.t_first_token = self.handler.now()
        if self.done:
            self._held = out  # sent with the closing events, in the stream's last send
        else:
            await self._emit(out)  # what came before a bad line is still sent
        if bad is not None:
            raise bad

    async def _ping(self) -> None:
        await self._emit(self.translator.start())
        await self._emit_bytes(PING)
        self._last_data = self._loop.time()
        if self._timer is not None:  # still streaming: the next ping is due one interval on
            self._timer = self._loop.call_later(self._interval, self._on_timer)

    async def _end(self) -> None:
        self.exchange.t_upstream_done = self.handler.now()
        if not self.done and not self.translator.saw_finish_reason:
            cut = UpstreamError(self._cut_message())
            if not self.responder.started:
                raise cut
            self.exchange.error_type = cut.error_type
            self.exchange.error_message = cut.message
            await self._emit(self.translator.error(cut.error_type, cut.message), last=True)
        else:
            if self.translator.usage is None and self.estimate is not None:
                usage = await asyncio.to_thread(self.estimate, self.translator.message())
                self.translator.supply_usage(usage)
            await self._emit(self._held + self.translator.finish(), last=True)

    def _cut_message(self) -> str:
        label = self.handler.upstream.label
        if self.saw_data:
            return f"upstream {label} closed the stream before it finished"
        # llama-cpp-python's server answers a streamed prompt over its context this way
        return (
            f"upstream {label} answered 200 with an empty stream (a llama.cpp server does that "
            "for a prompt over its context: set --context-window to its --n_ctx)"
        )

    async def _emit(self, events: list[Any], *, last: bool = False) -> None:
        """Send the events in one write; `last` ends the response with them."""
        if events or last:
            if self._masker:
                self._mask_deltas(events)
            data = b"".join(encode_event(event, dumps=orjson.dumps) for event in events)
            await self._emit_bytes(data, last=last)

    def _mask_deltas(self, events: list[Any]) -> None:
        """Mask the upstream's secrets in the text, thinking and tool input of `events`, each
        block's deltas as one text (in place: the events are about to be encoded).

        The deltas of one upstream read (often several) are looked at joined, at the cost of
        one; only when that finds a secret is each delta masked on its own."""
        texts: dict[int, list[tuple[int, str, str]]] = {}
        text_of = DELTA_TEXT_OF
        for at, event in enumerate(events):
            if event["type"] == "content_block_delta":
                delta = event["delta"]
                name = text_of.get(delta["type"])
                if name is not None and isinstance(value := delta.get(name), str):
                    texts.setdefault(event["index"], []).append((at, name, value))
        for index, found in texts.items():
            mask = self._block_masks.get(index)
            if mask is None:
                # escaped runs too: pieces of a percent-encoded key, one per delta, are
                # together only in the text a client joins, never in one event's bytes
                mask = self._block_masks[index] = self._masker.stream()
            before = mask.state
            joined = found[0][2] if len(found) == 1 else "".join(v for _, _, v in found)
            if mask.feed(joined) is joined:
                continue
            mask.state = before
            for at, name, value in found:
                masked = mask.feed(value)
                if masked is not value:
                    event = events[at]
                    events[at] = {**event, "delta": {**event["delta"], name: masked}}

    async def _emit_bytes(self, data: bytes, *, last: bool = False) -> None:
        async with self._sending:
            if not self.responder.started:
                headers = {**SSE_HEADERS, **self.handler.response_headers(self.exchange)}
                await self.responder.start(200, headers)
            await self.responder.body(data, more=not last)
