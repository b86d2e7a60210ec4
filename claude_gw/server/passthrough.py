"""`<prefix>/v1/chat/completions` on a route with Kong's `llm_format: openai`: clients that speak
OpenAI chat completions. The request goes upstream untranslated (only the model is set by the
route's rules, and a stream asks for usage so it can be logged); the answer comes back as the
upstream sent it, and is read on the way for the log record, the same as a translated one
(with secrets to mask, a stream goes out event by event, and the rare read that continues a
secret over chunks is written anew: `ContentMasks`).
"""

from __future__ import annotations

from typing import Any

import orjson

from claude_gw.errors import UpstreamError
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.mask import Masker, StreamMasker
from claude_gw.server.asgi import Receive, Responder, Scope, header, run_until_disconnect
from claude_gw.server.messages import SSE_HEADERS, MessagesHandler, gateway_headers
from claude_gw.translate.response import map_finish_reason
from claude_gw.translate.sse import SSEDecoder, SSEEvent
from claude_gw.translate.stream import StreamTranslator
from claude_gw.wire import AGENT_HEADER


def openai_error_body(error_type: str, message: str) -> dict[str, Any]:
    """OpenAI's error envelope, for clients of an `llm_format: openai` route."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


async def chat_completions(
    handler: MessagesHandler,
    exchange: Exchange,
    scope: Scope,
    receive: Receive,
    responder: Responder,
) -> None:
    doc = await handler.read(exchange, scope, receive)
    model, rule = handler.settings.routing.choose(
        exchange.client_model, subagent=header(scope, AGENT_HEADER) is not None
    )
    exchange.request_model, exchange.route_rule = model, rule
    body = {**doc, "model": model}
    exchange.upstream_uri = handler.upstream.endpoint_uri
    exchange.upstream_host, exchange.upstream_port = handler.upstream.host_port
    if doc.get("stream") is True:
        exchange.mode = "stream"
        body.setdefault("stream_options", {"include_usage": True})
        await run_until_disconnect(_stream(handler, exchange, body, responder), receive)
    else:
        await run_until_disconnect(_oneshot(handler, exchange, body, responder), receive)


async def _oneshot(
    handler: MessagesHandler, exchange: Exchange, body: dict[str, Any], responder: Responder
) -> None:
    exchange.t_upstream_sent = handler.now()
    answer, _ = await handler.upstream.complete(body)
    exchange.t_upstream_headers = exchange.t_upstream_done = exchange.t_first_token = handler.now()
    exchange.upstream_status, exchange.source = 200, "upstream"
    exchange.response_model = answer.get("model")
    exchange.usage = answer.get("usage")
    choices = answer.get("choices") or [{}]
    message = choices[0].get("message") or {}
    exchange.tool_calls = len(message.get("tool_calls") or [])
    # Logged in Anthropic's terms, like every other record's stop reason.
    exchange.stop_reason = map_finish_reason(
        choices[0].get("finish_reason"), has_tool_calls=exchange.tool_calls > 0
    )
    await handler.send_json(exchange, responder, answer)


async def _stream(
    handler: MessagesHandler, exchange: Exchange, body: dict[str, Any], responder: Responder
) -> None:
    # The chat stream translator is used only to read usage, model and finish reason.
    tracker = StreamTranslator(message_id=f"chatcmpl_{exchange.request_id}", model=body["model"])
    decoder = SSEDecoder()
    masks = ContentMasks(handler.upstream.masker)
    exchange.t_upstream_sent = handler.now()
    try:
        async with handler.upstream.stream(body) as response:
            exchange.t_upstream_headers = handler.now()
            exchange.upstream_status, exchange.source = response.status_code, "upstream"
            headers = {**SSE_HEADERS, **gateway_headers(exchange, handler.now())}
            await responder.start(200, headers)
            async for data in handler.upstream.iter_bytes(response):
                events = decoder.feed(data)
                chunks = _track(tracker, events, exchange, handler)
                if out := masks.forward(data, events, chunks):
                    await responder.body(out)
            if rest := masks.flush():
                await responder.body(rest)
            await responder.body(b"", more=False)
    except UpstreamError as error:
        if not responder.started:
            raise
        exchange.error_type, exchange.error_message = error.error_type, error.message
        await responder.body(b"", more=False)
    finally:
        exchange.t_upstream_done = handler.now()
        exchange.usage = tracker.usage  # type: ignore[assignment]
        exchange.response_model = tracker.response_model
        exchange.stop_reason = tracker.stop_reason
        exchange.tool_calls = tracker.tool_calls


class ContentMasks:
    """The upstream's secrets masked in a passed-through chat stream's text, which a client
    joins over chunks: a key sent 3 characters per chunk is in no single chunk's bytes (those
    the answer's byte masking sees).

    With secrets to mask, each read is forwarded up to its last complete event (the rest
    follows with the next read), so that a read can be written anew: a read whose chunks
    continue a secret is sent re-encoded, with the text masked; every other read is sent as
    the upstream sent it. Without secrets, every read is forwarded as it came.
    """

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.pending = b""  # the start of an event whose end has not come yet
        self.texts: dict[int, StreamMasker] = {}  # per choice index

    def forward(self, data: bytes, events: list[SSEEvent], chunks: list[Any]) -> bytes:
        """What to send for one read: `data`, its decoded `events` and their JSON (None where
        an event is not JSON)."""
        if not self.masker:
            return data
        ready, self.pending = complete_events(self.pending + data)
        contents = [(at, choice) for at, chunk in enumerate(chunks) for choice in choices(chunk)]
        if not contents:
            return ready
        states = {index: mask.state for index, mask in self.texts.items()}
        joined: dict[int, list[str]] = {}
        for _, (index, text) in contents:
            joined.setdefault(index, []).append(text)
        if all(self._feed(index, "".join(t)) for index, t in joined.items()):
            return ready
        for index, mask in self.texts.items():  # go back, and write this read anew
            mask.state = states.get(index, ("", False, False))
        pairs = zip(events, chunks, strict=True)
        return b"".join(self._rewritten(event, chunk) for event, chunk in pairs)

    def flush(self) -> bytes:
        rest, self.pending = self.pending, b""
        return rest

    def _feed(self, index: int, text: str) -> bool:
        """Feed one choice's text; whether it went through unmasked."""
        mask = self.texts.get(index)
        if mask is None:
            mask = self.texts[index] = self.masker.stream()
        return mask.feed(text) is text

    def _rewritten(self, event: SSEEvent, chunk: Any) -> bytes:
        head = f"event: {event.event}\n".encode() if event.event else b""
        if not isinstance(chunk, dict):
            return head + b"data: " + event.data.encode() + b"\n\n"
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                index = choice.get("index", 0)
                mask = self.texts.get(index)
                if mask is None:
                    mask = self.texts[index] = self.masker.stream()
                delta["content"] = mask.feed(delta["content"])
        return head + b"data: " + orjson.dumps(chunk) + b"\n\n"


def choices(chunk: Any) -> list[tuple[int, str]]:
    """(choice index, delta text) of each choice of a chat chunk that carries text."""
    found = []
    for choice in (chunk.get("choices") or []) if isinstance(chunk, dict) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(text := delta.get("content"), str):
            found.append((choice.get("index", 0), text))
    return found


def complete_events(data: bytes) -> tuple[bytes, bytes]:
    """(`data` up to the end of its last complete SSE event, the rest)."""
    end = max(data.rfind(b"\n\n") + 2, data.rfind(b"\r\n\r\n") + 4, data.rfind(b"\r\r") + 2)
    return (data, b"") if end == len(data) else (data[:end], data[end:])


def _track(
    tracker: StreamTranslator, events: list[Any], exchange: Exchange, handler: MessagesHandler
) -> list[Any]:
    """Feed the chunks of `events` to the tracker; each event's JSON (None if it is not)."""
    chunks: list[Any] = []
    for sse in events:
        data = sse.data.strip()
        if not data or data == "[DONE]":
            chunks.append(None)
            continue
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunks.append(None)
            continue  # forwarded as is; the client sees what the upstream sent
        chunks.append(chunk)
        if isinstance(chunk, dict) and "error" not in chunk:
            tracker.feed(chunk)  # type: ignore[arg-type]
            if tracker.has_content and exchange.t_first_token is None:
                exchange.t_first_token = handler.now()
    return chunks
