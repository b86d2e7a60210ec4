"""What the gateway does with a web search request (every tool a `web_search_*` server tool).

- `responses`: the Responses API runs the search (its `web_search` tool); `apis.responses`
  translates the request and the answer.
- `route`: the upstream is spoken to in Chat Completions but also has the Responses API (the
  built-in simulated backend, api.openai.com): searches alone go to its `/responses`; or a
  search upstream is configured (`--search-upstream`): searches alone go to that one.
- `anthropic`: the request passes through; Anthropic runs the search.
- `unavailable`: Chat Completions has no search, so the gateway answers the request itself with
  `translate.web_search.unavailable_answer` (nothing is sent upstream: the model's own text
  would come back looking like results, and the CLI tells its model to cite them).

`search_mode` says which for a configuration and `describe` says it in words, for start-up.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from claude_gw.config import Settings
from claude_gw.logs.exchange import Exchange
from claude_gw.routing import DEFAULT_MODEL
from claude_gw.server.asgi import Responder
from claude_gw.translate.sse import encode_event
from claude_gw.translate.web_search import message_events, search_query, unavailable_answer
from claude_gw.upstream import split_userinfo

SearchMode = Literal["responses", "route", "anthropic", "unavailable"]
# Chat upstreams known to serve the Responses API next to Chat Completions.
RESPONSES_HOSTS = ("api.openai.com",)
UNAVAILABLE_REASON = (
    "this gateway's upstream speaks the OpenAI Chat Completions API, which cannot search the "
    "web (a gateway with --upstream-api responses can)."
)


def search_mode(settings: Settings) -> SearchMode:
    api = settings.api
    if api.web_search == "translated":
        return "responses"
    if api.web_search == "passed":
        return "anthropic"
    if settings.search_upstream_url:
        return "route"
    host = (urlsplit(settings.upstream_url).hostname or "").lower()
    if settings.simulated or host in RESPONSES_HOSTS:
        return "route"
    return "unavailable"


def describe(settings: Settings) -> str:
    """For start-up, in a few words: what a WebSearch from the Claude CLI will get."""
    mode = search_mode(settings)
    if mode == "responses":
        return "web search runs through the Responses API's web_search tool"
    if mode == "anthropic":
        return "web search is passed to the Anthropic upstream, which runs it"
    if mode == "route" and settings.search_upstream_url:
        model = settings.search_model or DEFAULT_MODEL
        where = split_userinfo(settings.search_upstream_url)[0]  # never its password
        return f"web search goes to the Responses API at {where} (model {model}, --search-upstream)"
    if mode == "route":
        return "web search goes to the same upstream's Responses API (its web_search tool)"
    return (
        "web search unavailable (Chat Completions cannot search): a WebSearch is answered "
        "web_search_tool_result_error 'unavailable', never with the model's own text"
    )


async def answer_unavailable(
    exchange: Exchange,
    doc: dict[str, Any],
    responder: Responder,
    headers: dict[str, str],
    *,
    log_payloads: bool,
) -> None:
    """Answer a search request with the `unavailable` error, streamed if it asked for a stream."""
    message = unavailable_answer(
        search_query(doc),
        message_id=f"msg_{exchange.request_id}",
        model=exchange.request_model or "",
        reason=UNAVAILABLE_REASON,
    )
    exchange.stop_reason = message["stop_reason"]
    if doc.get("stream") is True:
        exchange.mode = "stream"
        data = b"".join(encode_event(e, dumps=orjson.dumps) for e in message_events(message))
        await responder.start(200, headers)
        await responder.body(data, more=False)
    else:
        await responder.json(200, message, headers)
    if log_payloads:
        exchange.response_body = orjson.dumps(message).decode("utf-8")
