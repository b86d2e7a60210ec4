"""The upstream APIs the gateway can speak, behind one interface.

A `Dialect` turns the client's Anthropic request into the upstream's body, the upstream's
one-shot answer back into an Anthropic message, and gives a stream translator (`feed(data) ->
events`, `finish()`, `error()`, and the read-only properties the log needs). The server does
the rest the same way for all of them: ping, cut streams, errors, the log record.

- `chat`: OpenAI Chat Completions (OpenAI, vLLM, llama.cpp, Ollama, OpenRouter, Azure...).
- `responses`: OpenAI's Responses API (reasoning summaries as thinking blocks; reasoning items
  carried across turns in the thinking block's signature).
- `anthropic`: an Anthropic-compatible upstream: the body passes through (only the model is
  set); the events are forwarded as they come, and read for the log on the way.
"""

from __future__ import annotations

from typing import Any, Protocol

from claude_gw.errors import UpstreamError
from claude_gw.translate.models import TargetModel
from claude_gw.translate.request import anthropic_to_openai
from claude_gw.translate.response import openai_to_anthropic
from claude_gw.translate.responses import (
    anthropic_to_responses,
    responses_to_anthropic,
    responses_usage_to_chat,
)
from claude_gw.translate.responses_search import SearchOptions
from claude_gw.translate.responses_stream import ResponsesStreamTranslator
from claude_gw.translate.stream import StreamTranslator
from claude_gw.wire import AnthropicEvent, AnthropicResponse, ChatUsage

JSON = dict[str, Any]


class Translator(Protocol):
    @property
    def started(self) -> bool: ...
    @property
    def stop_reason(self) -> str | None: ...
    @property
    def usage(self) -> ChatUsage | None: ...
    @property
    def response_model(self) -> str | None: ...
    @property
    def tool_calls(self) -> int: ...
    @property
    def has_content(self) -> bool: ...
    @property
    def saw_finish_reason(self) -> bool: ...
    @property
    def web_search_requests(self) -> int | None: ...
    def start(self, model: str | None = None) -> list[AnthropicEvent]: ...
    def supply_usage(self, usage: ChatUsage) -> None: ...
    def feed(self, chunk: Any) -> list[AnthropicEvent]: ...
    def finish(self) -> list[AnthropicEvent]: ...
    def error(self, error_type: str, message: str) -> list[AnthropicEvent]: ...
    def message(self) -> AnthropicResponse: ...


class Dialect(Protocol):
    name: str
    path: str  # appended to the upstream base URL

    def request(self, doc: JSON, target: TargetModel, *, stream: bool) -> JSON: ...
    # `search`: the request's web search options (None: it offered no search)
    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]: ...
    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator: ...


class ChatDialect:
    name = "chat"
    path = "/chat/completions"

    def request(self, doc: JSON, target: TargetModel, *, stream: bool) -> JSON:
        return dict(anthropic_to_openai(doc, target=target))  # type: ignore[arg-type]

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        return openai_to_anthropic(body, message_id=message_id), body.get("usage")  # type: ignore[arg-type]

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return StreamTranslator(message_id=message_id, model=model)


class ResponsesDialect:
    name = "responses"
    path = "/responses"

    def request(self, doc: JSON, target: TargetModel, *, stream: bool) -> JSON:
        return anthropic_to_responses(doc, target=target)  # type: ignore[arg-type]

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        message = responses_to_anthropic(body, message_id=message_id, search=search)
        return message, responses_usage_to_chat(body.get("usage"))

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return ResponsesStreamTranslator(message_id=message_id, model=model, search=search)


def anthropic_usage_to_chat(usage: Any) -> ChatUsage | None:
    """Anthropic usage in the log's (OpenAI) terms: prompt tokens include cache reads and
    writes; completion tokens include thinking."""
    if not isinstance(usage, dict):
        return None
    cached = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cached + written
    completion = int(usage.get("output_tokens") or 0)
    thinking = (usage.get("output_tokens_details") or {}).get("thinking_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": int(thinking)},
    }


class AnthropicPassthrough:
    """Forwards Anthropic events unchanged, remembering what the log needs."""

    def __init__(self, *, message_id: str, model: str) -> None:
        self._model = model
        self._usage: JSON = {}
        self._supplied: ChatUsage | None = None
        self._stop_reason: str | None = None
        self._response_model: str | None = None
        self._tool_calls = 0
        self._content = False
        self._started = False
        self._done = False

    started = property(lambda self: self._started)
    stop_reason = property(lambda self: self._stop_reason)
    response_model = property(lambda self: self._response_model)
    tool_calls = property(lambda self: self._tool_calls)
    has_content = property(lambda self: self._content)
    saw_finish_reason = property(lambda self: self._done)

    @property
    def usage(self) -> ChatUsage | None:
        return anthropic_usage_to_chat(self._usage) if self._usage else self._supplied

    @property
    def web_search_requests(self) -> int | None:
        """The upstream's own count (`usage.server_tool_use`), when it gave one."""
        count = (self._usage.get("server_tool_use") or {}).get("web_search_requests")
        return count if isinstance(count, int) else None

    def supply_usage(self, usage: ChatUsage) -> None:
        """Usage for the log when the upstream's events carried none (they pass unchanged)."""
        self._supplied = usage

    def start(self, model: str | None = None) -> list[AnthropicEvent]:
        return []  # the upstream sends its own message_start; a ping before it is harmless

    def feed(self, event: Any) -> list[AnthropicEvent]:
        kind = event.get("type")
        if kind == "error":
            error = event.get("error") or {}
            raise UpstreamError(f"upstream stream error: {error.get('message', '(no message)')}")
        if kind == "message_start":
            self._started = True
            message = event.get("message") or {}
            self._response_model = message.get("model")
            self._usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            self._content = True
            self._tool_calls += (event.get("content_block") or {}).get("type") == "tool_use"
        elif kind == "message_delta":
            self._stop_reason = (event.get("delta") or {}).get("stop_reason")
            self._usage.update(event.get("usage") or {})
        elif kind == "message_stop":
            self._done = True
        return [event]

    def finish(self) -> list[AnthropicEvent]:
        return []

    def error(self, error_type: str, message: str) -> list[AnthropicEvent]:
        return [{"type": "error", "error": {"type": error_type, "message": message}}]

    def message(self) -> AnthropicResponse:
        message: dict[str, Any] = {
            "type": "message",
            "model": self._response_model or self._model,
            "stop_reason": self._stop_reason,
            "usage": self._usage,
        }
        return message  # type: ignore[return-value]


class AnthropicDialect:
    name = "anthropic"
    path = "/messages"

    def request(self, doc: JSON, target: TargetModel, *, stream: bool) -> JSON:
        return {**doc, "model": target.name}

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        if body.get("type") != "message":
            raise UpstreamError(
                "upstream answered 200 with a body that is not an Anthropic message"
            )
        return body, anthropic_usage_to_chat(body.get("usage"))  # type: ignore[return-value]

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return AnthropicPassthrough(message_id=message_id, model=model)


DIALECTS: dict[str, Dialect] = {
    "chat": ChatDialect(),
    "responses": ResponsesDialect(),
    "anthropic": AnthropicDialect(),
}
