"""An Anthropic Messages upstream (Anthropic itself, or a server that speaks its API, such as
LiteLLM's `/v1/messages`): the body passes through with only the model set, and the events are
forwarded as they come, read on the way for the log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.apis.base import JSON, Translator, WebSearch, http_error
from claude_gw.errors import UpstreamError
from claude_gw.tokens import count_anthropic_request
from claude_gw.translate.models import TargetModel
from claude_gw.translate.profiles import ServerProfile
from claude_gw.translate.responses_search import SearchOptions
from claude_gw.wire import AnthropicEvent, AnthropicResponse, ChatUsage

ANTHROPIC_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"


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


class AnthropicApi:
    name = "anthropic"
    path = "/messages"
    default_url = ANTHROPIC_URL
    provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    auth_header = "x-api-key"
    headers: Mapping[str, str] = {"anthropic-version": ANTHROPIC_VERSION}
    forwarded: tuple[str, ...] = ("anthropic-version", "anthropic-beta")
    web_search: WebSearch = "passed"  # Anthropic runs the search
    passthrough = True
    # a Claude model's window depends on the request's betas (1M), which the price table does
    # not know; Anthropic refuses an over-long prompt in the words the Claude CLI acts on
    priced_window = False
    profiled = False
    error = staticmethod(http_error)

    def request(
        self, doc: JSON, target: TargetModel, *, stream: bool, profile: ServerProfile
    ) -> JSON:
        return {**doc, "model": target.name}

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        if body.get("type") != "message":
            raise UpstreamError(
                "upstream answered 200 with a body that is not an Anthropic message"
            )
        return body, self.usage(body.get("usage"))  # type: ignore[return-value]

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return AnthropicPassthrough(message_id=message_id, model=model)

    def usage(self, usage: Any) -> ChatUsage | None:
        return anthropic_usage_to_chat(usage)

    def prompt_tokens(self, doc: JSON) -> int:
        return count_anthropic_request(doc)


ANTHROPIC = AnthropicApi()
