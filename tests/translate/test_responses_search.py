"""Web search through the Responses API: the `web_search_*` server tool as the `web_search` tool,
and `web_search_call` items + `url_citation` annotations as `server_tool_use` +
`web_search_tool_result` blocks and text, streamed (at every chunk boundary) and not."""

from __future__ import annotations

from typing import Any

import pytest

from claude_gw.errors import InvalidRequest
from claude_gw.translate.responses import anthropic_to_responses, responses_to_anthropic
from claude_gw.translate.responses_search import SearchOptions, search_options
from claude_gw.translate.responses_stream import ResponsesStreamTranslator
from tests.translate.conftest import CLI_FIXTURES, load_json
from tests.translate.test_request import request
from tests.translate.test_responses import REASONING
from tests.translate.test_responses_stream import (
    added,
    created,
    delta,
    done,
    events_from_sse,
    sse,
    translate_bytes,
)
from tests.translate.test_stream import MESSAGE_ID, MODEL, assert_valid_sequence, sdk_final_message

SEARCH = load_json(CLI_FIXTURES / "messages_websearch_server_tool.json")["body"]
TOOL = {"type": "web_search_20250305", "name": "web_search"}
FUNCTION = {"name": "Bash", "input_schema": {"type": "object"}}
URL_A, URL_B, URL_C = "https://a.example/x", "https://b.example/y", "https://news.c.example/z"
TEXT = "Procopius wrote it [a](https://a.example/x) and [b](https://b.example/y)."
TOOL_ID = "srvtoolu_test0001"  # MESSAGE_ID is msg_test0001


def search_call(*sources: str, action: str = "search", query: str = "procopius") -> dict[str, Any]:
    found: dict[str, Any] = {"type": action}
    if action == "search":
        found["query"] = query
        found["sources"] = [{"type": "url", "url": url} for url in sources]
    return {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": found}


def citation(url: str, title: str, start: int = 0, end: int = 1) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": url,
        "title": title,
        "start_index": start,
        "end_index": end,
    }


def cited_message(*notes: dict[str, Any]) -> dict[str, Any]:
    part = {"type": "output_text", "text": TEXT, "annotations": list(notes)}
    return {"id": "msg_1", "type": "message", "role": "assistant", "content": [part]}


def result(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "web_search_result",
            "title": t,
            "url": u,
            "encrypted_content": "",
            "page_age": None,
        }
        for u, t in pairs
    ]


def response(*output: dict[str, Any]) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 5}
    return {"model": "gpt-5-mini", "status": "completed", "output": list(output), "usage": usage}


CITED = cited_message(citation(URL_B, "B page"), citation(URL_A, "A page"))
EXPECTED_BLOCKS: list[dict[str, Any]] = [
    {
        "type": "server_tool_use",
        "id": TOOL_ID,
        "name": "web_search",
        "input": {"query": "procopius"},
    },
    {
        "type": "web_search_tool_result",
        "tool_use_id": TOOL_ID,
        # cited pages first, with their titles; then the other sources, titled by their URL
        "content": result((URL_B, "B page"), (URL_A, "A page"), (URL_C, URL_C)),
    },
    {"type": "text", "text": TEXT},
]


# --------------------------------------------------------------------------- the request


def test_the_cli_search_request_becomes_a_web_search_tool_with_its_limit() -> None:
    out = anthropic_to_responses(SEARCH, target=REASONING)
    assert out["tools"] == [{"type": "web_search"}]
    assert out["max_tool_calls"] == 8
    assert out["include"] == ["reasoning.encrypted_content", "web_search_call.action.sources"]
    assert "tool_choice" not in out


def test_domains_location_and_the_smallest_max_uses_are_mapped_after_the_functions() -> None:
    tools = [
        FUNCTION,
        {**TOOL, "max_uses": 5, "allowed_domains": ["a.example"], "blocked_domains": ["b.example"]},
        {**TOOL, "max_uses": 3, "user_location": {"type": "approximate", "city": "Oslo", "x": 1}},
    ]
    out = anthropic_to_responses(request(tools=tools), target=REASONING)
    assert [tool["type"] for tool in out["tools"]] == ["function", "web_search", "web_search"]
    assert out["tools"][1:] == [
        {"type": "web_search", "filters": {"allowed_domains": ["a.example"]}},
        {"type": "web_search", "user_location": {"type": "approximate", "city": "Oslo"}},
    ]
    assert out["max_tool_calls"] == 3
    assert search_options(request(tools=tools)) == SearchOptions(("b.example",))
    assert search_options(request(tools=[FUNCTION])) is None


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        pytest.param(
            {**TOOL, "max_uses": 0}, "tools.0.max_uses: must be a positive", id="max_uses"
        ),
        pytest.param(
            {**TOOL, "allowed_domains": "a.example"}, "tools.0.allowed_domains", id="domains"
        ),
        pytest.param({**TOOL, "user_location": "Oslo"}, "tools.0.user_location", id="location"),
    ],
)
def test_a_malformed_search_tool_is_an_invalid_request_naming_the_field(
    tool: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest, match="^" + message):
        anthropic_to_responses(request(tools=[tool]), target=REASONING)


def test_a_past_search_in_the_conversation_is_left_out_of_the_input() -> None:
    turns = [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [*EXPECTED_BLOCKS[:2], {"type": "text", "text": "found"}]},
        {"role": "user", "content": "thanks"},
    ]
    out = anthropic_to_responses(request(messages=turns), target=REASONING)
    assert out["input"][1] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "found", "annotations": []}],
    }


# --------------------------------------------------------------------------- the answer


def test_a_search_call_and_its_cited_message_become_results_and_text() -> None:
    answer = response(search_call(URL_A, URL_C), CITED)
    message = responses_to_anthropic(answer, message_id=MESSAGE_ID, search=SearchOptions())
    assert message["content"] == EXPECTED_BLOCKS
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 1}
    assert message["stop_reason"] == "end_turn"


def test_results_from_blocked_domains_and_their_subdomains_are_left_out() -> None:
    answer = response(search_call(URL_A, URL_C), CITED)
    options = SearchOptions(("b.example", "c.example"))
    message = responses_to_anthropic(answer, message_id=MESSAGE_ID, search=options)
    assert message["content"][1]["content"] == result((URL_A, "A page"))


def test_page_steps_are_not_searches_and_offered_search_unused_counts_zero() -> None:
    answer = response(search_call(action="open_page"), cited_message())
    message = responses_to_anthropic(answer, message_id=MESSAGE_ID, search=SearchOptions())
    assert [block["type"] for block in message["content"]] == ["text"]
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 0}
    plain = responses_to_anthropic(response(cited_message()), message_id=MESSAGE_ID)
    assert "server_tool_use" not in plain["usage"]


def test_two_searches_get_two_ids_and_the_citations_of_the_message_after_each() -> None:
    second = {**search_call(URL_C, query="again"), "id": "ws_2"}
    answer = response(search_call(URL_A), second, CITED)
    content = responses_to_anthropic(answer, message_id=MESSAGE_ID)["content"]
    uses = [block for block in content if block["type"] == "server_tool_use"]
    assert [use["id"] for use in uses] == [TOOL_ID, TOOL_ID + "_1"]
    results = [block["content"] for block in content if block["type"] == "web_search_tool_result"]
    assert results == [
        result((URL_A, URL_A)),
        result((URL_B, "B page"), (URL_A, "A page"), (URL_C, URL_C)),
    ]


# --------------------------------------------------------------------------- the stream


def stream_events(message_item: dict[str, Any]) -> list[dict[str, Any]]:
    """A Responses stream: a search call, then a message whose text streams and is annotated."""
    pending = {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "in_progress",
        "action": {"type": "search"},
    }
    empty = {**message_item, "content": []}
    ids = {"item_id": "msg_1", "content_index": 0}
    return [
        created(),
        added(0, pending),
        {"type": "response.web_search_call.in_progress", "output_index": 0, "item_id": "ws_1"},
        {"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"},
        {"type": "response.web_search_call.completed", "output_index": 0, "item_id": "ws_1"},
        done(0, search_call(URL_A, URL_C)),
        added(1, empty),
        delta("output_text", 1, TEXT[:20], **ids),
        delta("output_text", 1, TEXT[20:], **ids),
        {
            "type": "response.output_text.annotation.added",
            "output_index": 1,
            "annotation_index": 0,
            "annotation": message_item["content"][0]["annotations"][0],
            **ids,
        },
        done(1, message_item),
        {
            "type": "response.completed",
            "response": response(search_call(URL_A, URL_C), message_item),
        },
    ]


SEARCH_STREAM = sse(stream_events(CITED))


def translate(data: bytes) -> ResponsesStreamTranslator:
    translator = ResponsesStreamTranslator(
        message_id=MESSAGE_ID, model=MODEL, search=SearchOptions()
    )
    for event in events_from_sse([data]):
        translator.feed(event)
    translator.finish()
    return translator


def test_a_search_stream_split_at_every_offset_translates_identically() -> None:
    whole = translate_bytes(SEARCH_STREAM)
    assert_valid_sequence(whole)
    for offset in range(len(SEARCH_STREAM) + 1):
        assert translate_bytes(SEARCH_STREAM, [offset]) == whole, offset


def test_a_streamed_search_is_the_non_streaming_answer_and_what_the_sdk_accumulates() -> None:
    translator = translate(SEARCH_STREAM)
    events = stream_events(CITED)
    whole = responses_to_anthropic(
        events[-1]["response"], message_id=MESSAGE_ID, search=SearchOptions()
    )
    assert translator.message()["content"] == whole["content"] == EXPECTED_BLOCKS
    assert translator.web_search_requests == 1
    accumulated = sdk_final_message(_events_of(SEARCH_STREAM))
    use, found, said = accumulated["content"]
    assert (use["type"], use["id"], use["input"]) == (
        "server_tool_use",
        TOOL_ID,
        {"query": "procopius"},
    )
    assert found["tool_use_id"] == TOOL_ID
    assert [(r["title"], r["url"]) for r in found["content"]] == [
        (r["title"], r["url"]) for r in EXPECTED_BLOCKS[1]["content"]
    ]
    assert said == {"type": "text", "text": TEXT}
    assert accumulated["usage"]["server_tool_use"] == {"web_search_requests": 1}


def _events_of(data: bytes) -> list[Any]:
    translator = ResponsesStreamTranslator(
        message_id=MESSAGE_ID, model=MODEL, search=SearchOptions()
    )
    out: list[Any] = []
    for event in events_from_sse([data]):
        out += translator.feed(event)
    return out + translator.finish()


def test_the_text_after_a_search_waits_for_the_result_block_and_goes_out_whole() -> None:
    events = _events_of(SEARCH_STREAM)
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["server_tool_use", "web_search_tool_result", "text"]
    texts = [
        e["delta"]["text"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    ]
    assert texts == [TEXT]
    (last_delta,) = [e for e in events if e["type"] == "message_delta"]
    assert last_delta["usage"]["server_tool_use"] == {"web_search_requests": 1}


def test_a_stream_that_ends_after_the_search_still_sends_its_result() -> None:
    cut = sse(stream_events(CITED)[:6])
    events = _events_of(cut)
    assert_valid_sequence(events)
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [s["type"] for s in starts] == ["server_tool_use", "web_search_tool_result"]
    assert starts[1]["content"] == result((URL_A, URL_A), (URL_C, URL_C))
