"""OpenAI's Responses API: reasoning summaries become thinking blocks (reasoning items ride
across turns in the thinking block's signature), and its `web_search` tool runs the client's
web searches. Server profiles do not apply: only OpenAI serves it."""

from __future__ import annotations

from typing import Any

import orjson

from claude_gw.apis.base import JSON, Translator, WebSearch
from claude_gw.apis.chat import OpenAIFamily
from claude_gw.tokens import count_text
from claude_gw.translate.models import TargetModel
from claude_gw.translate.profiles import ServerProfile
from claude_gw.translate.responses import (
    anthropic_to_responses,
    responses_to_anthropic,
    responses_usage_to_chat,
)
from claude_gw.translate.responses_search import SearchOptions
from claude_gw.translate.responses_stream import ResponsesStreamTranslator
from claude_gw.wire import AnthropicResponse, ChatUsage


class ResponsesApi(OpenAIFamily):
    name = "responses"
    path = "/responses"
    web_search: WebSearch = "translated"
    profiled = False

    def request(
        self, doc: JSON, target: TargetModel, *, stream: bool, profile: ServerProfile
    ) -> JSON:
        return anthropic_to_responses(doc, target=target)  # type: ignore[arg-type]

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        message = responses_to_anthropic(body, message_id=message_id, search=search)
        return message, self.usage(body.get("usage"))

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return ResponsesStreamTranslator(message_id=message_id, model=model, search=search)

    def usage(self, usage: Any) -> ChatUsage | None:
        return responses_usage_to_chat(usage)

    def prompt_tokens(self, doc: JSON) -> int:
        """Its instructions, input items and tools, counted as text."""
        parts = (doc.get("instructions"), doc.get("input"), doc.get("tools"))
        return count_text("\n".join(p if isinstance(p, str) else _json(p) for p in parts if p))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


RESPONSES = ResponsesApi()
