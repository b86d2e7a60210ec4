"""Streaming translation: OpenAI Responses event streams (fixture and built) -> Anthropic events.

Checked as the chat streams are (tests/translate/test_stream.py, whose checkers are reused):
the same bytes split at every offset give identical events; the sequence is well formed; the
official `anthropic` SDK builds the expected message from the encoded events; and that message
equals the translator's own `message()` and the non-streaming translation of the same Response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from claude_gw.errors import UpstreamError
from claude_gw.translate.responses import (
    anthropic_to_responses,
    decode_reasoning_signature,
    encode_reasoning_signature,
    responses_to_anthropic,
    responses_usage_to_chat,
)
from claude_gw.translate.responses_stream import (
    ResponsesStreamTranslator,
    translate_responses_stream,
)
from claude_gw.translate.sse import SSEDecoder
from claude_gw.wire import AnthropicEvent, AnthropicRequest
from tests.translate.test_responses import REASONING
from tests.translate.test_stream import (
    MESSAGE_ID,
    MODEL,
    WIRE,
    assert_valid_sequence,
    expected_message,
    sdk_final_message,
    split,
    text,
    tool_use,
    usage,
)

FIXTURE = (WIRE / "openai-responses-stream-tools.sse").read_bytes()


# --------------------------------------------------------------------------- helpers


def events_from_sse(pieces: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The caller's side: decode bytes, skip a `[DONE]` some servers add, parse each event."""
    decoder = SSEDecoder()
    for piece in [*pieces, None]:
        for sse_event in decoder.flush() if piece is None else decoder.feed(piece):
            if sse_event.data.strip() != "[DONE]":
                yield json.loads(sse_event.data)


def translate_bytes(data: bytes, offsets: Iterable[int] = ()) -> list[AnthropicEvent]:
    events = events_from_sse(split(data, offsets))
    return translate_responses_stream(events, message_id=MESSAGE_ID, model=MODEL)


def sse(events: Iterable[dict[str, Any]], *, done: bool = False) -> bytes:
    """A Responses stream body: `event:` + `data:` per event, `[DONE]` only if asked."""
    lines = [f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
    return "".join([*lines, "data: [DONE]\n\n" if done else ""]).encode()


def fixture_events() -> list[dict[str, Any]]:
    return list(events_from_sse([FIXTURE]))


def created(model: str = "upstream-model") -> dict[str, Any]:
    return {"type": "response.created", "response": {"model": model, "status": "in_progress"}}


def completed(status: str = "completed", **response: Any) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 5, "input_tokens_details": {"cached_tokens": 4}}
    body = {"model": "upstream-model", "status": status, "usage": usage, **response}
    return {"type": f"response.{status}", "response": body}


def added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def delta(kind: str, index: int, value: str, **extra: Any) -> dict[str, Any]:
    event = {"type": f"response.{kind}.delta", "output_index": index, "delta": value}
    return {**event, "obfuscation": "pad", **extra}


def reasoning(encrypted: str = "enc-done", *summaries: str) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": s} for s in summaries]
    item = {"id": "rs_1", "type": "reasoning", "summary": summary}
    return item | ({"encrypted_content": encrypted} if encrypted else {})


def msg(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "content": list(parts)}


def out_text(value: str) -> dict[str, Any]:
    return {"type": "output_text", "text": value, "annotations": []}


def call(arguments: str = "", call_id: str | None = "call_1", name: str | None = "f") -> Any:
    item = {"id": "fc_1", "type": "function_call", "arguments": arguments}
    return item | ({"call_id": call_id} if call_id else {}) | ({"name": name} if name else {})


def thinking(value: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": encode_reasoning_signature(item)}


CUT = usage(6, 5, 4)  # the usage of `completed()`
FIXTURE_DONE_ITEM = fixture_events()[9]["item"]


# --------------------------------------------------------------------------- the stream table


STREAMS = [
    pytest.param(
        FIXTURE,
        expected_message(
            "gpt-5-mini-2025-08-07",
            [
                thinking(
                    "**Checking the weather**\n\nThe user wants the weather in Paris; "
                    "I should call get_weather with unit c.",
                    FIXTURE_DONE_ITEM,
                ),
                text("Let me check the weather in Paris."),
                tool_use(
                    "call_INVENTEDweather000000001", "get_weather", {"city": "Paris", "unit": "c"}
                ),
            ],
            "tool_use",
            usage(inp=2200 - 1920, out=180, read=1920),
        ),
        id="fixture_reasoning_text_and_tool_call",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, msg()),
                delta("output_text", 0, "naïve "),
                delta("output_text", 0, "café 🎉"),
                done(0, msg(out_text("naïve café 🎉"))),
                completed(),
            ],
            done=True,
        ),
        expected_message("upstream-model", [text("naïve café 🎉")], "end_turn", CUT),
        id="text_with_multibyte_characters_and_a_trailing_done",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, reasoning("enc-partial")),
                delta("reasoning_summary_text", 0, "One.", summary_index=0),
                delta("reasoning_summary_text", 0, "Two.", summary_index=1),
                done(0, reasoning("enc-done", "One.", "Two.")),
                added(1, msg()),
                delta("output_text", 1, "Answer."),
                done(1, msg(out_text("Answer."))),
                completed(),
            ]
        ),
        expected_message(
            "upstream-model",
            [thinking("One.\n\nTwo.", reasoning("enc-done", "One.", "Two.")), text("Answer.")],
            "end_turn",
            CUT,
        ),
        id="summary_parts_joined_and_signature_from_the_done_item",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, reasoning("")),
                delta("reasoning_summary_text", 0, "Only.", summary_index=1),
                done(0, reasoning("enc", "", "Only.")),
                completed(),
            ]
        ),
        expected_message(
            "upstream-model", [thinking("Only.", reasoning("enc", "", "Only."))], "end_turn", CUT
        ),
        id="empty_first_summary_part_adds_no_blank_line",
    ),
    pytest.param(
        sse([created(), added(0, reasoning("")), done(0, reasoning("enc")), completed()]),
        expected_message("upstream-model", [thinking("", reasoning("enc"))], "end_turn", CUT),
        id="reasoning_without_summary_is_an_empty_thinking_block_with_a_signature",
    ),
    pytest.param(
        sse([created(), added(0, msg()), done(0, msg(out_text("Whole."))), completed()]),
        expected_message("upstream-model", [text("Whole.")], "end_turn", CUT),
        id="message_without_deltas_is_sent_from_its_done_item",
    ),
    pytest.param(
        sse(
            [
                created(),
                done(0, reasoning("enc", "Late.")),
                added(1, call()),
                done(1, call('{"a":1}', name=None)),  # quirk 7: `.done` may lack the name
                completed(),
            ]
        ),
        expected_message(
            "upstream-model",
            [thinking("Late.", reasoning("enc", "Late.")), tool_use("call_1", "f", {"a": 1})],
            "tool_use",
            CUT,
        ),
        id="items_without_added_or_deltas_are_sent_from_their_done_item",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, call(call_id=None, name="list_files")),
                done(0, call(call_id=None, name="list_files")),
                added(1, call(name="g")),
                delta("function_call_arguments", 1, '{"x":'),
                delta("function_call_arguments", 1, "2}"),
                done(1, call('{"x":2}', name=None)),
                completed(),
            ]
        ),
        expected_message(
            "upstream-model",
            [tool_use(f"call_0_{MESSAGE_ID}", "list_files", {}), tool_use("call_1", "g", {"x": 2})],
            "tool_use",
            CUT,
        ),
        id="no_argument_call_and_a_call_without_call_id",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, msg()),
                delta("refusal", 0, "I can't help with that."),
                done(0, msg({"type": "refusal", "refusal": "I can't help with that."})),
                completed(),
            ]
        ),
        expected_message("upstream-model", [text("I can't help with that.")], "refusal", CUT),
        id="refusal_is_text_and_stop_reason_refusal",
    ),
    pytest.param(
        sse([created(), added(0, msg()), delta("refusal", 0, "No."), completed()]),
        expected_message("upstream-model", [text("No.")], "refusal", CUT),
        id="refusal_delta_alone_is_a_refusal",
    ),
    pytest.param(
        sse([created(), done(0, msg({"type": "refusal", "refusal": "No."})), completed()]),
        expected_message("upstream-model", [text("No.")], "refusal", CUT),
        id="refusal_in_a_done_item_alone_is_a_refusal",
    ),
    pytest.param(
        sse(
            [
                created(),
                added(0, msg()),
                delta("output_text", 0, "Cu"),
                completed("incomplete", incomplete_details={"reason": "max_output_tokens"}),
            ]
        ),
        expected_message("upstream-model", [text("Cu")], "max_tokens", CUT),
        id="incomplete_for_max_output_tokens_is_max_tokens",
    ),
    pytest.param(
        sse([created(), completed("incomplete", incomplete_details={"reason": "content_filter"})]),
        expected_message("upstream-model", [], "refusal", CUT),
        id="incomplete_for_content_filter_is_refusal",
    ),
    pytest.param(
        sse(
            [
                created(),
                {"type": "response.in_progress", "response": {"model": "upstream-model"}},
                added(0, {"id": "fs_1", "type": "file_search_call", "status": "in_progress"}),
                {"type": "response.file_search_call.searching", "output_index": 0},
                done(0, {"id": "fs_1", "type": "file_search_call", "status": "completed"}),
                {"type": "response.some_future_event", "output_index": 1},
                delta("output_text", 7, "x"),
                delta("function_call_arguments", 7, "{}"),
                delta("reasoning_summary_text", 7, "y"),
                completed(),
            ]
        ),
        expected_message("upstream-model", [text("x")], "end_turn", CUT),
        id="unknown_events_and_items_are_ignored",
    ),
    pytest.param(
        sse([created(), added(0, msg()), delta("output_text", 0, "partial")]),
        expected_message("upstream-model", [text("partial")], "end_turn", usage()),
        id="cut_stream_without_a_terminal_event",
    ),
]


@pytest.mark.parametrize(("data", "expected"), STREAMS)
def test_stream_split_at_every_offset_translates_identically(
    data: bytes, expected: dict[str, Any]
) -> None:
    whole = translate_bytes(data)
    for offset in range(len(data) + 1):
        assert translate_bytes(data, [offset]) == whole, offset


@pytest.mark.parametrize(("data", "expected"), STREAMS)
def test_stream_translates_to_a_well_formed_event_sequence(
    data: bytes, expected: dict[str, Any]
) -> None:
    assert_valid_sequence(translate_bytes(data))


@pytest.mark.parametrize(("data", "expected"), STREAMS)
def test_anthropic_sdk_accumulates_the_expected_message(
    data: bytes, expected: dict[str, Any]
) -> None:
    assert sdk_final_message(translate_bytes(data)) == expected


@pytest.mark.parametrize(("data", "expected"), STREAMS)
def test_translator_message_equals_what_the_sdk_accumulates(
    data: bytes, expected: dict[str, Any]
) -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    for event in events_from_sse([data]):
        translator.feed(event)
    translator.finish()
    message = {key: value for key, value in translator.message().items() if value is not None}
    assert message == expected


def test_streamed_message_equals_the_non_streaming_translation_of_the_same_response() -> None:
    events = fixture_events()
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    for event in events:
        translator.feed(event)
    translator.finish()
    whole = responses_to_anthropic(events[-1]["response"], message_id=MESSAGE_ID)
    assert translator.message() == whole


# --------------------------------------------------------------------------- exact events


def test_reasoning_block_ends_with_the_done_items_signature_before_its_stop() -> None:
    """Quirk 7: `.added`'s encrypted_content may be incomplete; the `.done` item's is sent."""
    events = translate_bytes(FIXTURE)
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    signature_event, stop = events[5:7]
    assert signature_event["delta"]["type"] == "signature_delta"
    assert stop == {"type": "content_block_stop", "index": 0}
    item = decode_reasoning_signature(signature_event["delta"]["signature"])
    assert item == FIXTURE_DONE_ITEM
    assert item is not None and item["encrypted_content"] != "gAAAAABpINVENTED-partial..."


def test_tool_use_block_takes_call_id_and_name_from_the_added_item() -> None:
    """Quirk 7: function_call_arguments.done has no name in the recording."""
    starts = [e for e in translate_bytes(FIXTURE) if e["type"] == "content_block_start"]
    assert starts[2]["content_block"] == {
        "type": "tool_use",
        "id": "call_INVENTEDweather000000001",
        "name": "get_weather",
        "input": {},
    }


def test_argument_fragments_are_forwarded_one_by_one() -> None:
    """Quirk 4: every non-empty fragment is one partial_json, concatenated by the client."""
    events = translate_bytes(FIXTURE)
    fragments = [e["delta"]["partial_json"] for e in events if e.get("index") == 2 and "delta" in e]
    assert len(fragments) == 10
    assert json.loads("".join(fragments)) == {"city": "Paris", "unit": "c"}


def test_obfuscation_padding_never_reaches_the_client() -> None:
    """Quirk 5: `obfuscation` stays on the upstream's delta events."""
    assert "obfuscation" not in json.dumps(translate_bytes(FIXTURE))


def test_usage_is_held_back_until_finish() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(created())
    assert translator.feed(completed()) == []
    assert translator.saw_finish_reason and translator.stop_reason == "end_turn"
    events = translator.finish()
    assert [e["type"] for e in events] == ["message_delta", "message_stop"]
    assert events[0]["usage"] == CUT


# --------------------------------------------------------------------------- two turns


def test_streamed_reasoning_item_is_sent_back_unchanged_on_the_next_turn() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    for event in fixture_events():
        translator.feed(event)
    translator.finish()
    content = translator.message()["content"]
    result = {"type": "tool_result", "tool_use_id": content[2]["id"], "content": "18C"}
    follow_up: AnthropicRequest = {
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": content},
            {"role": "user", "content": [result]},
        ],
    }
    items = anthropic_to_responses(follow_up, target=REASONING)["input"]
    assert [item["type"] for item in items] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert items[1] == FIXTURE_DONE_ITEM


# --------------------------------------------------------------------------- lifecycle


def test_start_emits_message_start_once_and_the_upstream_model_names_the_message() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert not translator.started
    [event] = translator.feed(created("gpt-5-mini-2025-08-07"))
    assert event["type"] == "message_start"
    assert event["message"]["model"] == "gpt-5-mini-2025-08-07"
    assert event["message"]["usage"] == usage()
    assert translator.start("other") == []
    assert translator.response_model == "gpt-5-mini-2025-08-07"


def test_start_before_any_event_uses_the_configured_model() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert translator.start()[0]["message"]["model"] == MODEL
    translator.feed(created("later-model"))
    assert translator.message()["model"] == MODEL
    assert translator.response_model == "later-model"


def test_finish_without_any_event_still_makes_a_complete_message() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    events = translator.finish()
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]
    assert events[1]["delta"]["stop_reason"] == "end_turn"
    assert translator.finished and not translator.saw_finish_reason


def test_finish_is_idempotent_and_later_events_are_ignored() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(added(0, msg()))
    translator.feed(delta("output_text", 0, "x"))
    assert translator.finish()
    assert translator.finish() == []
    assert translator.feed(delta("output_text", 0, "more")) == []
    assert translator.message()["content"] == [text("x")]


def test_error_ends_the_stream_so_finish_returns_nothing() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(created())
    assert translator.error("overloaded_error", "busy") == [
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    ]
    assert translator.finished
    assert translator.finish() == []
    assert translator.error("api_error", "again") == []


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param(
            {
                "type": "response.failed",
                "response": {
                    "status": "failed",
                    "error": {"code": "server_error", "message": "The model failed."},
                },
            },
            r"upstream response failed: The model failed\. \(server_error\)",
            id="response_failed",
        ),
        pytest.param(
            {"type": "response.failed", "response": {"status": "failed", "error": None}},
            "upstream response failed: no error detail",
            id="response_failed_without_error",
        ),
        pytest.param(
            {
                "type": "error",
                "code": "rate_limit_exceeded",
                "message": "Slow down.",
                "param": None,
            },
            r"upstream stream error: Slow down\. \(rate_limit_exceeded\)",
            id="error_event",
        ),
        pytest.param(
            {"type": "error", "error": {"type": "server_error", "message": "Oops."}},
            r"upstream stream error: Oops\.$",
            id="error_event_with_nested_error",
        ),
    ],
)
def test_failed_and_error_events_raise_upstream_error(event: dict[str, Any], problem: str) -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(created())
    with pytest.raises(UpstreamError, match=problem):
        translator.feed(event)


# --------------------------------------------------------------------------- read-only views


def test_properties_follow_the_stream() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert (translator.usage, translator.response_model, translator.stop_reason) == (None,) * 3
    events = fixture_events()
    translator.feed(events[0])
    assert translator.started and not translator.has_content
    for event in events[1:-1]:
        translator.feed(event)
    assert translator.has_content and translator.tool_calls == 1
    assert not translator.saw_finish_reason and translator.stop_reason is None
    translator.feed(events[-1])
    assert translator.saw_finish_reason and translator.stop_reason == "tool_use"
    assert translator.usage == responses_usage_to_chat(events[-1]["response"]["usage"])
    assert translator.usage is not None and translator.usage["prompt_tokens"] == 2200
    translator.finish()
    assert translator.message()["stop_reason"] == "tool_use"


def test_message_keeps_arguments_that_do_not_parse_for_the_log() -> None:
    translator = ResponsesStreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(added(0, call()))
    translator.feed(delta("function_call_arguments", 0, '{"x": '))
    assert translator.message()["content"][0]["input"] == {"_raw_arguments": '{"x": '}
