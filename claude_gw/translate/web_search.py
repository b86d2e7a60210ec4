"""Anthropic's web search server tool (`web_search_20250305` and later) on the gateway's side.

The Claude CLI runs its WebSearch tool as a separate, small request whose only tool is the
server tool (`../shared/fixtures/claude-cli/messages_websearch_server_tool.json`); it builds the
result it shows the model from the answer's `web_search_tool_result` blocks (links) and text.

Contract: everything here is pure. `is_search_request` says whether a request is such a search
(every tool it offers is a web search server tool); `search_query` is the query it asks for;
`unavailable_answer` is the honest answer when no search can run: a `server_tool_use` block, a
`web_search_tool_result` whose content is the `unavailable` error (the CLI then reports
"Web search error: unavailable"), and a sentence saying why, never text made up as results;
`message_events` streams a complete message of text, tool use and search result blocks as the
Anthropic event sequence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claude_gw.wire import JSON, AnthropicEvent, AnthropicResponse, AnthropicUsage

SEARCH_TOOL_PREFIX = "web_search_"
# How the Claude CLI words its WebSearch sub-request (the query follows).
QUERY_PREFIX = "Perform a web search for the query: "
SERVER_TOOL_NAME = "web_search"
MAX_QUERY_CHARS = 400
UNAVAILABLE = {"type": "web_search_tool_result_error", "error_code": "unavailable"}


def is_search_tool(tool: Any) -> bool:
    # `type(...) is dict` first: parsed JSON is dicts, and the Mapping ABC's isinstance costs
    # several times as much (this runs for every tool of every request)
    kind = tool.get("type") if type(tool) is dict or isinstance(tool, Mapping) else None
    return isinstance(kind, str) and kind.startswith(SEARCH_TOOL_PREFIX)


def search_tools(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The web search server tools a request offers (an empty list for none)."""
    tools = doc.get("tools")
    if not isinstance(tools, list):
        return []
    found = []
    for tool in tools:  # is_search_tool inline: a call per tool is most of the cost
        kind = tool.get("type") if type(tool) is dict or isinstance(tool, Mapping) else None
        if isinstance(kind, str) and kind.startswith(SEARCH_TOOL_PREFIX):
            found.append(tool)
    return found


def is_search_request(doc: Mapping[str, Any]) -> bool:
    """Whether every tool the request offers is a web search server tool (at least one)."""
    tools = doc.get("tools")
    return isinstance(tools, list) and bool(tools) and all(is_search_tool(t) for t in tools)


def search_query(doc: Mapping[str, Any]) -> str:
    """The query of a search request: the last user text, without the CLI's wording around it."""
    text = _last_user_text(doc.get("messages"))
    if text.startswith(QUERY_PREFIX):
        text = text[len(QUERY_PREFIX) :]
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def _last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        blocks = content if isinstance(content, list) else []
        texts = [
            block.get("text")
            for block in blocks
            if isinstance(block, Mapping) and block.get("type") == "text"
        ]
        return next((t for t in reversed(texts) if isinstance(t, str) and t.strip()), "")
    return ""


def server_tool_use_id(message_id: str, index: int = 0) -> str:
    """`srvtoolu_` + the message id's tail (+ `_<n>` after the first search of a message)."""
    base = f"srvtoolu_{message_id.removeprefix('msg_')}"
    return base if index == 0 else f"{base}_{index}"


def unavailable_answer(
    query: str, *, message_id: str, model: str, reason: str
) -> AnthropicResponse:
    """The answer to a search request that no search can serve (see the module docstring)."""
    tool_id = server_tool_use_id(message_id)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [
            {
                "type": "server_tool_use",
                "id": tool_id,
                "name": SERVER_TOOL_NAME,
                "input": {"query": query},
            },
            {
                "type": "web_search_tool_result",
                "tool_use_id": tool_id,
                "content": dict(UNAVAILABLE),
            },
            {"type": "text", "text": f"No web search was run: {reason}"},
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "server_tool_use": {"web_search_requests": 0},
        },
    }


def message_events(message: AnthropicResponse) -> list[AnthropicEvent]:
    """The Anthropic stream of a complete message: `message_start` (no content, the usage),
    one start/delta/stop run per block, `message_delta` (stop reason, usage), `message_stop`.

    Text and tool input go out as one delta each (`text_delta`, `input_json_delta`); a
    `web_search_tool_result` comes whole in its `content_block_start`, as Anthropic sends it.
    """
    usage: AnthropicUsage = {**message.get("usage", {})}
    start: AnthropicResponse = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events: list[AnthropicEvent] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message.get("content") or []):
        events.extend(_block_events(index, block))
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": None}
    events.append({"type": "message_delta", "delta": delta, "usage": usage})
    events.append({"type": "message_stop"})
    return events


def _block_events(index: int, block: JSON) -> list[AnthropicEvent]:
    kind = block["type"]
    if kind == "text":
        opening: JSON = {"type": "text", "text": ""}
        delta: JSON | None = {"type": "text_delta", "text": block["text"]}
    elif kind in ("tool_use", "server_tool_use"):
        opening = {**block, "input": {}}
        partial = json.dumps(block.get("input") or {}, ensure_ascii=False)
        delta = {"type": "input_json_delta", "partial_json": partial}
    else:
        opening, delta = block, None
    events: list[AnthropicEvent] = [
        {"type": "content_block_start", "index": index, "content_block": opening}
    ]
    if delta is not None:
        events.append({"type": "content_block_delta", "index": index, "delta": delta})
    events.append({"type": "content_block_stop", "index": index})
    return events
