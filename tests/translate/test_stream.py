"""Streaming translation: OpenAI chunk streams (recorded and built) -> Anthropic events.

Every stream is checked three ways: the same bytes split at every offset give identical events;
the event sequence is well formed; and the official `anthropic` SDK, reading the encoded events,
builds the expected final message (which also equals the translator's own `message()`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_gw.errors import UpstreamError
from claude_gw.translate.sse import SSEDecoder, encode_event
from claude_gw.translate.stream import StreamTranslator, translate_stream
from claude_gw.wire import AnthropicEvent, ChatCompletion

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
MESSAGE_ID = "msg_test0001"
MODEL = "configured-model"

# Newer SDKs are built on their own httpx fork (`httpx2`); use whichever the client subclasses.
HTTPX = importlib.import_module(anthropic.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


# --------------------------------------------------------------------------- helpers


def chunks_from_sse(pieces: Iterable[bytes]) -> Iterator[ChatCompletion]:
    """The caller's side of the contract: decode bytes, stop at `data: [DONE]`, parse JSON."""
    decoder = SSEDecoder()
    for piece in [*pieces, None]:
        events = decoder.flush() if piece is None else decoder.feed(piece)
        for event in events:
            if event.data.strip() == "[DONE]":
                return
            yield json.loads(event.data)


def split(data: bytes, offsets: Iterable[int]) -> list[bytes]:
    bounds = [0, *sorted(offsets), len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def translate_bytes(data: bytes, offsets: Iterable[int] = ()) -> list[AnthropicEvent]:
    chunks = chunks_from_sse(split(data, offsets))
    return translate_stream(chunks, message_id=MESSAGE_ID, model=MODEL)


def sse(chunks: Iterable[dict[str, Any]], *, done: bool = True) -> bytes:
    """An OpenAI-style stream body: `data:` lines only, `[DONE]` at the end."""
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]
    return "".join([*lines, "data: [DONE]\n\n" if done else ""]).encode()


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> Any:
    return {
        "id": "chatcmpl-built",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "upstream-model",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}],
        "usage": None,
        "obfuscation": "xyz",
    }


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> Any:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return {**chunk(), "choices": [], "usage": usage}


def tool(index: int | None, arguments: str, call_id: str = "", name: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"function": {"arguments": arguments}}
    if index is not None:
        call["index"] = index
    if call_id:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def usage(inp: int = 0, out: int = 0, read: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": 0,
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": ""}


def tool_use(call_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": value}


def assert_valid_sequence(events: list[AnthropicEvent]) -> None:
    """message_start first; paired blocks 0, 1, 2...; deltas fit their block; delta, stop last."""
    types = [event["type"] for event in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    kinds: list[str] = []  # kind of each started block
    open_index: int | None = None
    for position, event in enumerate(events[1:-2], start=1):
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == len(kinds)
            open_index = event["index"]
            kinds.append(event["content_block"]["type"])
        elif kind == "content_block_delta":
            block = kinds[event["index"]]  # IndexError: a delta for a block never started
            assert event["delta"]["type"] in DELTAS_FOR[block], (block, event)
        elif kind == "content_block_stop":
            assert event["index"] == open_index
            if kinds[open_index] == "thinking":  # quirk 8: a signature right before the stop
                assert events[position - 1]["delta"]["type"] == "signature_delta"
            open_index = None
        else:
            pytest.fail(f"unexpected {kind} in the middle of the stream")
    assert open_index is None


DELTAS_FOR = {
    "text": {"text_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
    "server_tool_use": {"input_json_delta"},
    "web_search_tool_result": set(),  # sent whole in its content_block_start
}


def sdk_final_message(events: list[AnthropicEvent]) -> dict[str, Any]:
    """The official SDK's `get_final_message()` over our encoded events, as a plain dict."""
    body = b"".join(encode_event(event) for event in events)

    def answer(request: Any) -> Any:
        return HTTPX.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    transport = HTTPX.MockTransport(answer)
    with anthropic.DefaultHttpxClient(transport=transport) as http:
        client = anthropic.Anthropic(
            api_key="test", base_url="http://127.0.0.1:9", http_client=http, max_retries=0
        )
        request: dict[str, Any] = {
            "model": "m",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with client.messages.stream(**request) as stream:
            return stream.get_final_message().model_dump(exclude_none=True)


def expected_message(
    model: str, content: list[dict[str, Any]], stop_reason: str, usage: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "usage": usage,
    }


# --------------------------------------------------------------------------- the stream table


def fixture(name: str) -> bytes:
    return (WIRE / name).read_bytes()


STREAMS = [
    pytest.param(
        fixture("openai-chat-stream-text.sse"),
        expected_message(
            "gpt-5-mini-2025-08-07",
            [text("Hello! How can I help you today?")],
            "end_turn",
            usage(inp=2048 - 1920, out=74, read=1920),  # quirk 1: usage after the finish chunk
        ),
        id="fixture_text_with_usage_only_final_chunk",
    ),
    pytest.param(
        fixture("openai-chat-stream-parallel-tools.sse"),
        expected_message(
            "gpt-5-mini-2025-08-07",
            [
                tool_use(
                    "call_INVENTEDweather00000001",
                    "get_weather",
                    {"city": "Edinburgh", "country": "GB"},
                ),
                tool_use(
                    "call_INVENTEDstock000000002",
                    "get_stock_price",
                    {"ticker": "AAPL", "exchange": "NASDAQ", "note": "café"},  # `\u00` + `e9`
                ),
            ],
            "tool_use",
            usage(inp=312, out=187),
        ),
        id="fixture_parallel_tools_split_inside_unicode_escape",
    ),
    pytest.param(
        fixture("openai-chat-stream-parallel-tools.recorded-gpt-4o-2024.sse"),
        expected_message(
            "gpt-4o-2024-08-06",
            [
                tool_use(
                    "call_JMW1whyEaYG438VE1OIflxA2",
                    "GetWeatherArgs",
                    {"city": "Edinburgh", "country": "GB", "units": "c"},
                ),
                tool_use(
                    "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                    "get_stock_price",
                    {"ticker": "AAPL", "exchange": "NASDAQ"},
                ),
            ],
            "tool_use",
            usage(inp=149, out=60),
        ),
        id="fixture_recorded_gpt_4o_2024_parallel_tools",
    ),
    pytest.param(
        sse(
            [
                chunk({"role": "assistant", "content": "", "reasoning_content": ""}),
                chunk({"reasoning_content": "Let me "}),
                chunk({"reasoning_content": "think."}),
                chunk({"content": "Answer"}),
                chunk({"content": "."}, "stop"),
                usage_chunk(40, 30, cached=8),
            ]
        ),
        expected_message(
            "upstream-model",
            [thinking("Let me think."), text("Answer.")],
            "end_turn",
            usage(32, 30, 8),
        ),
        id="reasoning_content_then_text",
    ),
    pytest.param(
        sse(
            [
                chunk({"role": "assistant", "reasoning": "Need the weather."}),
                chunk(tool(0, "", "call_1", "get_weather")),
                chunk(tool(0, '{"city": "Paris"}')),
                chunk({}, "tool_calls"),
            ]
        ),
        expected_message(
            "upstream-model",
            [thinking("Need the weather."), tool_use("call_1", "get_weather", {"city": "Paris"})],
            "tool_use",
            usage(),
        ),
        id="reasoning_field_then_tool_call",
    ),
    pytest.param(
        sse([chunk({"role": "assistant", "content": "partial"})], done=False),
        expected_message("upstream-model", [text("partial")], "end_turn", usage()),
        id="no_finish_reason_infers_end_turn",
    ),
    pytest.param(
        sse([chunk(tool(0, '{"a":1}', "call_1", "f"))], done=False),
        expected_message(
            "upstream-model", [tool_use("call_1", "f", {"a": 1})], "tool_use", usage()
        ),
        id="no_finish_reason_after_a_tool_call_infers_tool_use",
    ),
    pytest.param(
        sse(
            [
                chunk({"role": "assistant", "content": "Let me look."}),
                chunk(tool(0, "", "call_1", "Read")),
                chunk(tool(0, '{"file_path":')),
                chunk(tool(0, ' "/tmp/a"}')),
                chunk({}, "tool_calls"),
                usage_chunk(10, 5),
            ]
        ),
        expected_message(
            "upstream-model",
            [text("Let me look."), tool_use("call_1", "Read", {"file_path": "/tmp/a"})],
            "tool_use",
            usage(10, 5),
        ),
        id="text_then_tool_call",
    ),
    pytest.param(
        sse(
            [
                {  # quirk 2: Azure's first chunk has no choices and no model
                    "id": "",
                    "object": "",
                    "created": 0,
                    "model": "",
                    "choices": [],
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                },
                chunk({"role": "assistant", "content": "Hi"}),
                chunk({}, "stop"),
                usage_chunk(3, 1),
            ]
        ),
        expected_message(MODEL, [text("Hi")], "end_turn", usage(3, 1)),
        id="azure_empty_choices_chunk_first",
    ),
    pytest.param(
        sse([chunk(tool(0, "", "call_1", "list_files")), chunk({}, "tool_calls")]),
        expected_message(
            "upstream-model", [tool_use("call_1", "list_files", {})], "tool_use", usage()
        ),
        id="no_argument_tool_gets_empty_input",  # quirk 4
    ),
    pytest.param(
        sse(
            [
                chunk({"role": "assistant", **tool(0, '{"a":', "call_a", "f")}),
                chunk({"tool_calls": [*tool(1, '{"b":2}', "call_b", "g")["tool_calls"]]}),
                chunk(tool(0, "1}")),  # a late fragment for the already closed call 0
                chunk({}, "tool_calls"),
            ]
        ),
        expected_message(
            "upstream-model",
            [tool_use("call_a", "f", {"a": 1}), tool_use("call_b", "g", {"b": 2})],
            "tool_use",
            usage(),
        ),
        id="late_fragment_for_a_closed_tool_keeps_its_block",
    ),
    pytest.param(
        sse(
            [
                chunk(
                    {
                        "tool_calls": [
                            *tool(0, '{"x":1}', "call_a", "f")["tool_calls"],
                            *tool(1, '{"y":2}', "call_b", "g")["tool_calls"],
                        ]
                    }
                ),
                chunk({}, "tool_calls"),
            ]
        ),
        expected_message(
            "upstream-model",
            [tool_use("call_a", "f", {"x": 1}), tool_use("call_b", "g", {"y": 2})],
            "tool_use",
            usage(),
        ),
        id="two_whole_tool_calls_in_one_chunk",
    ),
    pytest.param(
        sse(
            [
                chunk(tool(0, '{"x":', "call_a", "f")),
                chunk(tool(0, "1}")),
                chunk(tool(0, '{"y":', "call_b", "g")),
                chunk(tool(0, "2}")),
                chunk({}, "tool_calls"),
            ]
        ),
        expected_message(
            "upstream-model",
            [tool_use("call_a", "f", {"x": 1}), tool_use("call_b", "g", {"y": 2})],
            "tool_use",
            usage(),
        ),
        id="compatible_server_reusing_index_0_with_new_ids",
    ),
    pytest.param(
        sse(
            [
                chunk(tool(None, '{"x":', "call_a", "f")),
                chunk(tool(None, "1}")),
                chunk(tool(None, "{}", "call_b", "g")),
                chunk({}, "tool_calls"),
            ]
        ),
        expected_message(
            "upstream-model",
            [tool_use("call_a", "f", {"x": 1}), tool_use("call_b", "g", {})],
            "tool_use",
            usage(),
        ),
        id="compatible_server_omitting_the_tool_index",
    ),
    pytest.param(
        sse([chunk({"role": "assistant", "content": None, "refusal": "I can't."}, "stop")]),
        expected_message("upstream-model", [text("I can't.")], "refusal", usage()),
        id="refusal_becomes_text_and_stop_reason_refusal",
    ),
    pytest.param(
        sse([chunk({"content": "Some"}), chunk({}, "content_filter")]),
        expected_message("upstream-model", [text("Some")], "refusal", usage()),
        id="content_filter_becomes_refusal",
    ),
    pytest.param(
        sse([chunk({"content": "Cut"}), chunk({}, "length"), usage_chunk(5, 1)]),
        expected_message("upstream-model", [text("Cut")], "max_tokens", usage(5, 1)),
        id="length_becomes_max_tokens",
    ),
    pytest.param(
        sse([chunk({"role": "assistant", "content": ""}), chunk({}, "stop")]),
        expected_message("upstream-model", [], "end_turn", usage()),
        id="empty_answer_has_no_blocks",
    ),
    pytest.param(
        sse([chunk({"content": "naïve café 🎉"}), chunk({}, "stop")]),
        expected_message("upstream-model", [text("naïve café 🎉")], "end_turn", usage()),
        id="multibyte_text_split_inside_characters",
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
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    for item in chunks_from_sse([data]):
        translator.feed(item)
    translator.finish()
    message = {key: value for key, value in translator.message().items() if value is not None}
    assert message == expected


# --------------------------------------------------------------------------- the caller's helper


def test_decoding_helper_stops_at_done_and_ignores_anything_after_it() -> None:
    data = sse([chunk({"content": "a"})]) + sse([chunk({"content": "b"})], done=False)
    assert [c["choices"][0]["delta"] for c in chunks_from_sse([data])] == [{"content": "a"}]


def test_decoding_helper_passes_chunks_of_a_stream_without_done() -> None:
    data = sse([chunk({"content": "a"}), chunk({"content": "b"})], done=False)
    assert len(list(chunks_from_sse(split(data, [5, 40])))) == 2


# --------------------------------------------------------------------------- exact events


def test_text_stream_translates_to_exactly_these_events() -> None:
    chunks = [
        chunk({"role": "assistant", "content": "Hi"}),
        chunk({}, "stop"),
        usage_chunk(9, 2, 4),
    ]
    assert translate_stream(chunks, message_id=MESSAGE_ID, model=MODEL) == [
        {
            "type": "message_start",
            "message": {
                "id": MESSAGE_ID,
                "type": "message",
                "role": "assistant",
                "model": "upstream-model",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage(),
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": usage(inp=5, out=2, read=4),
        },
        {"type": "message_stop"},
    ]


def test_thinking_block_ends_with_an_empty_signature_delta_before_its_stop() -> None:
    events = translate_stream(
        [chunk({"reasoning_content": "hm"}), chunk({"content": "ok"})],
        message_id=MESSAGE_ID,
        model=MODEL,
    )
    assert events[1:6] == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": ""},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    ]


def test_tool_call_arguments_are_forwarded_fragment_by_fragment() -> None:
    """Quirk 4: each non-empty fragment is one partial_json; the block starts with input {}."""
    path = WIRE / "openai-chat-stream-parallel-tools.sse"
    events = translate_bytes(path.read_bytes())
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [s["content_block"]["input"] for s in starts] == [{}, {}]
    fragments: dict[int, list[str]] = {0: [], 1: []}
    for event in events:
        if event["type"] == "content_block_delta":
            fragments[event["index"]].append(event["delta"]["partial_json"])
    assert all(fragments[0]) and all(fragments[1])
    assert "\\u00" in fragments[1]
    assert json.loads("".join(fragments[1]))["note"] == "café"
    assert json.loads("".join(fragments[0])) == {"city": "Edinburgh", "country": "GB"}


def test_late_fragment_for_a_closed_tool_is_emitted_with_that_tools_block_index() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk(tool(0, "{", "call_a", "f")))
    translator.feed(chunk(tool(1, "{}", "call_b", "g")))
    assert translator.feed(chunk(tool(0, "}"))) == [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "}"},
        }
    ]


def test_chunk_of_a_second_choice_is_ignored() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    second = chunk()
    second["choices"] = [{"index": 1, "delta": {"content": "x"}, "finish_reason": "length"}]
    assert [event["type"] for event in translator.feed(second)] == ["message_start"]
    assert not translator.has_content
    assert not translator.saw_finish_reason


# --------------------------------------------------------------------------- lifecycle


def test_start_emits_message_start_once_with_the_configured_model() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert not translator.started
    [event] = translator.start()
    assert event["message"]["model"] == MODEL
    assert translator.started
    assert translator.start("other") == []
    # A later chunk does not rename the message it already announced.
    assert translator.feed(chunk({"content": "x"}))[0]["type"] == "content_block_start"
    assert translator.message()["model"] == MODEL
    assert translator.response_model == "upstream-model"


def test_start_with_a_model_overrides_the_configured_one() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert translator.start("explicit")[0]["message"]["model"] == "explicit"


def test_finish_reason_is_held_back_until_finish() -> None:
    """Quirk 1: the usage chunk follows the finish chunk, so message_delta waits for finish()."""
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk({"content": "x"}))
    assert translator.feed(chunk({}, "stop")) == []
    assert translator.saw_finish_reason
    assert translator.stop_reason == "end_turn"
    assert translator.feed(usage_chunk(7, 3)) == []
    assert translator.usage == usage_chunk(7, 3)["usage"]
    events = translator.finish()
    assert [e["type"] for e in events] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[1]["usage"] == usage(7, 3)


def test_finish_without_any_chunk_still_makes_a_complete_message() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    events = translator.finish()
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]
    assert events[1]["delta"]["stop_reason"] == "end_turn"
    assert events[1]["usage"] == usage()
    assert translator.finished


def test_finish_is_idempotent_and_later_chunks_are_ignored() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk({"content": "x"}, "stop"))
    assert translator.finish()
    assert translator.finish() == []
    assert translator.feed(chunk({"content": "more"})) == []
    assert translator.message()["content"] == [text("x")]


def test_error_event_ends_the_stream_so_finish_returns_nothing() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk({"content": "x"}))
    assert translator.error("overloaded_error", "busy") == [
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    ]
    assert translator.finished
    assert translator.finish() == []
    assert translator.error("api_error", "again") == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param({"message": "model overloaded", "code": 503}, "model overloaded", id="object"),
        pytest.param("boom", "boom", id="string"),
        pytest.param({"code": 500}, '"code": 500', id="object_without_message"),
    ],
)
def test_error_chunk_raises_upstream_error_with_its_message(error: Any, message: str) -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk({"content": "x"}))
    with pytest.raises(UpstreamError, match=message):
        translator.feed({"error": error})


# --------------------------------------------------------------------------- read-only views


def test_properties_follow_the_stream() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    assert (translator.usage, translator.response_model, translator.stop_reason) == (
        None,
        None,
        None,
    )
    translator.feed(chunk({"role": "assistant", "content": ""}))
    assert translator.started and not translator.has_content
    translator.feed(chunk({"content": "Looking."}))
    assert translator.has_content
    translator.feed(chunk(tool(0, "", "call_1", "Read")))
    translator.feed(chunk(tool(1, '{"x":1}', "call_2", "Grep")))
    assert translator.tool_calls == 2
    assert not translator.saw_finish_reason and translator.stop_reason is None
    translator.feed(chunk({}, "tool_calls"))
    translator.finish()
    assert translator.stop_reason == "tool_use"
    assert translator.message()["content"] == [
        text("Looking."),
        tool_use("call_1", "Read", {}),
        tool_use("call_2", "Grep", {"x": 1}),
    ]


def test_message_keeps_arguments_that_do_not_parse_for_the_log() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    translator.feed(chunk(tool(0, '{"x": ', "call_1", "f")))
    assert translator.message()["content"][0]["input"] == {"_raw_arguments": '{"x": '}


def test_tool_call_without_an_id_gets_one_derived_from_the_message_id() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    events = translator.feed(
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]})
    )
    assert events[1]["content_block"]["id"] == f"call_0_{MESSAGE_ID}"  # as response.py does


def test_tool_arguments_sent_as_an_object_are_forwarded_as_json_text() -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": {"é": 1}}}
    events = translator.feed(chunk({"tool_calls": [call]}))
    assert events[-1]["delta"] == {"type": "input_json_delta", "partial_json": '{"é":1}'}


@pytest.mark.parametrize(
    "choices",
    [
        pytest.param(None, id="choices_null"),
        pytest.param(["x"], id="choice_not_an_object"),
        pytest.param([{"index": 0, "delta": None}], id="delta_null"),
        pytest.param([{"index": 0, "delta": {"tool_calls": None}}], id="tool_calls_null"),
        pytest.param([{"index": 0, "delta": {"tool_calls": [None, "x"]}}], id="bad_tool_calls"),
        pytest.param([{"index": 0, "delta": {}, "finish_reason": 7}], id="finish_reason_number"),
    ],
)
def test_malformed_chunk_parts_are_skipped_rather_than_fatal(choices: Any) -> None:
    translator = StreamTranslator(message_id=MESSAGE_ID, model=MODEL)
    malformed = chunk()
    malformed["choices"] = choices
    assert [event["type"] for event in translator.feed(malformed)] == ["message_start"]
    assert not translator.has_content and not translator.saw_finish_reason
