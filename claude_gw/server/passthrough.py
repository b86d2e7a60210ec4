"""`<prefix>/v1/chat/completions` on a route with Kong's `llm_format: openai`: clients that speak
OpenAI chat completions. The request goes upstream untranslated (only the model is set by the
route's rules, and a stream asks for usage so it can be logged); the answer comes back as the
upstream sent it, and is read on the way for the log record, the same as a translated one.
"""

from __future__ import annotations

from typing import Any

import orjson

from claude_gw.errors import UpstreamError
from claude_gw.logs.exchange import Exchange
from claude_gw.server.asgi import Receive, Responder, Scope, header, run_until_disconnect
from claude_gw.server.messages import SSE_HEADERS, MessagesHandler, gateway_headers
from claude_gw.translate.response import map_finish_reason
from claude_gw.translate.sse import SSEDecoder
from claude_gw.translate.stream import StreamTranslator


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
    model, rule = handler.settings.route(
        exchange.client_model, subagent=header(scope, "x-claude-code-agent-id") is not None
    )
    exchange.request_model, exchange.route_rule = model, rule
    body = {**doc, "model": model}
    exchange.upstream_uri = handler.upstream.chat_uri
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
    exchange.t_upstream_sent = handler.now()
    try:
        async with handler.upstream.stream(body) as response:
            exchange.t_upstream_headers = handler.now()
            exchange.upstream_status, exchange.source = response.status_code, "upstream"
            headers = {**SSE_HEADERS, **gateway_headers(exchange, handler.now())}
            await responder.start(200, headers)
            async for data in handler.upstream.iter_bytes(response):
                _track(tracker, decoder.feed(data), exchange, handler)
                await responder.body(data)
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


def _track(
    tracker: StreamTranslator, events: list[Any], exchange: Exchange, handler: MessagesHandler
) -> None:
    for sse in events:
        data = sse.data.strip()
        if not data or data == "[DONE]":
            continue
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue  # forwarded as is; the client sees what the upstream sent
        if isinstance(chunk, dict) and "error" not in chunk:
            tracker.feed(chunk)  # type: ignore[arg-type]
            if tracker.has_content and exchange.t_first_token is None:
                exchange.t_first_token = handler.now()
