"""Server profiles: what a Chat Completions request looks like for the server that receives it.

OpenAI's own API and the servers that copy its shape accept different dialects of the same
request. Measured against llama-cpp-python 0.3.36, and read off vLLM's and Ollama's request
models (README "Server profiles" lists the sources):

- `max_completion_tokens` is OpenAI's current name; llama-cpp-python and Ollama ignore it (an
  answer ran 141 tokens for a limit of 10) and honour only `max_tokens`; vLLM takes both.
  OpenAI's reasoning models refuse `max_tokens`, so for those the OpenAI name is kept.
- An assistant turn that is only tool calls has `content: null` at OpenAI; llama-cpp-python
  answers HTTP 500 to it (and to no content at all) but accepts `""`, as do vLLM and Ollama.
- `user` is OpenAI's abuse-monitoring id; vLLM logs it as ignored, the others drop it.
- With tools and no `tool_choice`, OpenAI's default is `auto` (Anthropic's too, and vLLM fills
  it in); llama-cpp-python's function-calling chat formats (`chatml-function-calling`) take a
  missing `tool_choice` for `none` and leave the tools out of the prompt, so the model never
  sees them. The Claude CLI sends none: the compatible profile names the default, `auto`.

`compatible` is the default for any host but OpenAI's and Azure's (Azure serves OpenAI's models
with OpenAI's parameter rules), so a local server works without being named.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from claude_gw.wire import ChatRequest

OPENAI = "openai"
COMPATIBLE = "compatible"
# provider names (`--provider`) that mean OpenAI's own parameter rules
OPENAI_PROVIDERS = frozenset({"openai", "azure", "simulated"})
OPENAI_HOST_SUFFIXES = ("api.openai.com", ".openai.azure.com", ".cognitiveservices.azure.com")


@dataclass(frozen=True)
class ServerProfile:
    """How a translated request is adjusted for one kind of server."""

    name: str
    max_tokens_field: str  # for models that are not OpenAI reasoning models
    empty_tool_call_content: str | None  # `content` of an assistant turn that is only tool calls
    drops: tuple[str, ...]  # top-level fields the server does not understand
    names_default_tool_choice: bool  # send `tool_choice: auto` when tools come without one
    # a request with tools whose stream ends before any data is asked again unstreamed
    # (llama-cpp-python cannot stream a tool call under `tool_choice: auto`)
    unstreamed_retry: bool


PROFILES = {
    OPENAI: ServerProfile(OPENAI, "max_completion_tokens", None, (), False, False),
    COMPATIBLE: ServerProfile(COMPATIBLE, "max_tokens", "", ("user",), True, True),
}


def choose_profile(upstream_url: str, provider: str | None, explicit: str | None) -> ServerProfile:
    """The profile named by `explicit`, else the provider's, else the one the host implies."""
    if explicit:
        return PROFILES[explicit]
    if provider:
        return PROFILES[OPENAI if provider.lower() in OPENAI_PROVIDERS else COMPATIBLE]
    if upstream_url == "simulated":
        return PROFILES[OPENAI]  # the built-in backend checks requests the way OpenAI does
    host = (urlsplit(upstream_url).hostname or "").lower()
    is_openai = any(host == s.lstrip(".") or host.endswith(s) for s in OPENAI_HOST_SUFFIXES)
    return PROFILES[OPENAI if is_openai else COMPATIBLE]


def apply_profile(req: ChatRequest, profile: ServerProfile, *, reasoning: bool) -> ChatRequest:
    """`req` (a freshly translated request, changed in place) as `profile`'s server takes it."""
    if profile.name == OPENAI:
        return req
    if not reasoning and "max_completion_tokens" in req:
        req[profile.max_tokens_field] = req.pop("max_completion_tokens")  # type: ignore[literal-required]
    for name in profile.drops:
        req.pop(name, None)  # type: ignore[misc]
    if profile.names_default_tool_choice and req.get("tools") and "tool_choice" not in req:
        req["tool_choice"] = "auto"
    if profile.empty_tool_call_content is not None:
        for message in req["messages"]:
            if message.get("content", None) is None and message["role"] == "assistant":
                message["content"] = profile.empty_tool_call_content
    return req
