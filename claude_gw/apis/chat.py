"""OpenAI Chat Completions: OpenAI itself and the servers that copy it (vLLM, llama.cpp,
Ollama, LM Studio, OpenRouter, Azure). The server profile (`translate.profiles`) adjusts the
body for the server that receives it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.apis.base import JSON, Translator, WebSearch, http_error
from claude_gw.tokens import count_openai_messages
from claude_gw.translate.models import TargetModel
from claude_gw.translate.profiles import ServerProfile, apply_profile
from claude_gw.translate.request import anthropic_to_openai
from claude_gw.translate.response import openai_to_anthropic
from claude_gw.translate.responses_search import SearchOptions
from claude_gw.translate.stream import StreamTranslator
from claude_gw.wire import AnthropicResponse, ChatUsage

OPENAI_URL = "https://api.openai.com/v1"


class OpenAIFamily:
    """What OpenAI's APIs share: the vendor URL and provider, a bearer key from
    `OPENAI_API_KEY`, no headers of their own, translated (not passed through), and windows
    from the price table."""

    default_url = OPENAI_URL
    provider = "openai"
    key_env = "OPENAI_API_KEY"
    auth_header = "authorization"
    headers: Mapping[str, str] = {}
    forwarded: tuple[str, ...] = ()
    passthrough = False
    priced_window = True
    error = staticmethod(http_error)


class ChatApi(OpenAIFamily):
    name = "chat"
    path = "/chat/completions"
    web_search: WebSearch = None  # Chat Completions has no search tool
    profiled = True

    def request(
        self, doc: JSON, target: TargetModel, *, stream: bool, profile: ServerProfile
    ) -> JSON:
        body = anthropic_to_openai(doc, target=target)  # type: ignore[arg-type]
        return apply_profile(body, profile, reasoning=target.reasoning)  # type: ignore[return-value]

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        return openai_to_anthropic(body, message_id=message_id), self.usage(body.get("usage"))  # type: ignore[arg-type]

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator:
        return StreamTranslator(message_id=message_id, model=model)

    def usage(self, usage: Any) -> ChatUsage | None:
        return usage if isinstance(usage, dict) else None  # type: ignore[return-value]

    def prompt_tokens(self, doc: JSON) -> int:
        return count_openai_messages(doc.get("messages") or [], doc.get("tools"))


CHAT = ChatApi()
