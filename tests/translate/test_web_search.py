"""The web search server tool on the gateway's side: which requests are searches, their query,
the `unavailable` answer, and a complete message as Anthropic stream events."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from claude_gw.translate.sse import SSEDecoder
from claude_gw.translate.web_search import (
    is_search_request,
    message_events,
    search_query,
    unavailable_answer,
)
from tests.translate.conftest import CLI_FIXTURES, WIRE_FIXTURES, load_json

SEARCH = load_json(CLI_FIXTURES / "messages_websearch_server_tool.json")["body"]
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}
FUNCTION = {"name": "Bash", "input_schema": {"type": "object"}}


def user(content: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        pytest.param(SEARCH["tools"], True, id="cli_sub_request"),
        pytest.param([{**WEB_SEARCH, "type": "web_search_20260209"}], True, id="newer_version"),
        pytest.param([WEB_SEARCH, FUNCTION], False, id="with_a_function"),
        pytest.param([], False, id="no_tools"),
        pytest.param(None, False, id="tools_absent"),
    ],
)
def test_a_search_request_offers_only_web_search_tools(tools: Any, expected: bool) -> None:
    assert is_search_request({"tools": tools}) is expected


@pytest.mark.parametrize(
    ("doc", "query"),
    [
        pytest.param(SEARCH, "claude gateway test", id="cli_wording"),
        pytest.param(user("  what is\n new  "), "what is new", id="plain_string"),
        pytest.param(
            user([{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]),
            "second",
            id="last_text_block",
        ),
        pytest.param({"messages": []}, "", id="nothing"),
    ],
)
def test_the_query_is_the_last_user_text_without_the_clis_wording(
    doc: dict[str, Any], query: str
) -> None:
    assert search_query(doc) == query


def test_the_unavailable_answer_streams_as_the_recorded_search_stream_is_shaped() -> None:
    message = unavailable_answer("q", message_id="msg_abc", model="gpt-5-mini", reason="none.")
    recorded = [
        event.data
        for event in SSEDecoder().feed(
            (WIRE_FIXTURES / "anthropic-stream-web-search.sse").read_bytes()
        )
    ]
    recorded_events = [json.loads(data) for data in recorded]
    ours = message_events(message)

    def outline(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        return [
            (e["type"], (e.get("content_block") or e.get("delta") or {}).get("type", ""))
            for e in events
        ]

    assert outline(ours) == outline(recorded_events)
    result = ours[4]["content_block"]
    assert result == {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_abc",
        "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"},
    }
    assert ours[2]["delta"] == {"type": "input_json_delta", "partial_json": '{"query": "q"}'}
    assert ours[-2]["usage"]["server_tool_use"] == {"web_search_requests": 0}
    assert ours[-2]["delta"]["stop_reason"] == "end_turn"
