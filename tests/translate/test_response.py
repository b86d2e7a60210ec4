"""OpenAI chat completion (non-streaming) -> Anthropic Message, and the shared helpers."""

from __future__ import annotations

import copy
from typing import Any

import anthropic
import pytest

from claude_gw.errors import UpstreamError
from claude_gw.translate.response import (
    completion_chunks,
    map_finish_reason,
    openai_to_anthropic,
    parse_tool_arguments,
    usage_to_anthropic,
)
from claude_gw.translate.stream import StreamTranslator

MESSAGE_ID = "msg_test0001"
ZERO_USAGE = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}


def completion(message: dict[str, Any], finish_reason: str | None = "stop", **extra: Any) -> Any:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-5-mini-2025-08-07",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        **extra,
    }


def translate(resp: Any, **kwargs: Any) -> dict[str, Any]:
    return dict(openai_to_anthropic(resp, message_id=MESSAGE_ID, **kwargs))


def call(name: str, arguments: Any, call_id: str | None = "call_1") -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"type": "function", "function": function} | ({"id": call_id} if call_id else {})


def test_nonstream_tools_fixture_becomes_two_tool_use_blocks(wire_json: Any) -> None:
    resp = wire_json("openai-chat-nonstream-tools.json")
    before = copy.deepcopy(resp)
    message = translate(resp)
    assert resp == before
    assert message == {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": "gpt-5-mini-2025-08-07",
        "content": [
            {
                "type": "tool_use",
                "id": "call_INVENTEDweather00000003",
                "name": "get_weather",
                "input": {"city": "Edinburgh", "country": "GB"},
            },
            {
                "type": "tool_use",
                "id": "call_INVENTEDstock000000004",
                "name": "get_stock_price",
                "input": {"ticker": "AAPL", "exchange": "NASDAQ"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 312,
            "output_tokens": 187,  # reasoning tokens (128) are already inside
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def test_translated_message_is_accepted_by_the_anthropic_sdk(wire_json: Any) -> None:
    resp = wire_json("openai-chat-nonstream-tools.json")
    resp["choices"][0]["message"] |= {"content": "Checking.", "reasoning_content": "plan"}
    message = anthropic.types.Message.model_validate(translate(resp))
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use", "tool_use"]


def test_model_argument_replaces_the_upstream_model_name(wire_json: Any) -> None:
    resp = wire_json("openai-chat-nonstream-tools.json")
    assert translate(resp, model="claude-haiku-5-5")["model"] == "claude-haiku-5-5"


@pytest.mark.parametrize(
    ("message", "finish_reason", "content", "stop_reason"),
    [
        pytest.param(
            {"role": "assistant", "content": "Hello.", "refusal": None},
            "stop",
            [{"type": "text", "text": "Hello."}],
            "end_turn",
            id="text_only",
        ),
        pytest.param(
            {"role": "assistant", "content": "Hel"},
            "length",
            [{"type": "text", "text": "Hel"}],
            "max_tokens",
            id="length_is_max_tokens",
        ),
        pytest.param(
            {"role": "assistant", "content": "", "reasoning_content": "Think first."},
            "stop",
            [{"type": "thinking", "thinking": "Think first.", "signature": ""}],
            "end_turn",
            id="reasoning_content_becomes_thinking",
        ),
        pytest.param(
            {"role": "assistant", "content": "Hi.", "reasoning": "Think."},
            "stop",
            [
                {"type": "thinking", "thinking": "Think.", "signature": ""},
                {"type": "text", "text": "Hi."},
            ],
            "end_turn",
            id="openrouter_reasoning_becomes_leading_thinking",
        ),
        pytest.param(
            {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            "stop",
            [{"type": "text", "text": "I can't help with that."}],
            "refusal",
            id="refusal",
        ),
        pytest.param(
            {"role": "assistant", "content": None},
            "content_filter",
            [],
            "refusal",
            id="content_filter",
        ),
        pytest.param(
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            "stop",
            [{"type": "text", "text": "ab"}],
            "end_turn",
            id="content_parts_list",
        ),
        pytest.param(
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [call("Read", '{"p":1}')],
            },
            "stop",
            [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"p": 1}},
            ],
            "tool_use",
            id="compatible_server_says_stop_after_a_tool_call",
        ),
        pytest.param(
            {"role": "assistant", "tool_calls": [call("Read", "")]},
            "tool_calls",
            [{"type": "tool_use", "id": "call_1", "name": "Read", "input": {}}],
            "tool_use",
            id="empty_arguments_are_an_empty_object",
        ),
        pytest.param(
            {"role": "assistant", "tool_calls": [call("Read", {"p": 2})]},
            "tool_calls",
            [{"type": "tool_use", "id": "call_1", "name": "Read", "input": {"p": 2}}],
            "tool_use",
            id="arguments_sent_as_an_object",
        ),
        pytest.param(
            {"role": "assistant", "tool_calls": [call("Read", '{"p":', call_id=None)]},
            "tool_calls",
            [
                {
                    "type": "tool_use",
                    "id": f"call_0_{MESSAGE_ID}",
                    "name": "Read",
                    "input": {"_raw_arguments": '{"p":'},
                }
            ],
            "tool_use",
            id="missing_id_and_broken_arguments",
        ),
    ],
)
def test_choice_message_becomes_content_blocks_and_stop_reason(
    message: dict[str, Any], finish_reason: str, content: list[Any], stop_reason: str
) -> None:
    translated = translate(completion(message, finish_reason))
    assert translated["content"] == content
    assert translated["stop_reason"] == stop_reason
    assert translated["stop_sequence"] is None


@pytest.mark.parametrize(
    ("finish_reason", "has_tool_calls", "expected"),
    [
        pytest.param("stop", False, "end_turn", id="stop"),
        pytest.param("length", False, "max_tokens", id="length"),
        pytest.param("tool_calls", True, "tool_use", id="tool_calls"),
        pytest.param("function_call", True, "tool_use", id="function_call"),
        pytest.param("content_filter", False, "refusal", id="content_filter"),
        pytest.param(None, False, "end_turn", id="none_without_tools"),
        pytest.param(None, True, "tool_use", id="none_with_tools"),
        pytest.param("stop", True, "tool_use", id="stop_with_tools"),
        pytest.param("length", True, "max_tokens", id="length_with_tools_was_cut"),
        pytest.param("content_filter", True, "refusal", id="content_filter_with_tools"),
        pytest.param("eos", False, "end_turn", id="unknown_without_tools"),
        pytest.param("eos", True, "tool_use", id="unknown_with_tools"),
    ],
)
def test_finish_reason_maps_to_stop_reason(
    finish_reason: str | None, has_tool_calls: bool, expected: str
) -> None:
    assert map_finish_reason(finish_reason, has_tool_calls=has_tool_calls) == expected


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, ZERO_USAGE, id="none"),
        pytest.param({}, ZERO_USAGE, id="empty"),
        pytest.param(
            {
                "prompt_tokens": 2000,
                "completion_tokens": 300,
                "total_tokens": 2300,
                "prompt_tokens_details": {"cached_tokens": 1536},
                "completion_tokens_details": {"reasoning_tokens": 256},
            },
            {
                "input_tokens": 464,
                "output_tokens": 300,
                "cache_read_input_tokens": 1536,
                "cache_creation_input_tokens": 0,
            },
            id="cached_tokens_move_out_of_input",
        ),
        pytest.param(
            {"prompt_tokens": 50, "completion_tokens": 7, "prompt_tokens_details": None},
            {**ZERO_USAGE, "input_tokens": 50, "output_tokens": 7},
            id="details_null",
        ),
        pytest.param(
            {"prompt_tokens": 50, "completion_tokens": 7, "prompt_cache_hit_tokens": 32},
            {**ZERO_USAGE, "input_tokens": 18, "output_tokens": 7, "cache_read_input_tokens": 32},
            id="deepseek_cache_hit_tokens",
        ),
        pytest.param(
            {"prompt_tokens": "many", "completion_tokens": -3},
            ZERO_USAGE,
            id="nonsense_counts_are_zero",
        ),
    ],
)
def test_usage_to_anthropic(usage: Any, expected: dict[str, int]) -> None:
    assert usage_to_anthropic(usage) == expected


def test_completion_usage_is_translated_with_cached_tokens() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 64},
    }
    translated = translate(completion({"role": "assistant", "content": "x"}, usage=usage))
    assert translated["usage"] == {
        "input_tokens": 36,
        "output_tokens": 9,
        "cache_read_input_tokens": 64,
        "cache_creation_input_tokens": 0,
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param('{"a":[1,2]}', {"a": [1, 2]}, id="object"),
        pytest.param("", {}, id="empty"),
        pytest.param("  \n", {}, id="whitespace"),
        pytest.param('{"a":', {"_raw_arguments": '{"a":'}, id="invalid_json"),
        pytest.param("[1]", {"_raw_arguments": "[1]"}, id="not_an_object"),
    ],
)
def test_tool_arguments_are_parsed_into_an_object(arguments: str, expected: dict[str, Any]) -> None:
    assert parse_tool_arguments(arguments) == expected


@pytest.mark.parametrize(
    ("resp", "message"),
    [
        pytest.param([], "upstream answer is not a chat completion: list", id="not_an_object"),
        pytest.param(
            {"object": "list", "data": []},
            "upstream answer is not a chat completion: it has no choices",
            id="no_choices",
        ),
        pytest.param(
            completion({}) | {"choices": []},
            "upstream answer is not a chat completion: it has no choices",
            id="empty_choices",
        ),
        pytest.param(
            completion({}) | {"choices": [{"index": 0, "finish_reason": "stop"}]},
            "upstream answer is not a chat completion: choice 0 has no message",
            id="choice_without_message",
        ),
        pytest.param(
            {"error": {"message": "model overloaded", "code": 503}},
            "upstream answered with an error instead of a completion: model overloaded",
            id="error_body_with_status_200",
        ),
        pytest.param(
            completion({"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}),
            "upstream tool call 0 has no function name",
            id="tool_call_without_name",
        ),
    ],
)
def test_answer_that_is_not_a_completion_is_an_upstream_error(resp: Any, message: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        translate(resp)
    assert caught.value.message == message
    assert caught.value.http_status == 502


# llama-cpp-python's answer to `tool_choice: auto` when its model calls a tool (0.3.36): content
# null, the legacy `function_call` next to `tool_calls`, ids built from the completion id.
LLAMA_TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call__0_Read_cmpl-1",
            "type": "function",
            "function": {"name": "Read", "arguments": '{"file_path": "/tmp/notes.txt"}'},
        }
    ],
    "function_call": {"name": "Read", "arguments": '{"file_path": "/tmp/notes.txt"}'},
}


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(completion({"role": "assistant", "content": "Hi."}), id="text"),
        pytest.param(completion(LLAMA_TOOL_CALL, "tool_calls"), id="llama_tool_call"),
        pytest.param(
            completion(
                {"role": "assistant", "reasoning_content": "Hmm.", "content": "Hi."}, "length"
            ),
            id="thinking_then_text_cut",
        ),
        pytest.param(
            {**completion({"role": "assistant", "content": "Hi."}), "usage": None},
            id="no_usage",
        ),
    ],
)
def test_completion_chunks_stream_the_same_message(answer):
    translator = StreamTranslator(message_id=MESSAGE_ID, model="m")
    chunks = completion_chunks(answer)
    for chunk in chunks:
        translator.feed(chunk)
    translator.finish()
    streamed, whole = translator.message(), translate(answer)
    assert streamed["content"] == whole["content"]
    assert streamed["stop_reason"] == whole["stop_reason"]
    assert translator.usage == answer["usage"]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)


def test_completion_chunks_of_what_is_not_a_completion_fail_as_the_translation_does():
    with pytest.raises(UpstreamError, match="no choices"):
        completion_chunks({"object": "chat.completion", "choices": []})
