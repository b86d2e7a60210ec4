"""Anthropic request -> Responses request, Response -> Anthropic message, reasoning signatures.

The request side reuses the chat translator's validation, so its INVALID table and its mangled
requests are run here too: both upstream APIs accept and reject exactly the same requests.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
from pathlib import Path
from typing import Any, cast

import pytest

from claude_gw.errors import InvalidRequest, UpstreamError
from claude_gw.translate.models import TargetModel
from claude_gw.translate.request import anthropic_to_openai, user_tag
from claude_gw.translate.responses import (
    anthropic_to_responses,
    decode_reasoning_signature,
    encode_reasoning_signature,
    responses_to_anthropic,
    responses_usage_to_chat,
)
from claude_gw.translate.sse import SSEDecoder
from claude_gw.wire import AnthropicRequest
from tests.translate.conftest import CliRequest
from tests.translate.test_request import (
    INVALID,
    PNG,
    SCHEMA,
    mutate,
    request,
    result,
    rich_request,
    tool,
    tool_turn,
)

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
REASONING = TargetModel("gpt-5-mini", reasoning=True)
PLAIN = TargetModel("gpt-4o", reasoning=False)
MESSAGE_ID = "msg_test0001"
BILLING = "x-anthropic-billing-header"
RESPONSES_KEYS = {
    "model",
    "instructions",
    "input",
    "store",
    "include",
    "reasoning",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_output_tokens",
    "temperature",
    "top_p",
    "safety_identifier",
    "text",
    "max_tool_calls",
    "stream",
    "stream_options",
}
ITEM = {
    "id": "rs_1",
    "type": "reasoning",
    "encrypted_content": "gAAAA-opaque==",
    "summary": [{"type": "summary_text", "text": "Thinking about it."}],
}


def translate(req: Any, target: TargetModel = REASONING) -> dict[str, Any]:
    return anthropic_to_responses(req, target=target)


def answer(resp: Any, **kwargs: Any) -> dict[str, Any]:
    return dict(responses_to_anthropic(resp, message_id=MESSAGE_ID, **kwargs))


def stream_events(name: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    data = (WIRE / name).read_bytes()
    return [json.loads(event.data) for event in decoder.feed(data) + decoder.flush()]


def fixture_response() -> dict[str, Any]:
    """The complete Response of the stream fixture (its `response.completed` event)."""
    [last] = [e for e in stream_events("openai-responses-stream-tools.sse") if "response" in e][-1:]
    response: dict[str, Any] = last["response"]
    return response


def response(*output: Any, status: str = "completed", **extra: Any) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    base = {"id": "resp_1", "object": "response", "model": "gpt-5-mini", "usage": usage}
    return {**base, "status": status, "output": list(output), **extra}


def text_item(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "content": list(parts)}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def call_item(arguments: str, call_id: str | None = "call_1", name: str = "f") -> dict[str, Any]:
    item = {"id": "fc_1", "type": "function_call", "name": name, "arguments": arguments}
    return item | ({"call_id": call_id} if call_id else {})


def thinking(item: dict[str, Any], text: str = "t") -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": encode_reasoning_signature(item)}


def assistant(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": list(blocks)}]


def tool_use(call_id: str = "toolu_0") -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "Read", "input": {"path": "/f"}}


def message(role: str, content: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content}


def reply(*texts: str) -> dict[str, Any]:
    return message("assistant", [output_text(text) for text in texts])


def function_call(call_id: str = "toolu_0") -> dict[str, Any]:
    arguments = '{"path":"/f"}'
    return {"type": "function_call", "call_id": call_id, "name": "Read", "arguments": arguments}


def usage(inp: int = 0, out: int = 0, read: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": 0,
    }


# --------------------------------------------------------------------------- captured CLI requests


def test_cli_request_translates_to_json_without_touching_its_input(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    before = copy.deepcopy(body)
    out = translate(body)
    assert body == before
    json.dumps(out, allow_nan=False)
    assert set(out) <= RESPONSES_KEYS
    assert (out["model"], out["store"]) == (REASONING.name, False)
    assert out["include"][0] == "reasoning.encrypted_content"
    assert out["include"][1:] == (
        ["web_search_call.action.sources"] if "websearch" in cli_messages_request.name else []
    )


def test_cli_request_sends_the_system_prompt_as_instructions_without_the_billing_header(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    out = translate(body)
    kept = [b["text"] for b in body["system"] if not b["text"].startswith(BILLING)]
    assert out["instructions"] == "\n\n".join(kept)
    assert BILLING not in json.dumps(out)


def expected_items(messages: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(type, role) of the items each message should give, for requests without thinking."""
    found: list[tuple[str, str | None]] = []
    for entry in messages:
        content = entry["content"]
        blocks = [{"type": "text"}] if isinstance(content, str) else content
        kinds = [block["type"] for block in blocks]
        if entry["role"] == "system":
            found.append(("message", "developer"))
        elif entry["role"] == "user":
            found += [("function_call_output", None)] * kinds.count("tool_result")
            found += [("message", "user")] if set(kinds) - {"tool_result"} else []
        else:
            found += [("message", "assistant")] if "text" in kinds else []
            found += [("function_call", None)] * kinds.count("tool_use")
    return found


def test_cli_request_input_items_follow_the_messages(cli_messages_request: CliRequest) -> None:
    body = cli_messages_request.body
    items = translate(body)["input"]
    assert [(item["type"], item.get("role")) for item in items] == expected_items(body["messages"])
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    system = [s if isinstance(s, str) else "\n\n".join(b["text"] for b in s) for s in system]
    assert [item["content"] for item in items if item.get("role") == "developer"] == system


def test_cli_request_maps_the_parameters_the_chat_translator_maps(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    out = translate(body)
    chat: dict[str, Any] = dict(anthropic_to_openai(cast(AnthropicRequest, body), target=REASONING))
    # the functions; the web search tools that follow them are test_responses_search's
    tools = [t for t in out.get("tools", []) if t["type"] == "function"]
    chat_tools = chat.get("tools", [])
    assert [t["name"] for t in tools] == [t["function"]["name"] for t in chat_tools]
    assert [t["parameters"] for t in tools] == [t["function"]["parameters"] for t in chat_tools]
    assert all(t["type"] == "function" and t["strict"] is False for t in tools)
    assert "$schema" not in json.dumps(tools)
    assert out["max_output_tokens"] == body["max_tokens"]
    assert out["reasoning"] == {"effort": chat["reasoning_effort"], "summary": "auto"}
    assert out["safety_identifier"] == chat["user"] == user_tag(body["metadata"]["user_id"])
    if body["stream"]:
        assert (out["stream"], out["stream_options"]) == (True, {"include_obfuscation": False})
    else:
        assert "stream" not in out and "stream_options" not in out


def test_cli_tool_round_trip_sends_the_bash_call_then_its_output(cli_body: Any) -> None:
    out = translate(cli_body("messages_tool_result_followup"))
    assert out["input"][-3:] == [
        reply("Running it."),
        {
            "type": "function_call",
            "call_id": "toolu_d42259b6197f4c74a0b7b1ad",
            "name": "Bash",
            "arguments": '{"command":"echo hello-from-tool","description":"Print a greeting"}',
        },
        {
            "type": "function_call_output",
            "call_id": "toolu_d42259b6197f4c74a0b7b1ad",
            "output": "hello-from-tool",
        },
    ]


def test_cli_toolsearch_tool_references_become_text_output(cli_body: Any) -> None:
    out = translate(cli_body("messages_toolsearch_tool_reference"))
    [output] = [item for item in out["input"] if item["type"] == "function_call_output"]
    assert output["output"] == "Tool loaded: WebFetch\n\nTool loaded: NotebookEdit"
    assert "DeferredToolPlaceholder" not in [t["name"] for t in out["tools"]]


# --------------------------------------------------------------------------- two turns


def test_reasoning_item_round_trips_through_a_thinking_block_into_the_next_request(
    wire_json: Any,
) -> None:
    """Turn 1's Response -> Anthropic message -> turn 2's request, as in the request fixture."""
    first = fixture_response()
    reasoning_item = first["output"][0]
    content = answer(first)["content"]
    assert [block["type"] for block in content] == ["thinking", "text", "tool_use"]
    expected = wire_json("openai-responses-request.json")
    tool_result = {
        "type": "tool_result",
        "tool_use_id": content[2]["id"],
        "content": expected["input"][4]["output"],
    }
    follow_up = {
        "model": "claude-opus-5-5",
        "max_tokens": 4096,
        "system": "You are a helpful assistant.",
        "messages": [
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": content},
            {"role": "user", "content": [tool_result]},
        ],
    }
    out = translate(follow_up)
    assert out["instructions"] == expected["instructions"]
    assert out["input"][1] == reasoning_item == expected["input"][1]  # sent back unchanged
    assert out["input"][3:] == expected["input"][3:]  # the function_call, then its output
    assert out["input"][0] == message("user", expected["input"][0]["content"])
    without_phase = {k: v for k, v in expected["input"][2].items() if k != "phase"}
    assert out["input"][2] == without_phase


# --------------------------------------------------------------------------- request rules


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        pytest.param("Be brief.", "Be brief.", id="string"),
        pytest.param(
            [{"type": "text", "text": f"{BILLING}: cc=1;"}, {"type": "text", "text": "A"}],
            "A",
            id="billing_header_block_dropped",
        ),
        pytest.param(None, None, id="absent"),
        pytest.param([{"type": "text", "text": f"{BILLING}: x"}], None, id="only_billing_header"),
    ],
)
def test_system_prompt_becomes_instructions(system: Any, expected: str | None) -> None:
    out = translate(request(system=system) if system is not None else request())
    assert out.get("instructions") == expected
    assert [item["role"] for item in out["input"]] == ["user"]


@pytest.mark.parametrize(
    ("target", "role"),
    [
        pytest.param(REASONING, "developer", id="reasoning"),
        pytest.param(PLAIN, "system", id="plain"),
    ],
)
def test_role_system_message_becomes_a_developer_or_system_message(
    target: TargetModel, role: str
) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "system",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        },
    ]
    assert translate(request(messages=messages), target)["input"][1] == message(role, "a\n\nb")


def test_system_message_between_a_call_and_its_output_moves_below_the_outputs() -> None:
    messages = tool_turn(result("a"), result("b", call="toolu_1"), calls=2)
    messages.insert(2, {"role": "system", "content": "[Truncated: PARTIAL view]"})
    messages.append({"role": "system", "content": "later"})
    items = translate(request(messages=messages))["input"]
    assert [(item["type"], item.get("content", item.get("output"))) for item in items[1:]] == [
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", "a"),
        ("function_call_output", "b"),
        ("message", "[Truncated: PARTIAL view]"),
        ("message", "later"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("hi", "hi", id="string"),
        pytest.param(
            [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {}}],
            "a\n\nb",
            id="text_blocks_joined_by_a_blank_line",
        ),
        pytest.param(
            [{"type": "text", "text": "look"}, {"type": "image", "source": PNG}],
            [
                {"type": "input_text", "text": "look"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,iVBORw0KGgo=",
                    "detail": "auto",
                },
            ],
            id="image_base64",
        ),
        pytest.param(
            [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}],
            [{"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}],
            id="image_url",
        ),
    ],
)
def test_user_content_becomes_a_string_or_input_parts(content: Any, expected: Any) -> None:
    items = translate(request(messages=[{"role": "user", "content": content}]))["input"]
    assert items == [message("user", expected)]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(result("out"), "out", id="string"),
        pytest.param(result("bad", is_error=True), "Error: bad", id="is_error_prefix"),
        pytest.param(result(""), "(empty result)", id="empty"),
        pytest.param(
            result([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
            "a\n\nb",
            id="text_blocks",
        ),
        pytest.param(
            result([{"type": "tool_reference", "tool_name": "WebFetch"}]),
            "Tool loaded: WebFetch",
            id="tool_reference",
        ),
    ],
)
def test_tool_result_becomes_a_function_call_output(block: dict[str, Any], expected: str) -> None:
    items = translate(request(messages=tool_turn(block)))["input"]
    assert items[-1] == {"type": "function_call_output", "call_id": "toolu_0", "output": expected}


def test_images_in_a_tool_result_follow_in_a_user_message_naming_the_call() -> None:
    image = {"type": "image", "source": PNG}
    block = result([{"type": "text", "text": "shot"}, image])
    items = translate(request(messages=tool_turn(block, {"type": "text", "text": "next"})))["input"]
    output, user = items[-2:]
    assert (
        output["output"] == "shot\n\n[1 image(s) from this result follow in the next user message]"
    )
    assert user == message(
        "user",
        [
            {
                "type": "input_text",
                "text": "The result of tool call toolu_0 (Read) included these images:",
            },
            {
                "type": "input_image",
                "image_url": "data:image/png;base64,iVBORw0KGgo=",
                "detail": "auto",
            },
            {"type": "input_text", "text": "next"},
        ],
    )


FOREIGN = {"type": "thinking", "thinking": "hmm", "signature": "EqQBCkgIARABGAIiQL2sig"}
OTHER = {**ITEM, "id": "rs_2", "encrypted_content": "second"}


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param(
            [
                {"type": "text", "text": "a"},
                {"type": "text", "text": ""},
                {"type": "text", "text": "b"},
            ],
            [reply("a", "b")],
            id="text_blocks_share_one_message_and_empty_ones_are_left_out",
        ),
        pytest.param([tool_use()], [function_call()], id="tool_use_only"),
        pytest.param(
            [thinking(ITEM), {"type": "text", "text": "a"}, tool_use()],
            [ITEM, reply("a"), function_call()],
            id="thinking_with_our_signature_is_sent_back_in_place",
        ),
        pytest.param(
            [thinking(ITEM), tool_use("toolu_0"), thinking(OTHER), tool_use("toolu_1")],
            [ITEM, function_call("toolu_0"), OTHER, function_call("toolu_1")],
            id="interleaved_reasoning_keeps_its_order",
        ),
        pytest.param(
            [FOREIGN, {"type": "redacted_thinking", "data": "x"}, {"type": "text", "text": "a"}],
            [reply("a")],
            id="foreign_and_redacted_thinking_dropped",
        ),
        pytest.param(
            [{"type": "thinking", "thinking": "no signature"}, tool_use()],
            [function_call()],
            id="thinking_without_signature_dropped",
        ),
        pytest.param(
            [{"type": "text", "text": "a"}, thinking(ITEM)],
            [reply("a")],
            id="reasoning_that_nothing_follows_is_dropped",
        ),
        pytest.param([thinking(ITEM)], [], id="thinking_only_message_gives_no_item"),
    ],
)
def test_assistant_blocks_become_items_in_order(blocks: Any, expected: Any) -> None:
    items = translate(request(messages=assistant(*blocks)))["input"]
    assert items[1:] == expected


def test_tools_are_flat_non_strict_functions() -> None:
    bare = {"name": "Bare", "input_schema": {"type": "object", "$schema": "x"}}
    tools = [tool("Read", defer_loading=True, cache_control={}), bare]
    out = translate(request(tools=tools))
    assert out["tools"] == [
        {
            "type": "function",
            "name": "Read",
            "description": "Read it",
            "parameters": SCHEMA,
            "strict": False,
        },
        {"type": "function", "name": "Bare", "parameters": {"type": "object"}, "strict": False},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        pytest.param({"type": "auto"}, {"tool_choice": "auto"}, id="auto"),
        pytest.param({"type": "any"}, {"tool_choice": "required"}, id="any_is_required"),
        pytest.param({"type": "none"}, {"tool_choice": "none"}, id="none"),
        pytest.param(
            {"type": "tool", "name": "Read"},
            {"tool_choice": {"type": "function", "name": "Read"}},
            id="tool_is_a_flat_function_choice",
        ),
        pytest.param(
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
            id="disable_parallel_tool_use",
        ),
    ],
)
def test_tool_choice_maps_to_the_responses_shape(choice: Any, expected: dict[str, Any]) -> None:
    out = translate(request(tools=[tool("Read")], tool_choice=choice))
    assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


@pytest.mark.parametrize(
    ("fields", "reasoning"),
    [
        pytest.param({}, {"summary": "auto"}, id="no_effort_still_asks_for_summaries"),
        pytest.param(
            {"output_config": {"effort": "max"}},
            {"effort": "high", "summary": "auto"},
            id="output_config_effort",
        ),
        pytest.param(
            {"thinking": {"type": "adaptive"}},
            {"effort": "medium", "summary": "auto"},
            id="adaptive_thinking",
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 1024}, "temperature": 0.2},
            {"effort": "low", "summary": "auto"},
            id="budget_and_temperature_dropped",
        ),
    ],
)
def test_reasoning_targets_get_effort_summaries_and_encrypted_content(
    fields: dict[str, Any], reasoning: dict[str, str]
) -> None:
    out = translate(request(**fields))
    assert out["reasoning"] == reasoning
    assert out["include"] == ["reasoning.encrypted_content"]
    assert "temperature" not in out and "top_p" not in out


def test_plain_targets_keep_sampling_and_get_no_reasoning() -> None:
    fields = {"temperature": 0.2, "top_p": 0.9, "output_config": {"effort": "high"}}
    out = translate(request(**fields), PLAIN)
    assert (out["temperature"], out["top_p"]) == (0.2, 0.9)
    assert "reasoning" not in out and "include" not in out
    assert out["store"] is False


def test_stop_sequences_are_dropped_because_responses_has_no_stop() -> None:
    assert set(translate(request(stop_sequences=["END"]))) == {
        "model",
        "input",
        "store",
        "max_output_tokens",
        "reasoning",
        "include",
    }


def test_user_id_becomes_the_same_short_hash_as_safety_identifier() -> None:
    out = translate(request(metadata={"user_id": "a-long-json-user-id"}))
    assert out["safety_identifier"] == user_tag("a-long-json-user-id")
    assert re.fullmatch(r"cgw-[0-9a-f]{24}", out["safety_identifier"])
    assert "user" not in out
    assert "safety_identifier" not in translate(request(metadata={}))


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(True, {"stream": True, "stream_options": {"include_obfuscation": False}}),
        pytest.param(False, {}, id="false"),
        pytest.param(None, {}, id="absent"),
    ],
)
def test_stream_turns_obfuscation_off(stream: Any, expected: dict[str, Any]) -> None:
    out = translate(request(stream=stream) if stream is not None else request())
    assert {k: out[k] for k in ("stream", "stream_options") if k in out} == expected


@pytest.mark.parametrize(("req", "problem"), INVALID)
def test_invalid_request_is_rejected_as_the_chat_translator_rejects_it(
    req: Any, problem: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(req)
    assert caught.value.message == problem


def test_mangled_requests_raise_only_invalid_request_and_are_never_mutated() -> None:
    rng = random.Random(20261126)
    outcomes = {"translated": 0, "rejected": 0}
    for _ in range(2000):
        doc = rich_request()
        doc["messages"][4]["content"].insert(0, thinking(ITEM))  # a reasoning item to send back
        mutate(doc, rng)
        before = copy.deepcopy(doc)
        try:
            out = translate(doc, rng.choice([REASONING, PLAIN]))
        except InvalidRequest as error:
            assert re.match(r"^[\w.$]+: \S", error.message), error.message
            outcomes["rejected"] += 1
        else:
            json.dumps(out, allow_nan=False)
            outcomes["translated"] += 1
        assert doc == before
    assert min(outcomes.values()) > 200, outcomes  # both branches were really exercised


# --------------------------------------------------------------------------- signatures


def test_signature_round_trips_the_reasoning_item() -> None:
    signature = encode_reasoning_signature(ITEM)
    assert re.fullmatch(r"cgw1\.[A-Za-z0-9_-]+", signature)
    assert decode_reasoning_signature(signature) == ITEM


def test_signature_keeps_only_what_the_next_request_needs() -> None:
    item = {**ITEM, "status": "completed", "content": None}
    assert decode_reasoning_signature(encode_reasoning_signature(item)) == ITEM


def test_item_without_encrypted_content_gets_an_empty_signature() -> None:
    assert encode_reasoning_signature({"id": "rs_1", "type": "reasoning", "summary": []}) == ""


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
        pytest.param(5, id="number"),
        pytest.param("EqQBCkgIARABGAIiQL2sigANTHROPIC", id="anthropic_signature"),
        pytest.param("cgw1.", id="prefix_only"),
        pytest.param("cgw1.!!!!", id="not_base64"),
        pytest.param("cgw1.é", id="not_ascii"),
        pytest.param("cgw1." + b64(b"\xff\xfe"), id="not_utf8"),
        pytest.param("cgw1." + b64("{not json"), id="not_json"),
        pytest.param("cgw1." + b64("[1]"), id="not_an_object"),
        pytest.param("cgw1." + b64('{"id":"rs","summary":[]}'), id="no_encrypted_content"),
        pytest.param("cgw1." + b64('{"encrypted_content":"e","summary":[]}'), id="no_id"),
        pytest.param("cgw1." + b64('{"id":"rs","encrypted_content":"e","summary":"s"}'), id="sum"),
        pytest.param("cgw1." + b64('{"id":"rs","encrypted_content":"e","summary":[1]}'), id="p"),
        pytest.param("cgw2." + encode_reasoning_signature(ITEM)[5:], id="other_version"),
    ],
)
def test_foreign_or_corrupt_signature_decodes_to_none(signature: Any) -> None:
    assert decode_reasoning_signature(signature) is None


# --------------------------------------------------------------------------- the answer


def test_fixture_response_becomes_thinking_text_and_tool_use() -> None:
    resp = fixture_response()
    before = copy.deepcopy(resp)
    out = answer(resp)
    assert resp == before
    signature = out["content"][0]["signature"]
    assert decode_reasoning_signature(signature) == resp["output"][0]
    assert out == {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": "gpt-5-mini-2025-08-07",
        "content": [
            {
                "type": "thinking",
                "thinking": "**Checking the weather**\n\nThe user wants the weather in Paris; "
                "I should call get_weather with unit c.",
                "signature": signature,
            },
            {"type": "text", "text": "Let me check the weather in Paris."},
            {
                "type": "tool_use",
                "id": "call_INVENTEDweather000000001",
                "name": "get_weather",
                "input": {"city": "Paris", "unit": "c"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": usage(inp=2200 - 1920, out=180, read=1920),
    }


def incomplete(reason: str, *output: dict[str, Any]) -> dict[str, Any]:
    return response(*output, status="incomplete", incomplete_details={"reason": reason})


@pytest.mark.parametrize(
    ("resp", "content", "stop_reason"),
    [
        pytest.param(
            response(text_item(output_text("Hi"))),
            [{"type": "text", "text": "Hi"}],
            "end_turn",
            id="completed_text_is_end_turn",
        ),
        pytest.param(
            response(text_item(output_text("a"), output_text("b"))),
            [{"type": "text", "text": "ab"}],
            "end_turn",
            id="one_text_block_per_message_item",
        ),
        pytest.param(
            incomplete("max_output_tokens", text_item(output_text("Cu"))),
            [{"type": "text", "text": "Cu"}],
            "max_tokens",
            id="incomplete_max_output_tokens_is_max_tokens",
        ),
        pytest.param(
            incomplete("max_output_tokens", call_item('{"a":')),
            [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "f",
                    "input": {"_raw_arguments": '{"a":'},
                }
            ],
            "max_tokens",
            id="cut_tool_call_stays_max_tokens_and_keeps_its_raw_arguments",
        ),
        pytest.param(
            incomplete("content_filter"), [], "refusal", id="incomplete_content_filter_is_refusal"
        ),
        pytest.param(
            response(text_item({"type": "refusal", "refusal": "I can't help."})),
            [{"type": "text", "text": "I can't help."}],
            "refusal",
            id="refusal_part_is_text_and_refusal",
        ),
        pytest.param(
            response(call_item(""), call_item('{"x":1}', call_id=None, name="g")),
            [
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {}},
                {"type": "tool_use", "id": f"call_1_{MESSAGE_ID}", "name": "g", "input": {"x": 1}},
            ],
            "tool_use",
            id="empty_arguments_and_missing_call_id",
        ),
        pytest.param(
            response({"id": "rs_9", "type": "reasoning", "summary": []}, text_item()),
            [{"type": "thinking", "thinking": "", "signature": ""}],
            "end_turn",
            id="reasoning_without_summary_or_encrypted_content",
        ),
        pytest.param(
            response(
                {"type": "file_search_call", "id": "fs_1"}, "junk", text_item(output_text("k"))
            ),
            [{"type": "text", "text": "k"}],
            "end_turn",
            id="unknown_items_are_skipped",
        ),
        pytest.param(
            response(call_item("{}"), status="in_progress"),
            [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}],
            "tool_use",
            id="unknown_status_with_a_call_is_tool_use",
        ),
    ],
)
def test_response_output_becomes_blocks_and_a_stop_reason(
    resp: dict[str, Any], content: list[dict[str, Any]], stop_reason: str
) -> None:
    out = answer(resp)
    assert (out["content"], out["stop_reason"]) == (content, stop_reason)
    assert out["usage"] == usage(10, 5)


def test_reasoning_summary_parts_are_joined_by_a_blank_line() -> None:
    parts = [{"type": "summary_text", "text": t} for t in ("One.", "", "Two.")]
    out = answer(response({**ITEM, "summary": parts}))
    assert out["content"][0]["thinking"] == "One.\n\nTwo."


def test_model_argument_replaces_the_upstream_model_name() -> None:
    assert answer(response(), model="configured")["model"] == "configured"
    assert answer({**response(), "model": None})["model"] == ""


@pytest.mark.parametrize(
    ("resp", "problem"),
    [
        pytest.param([], "not a response: list", id="not_an_object"),
        pytest.param(
            response(status="failed", error={"code": "server_error", "message": "boom"}),
            "upstream response failed: boom \\(server_error\\)",
            id="failed_with_error",
        ),
        pytest.param(response(status="failed"), "no error detail", id="failed_without_error"),
        pytest.param({"error": {"message": "bad key"}}, "failed: bad key", id="error_envelope"),
        pytest.param({"status": "completed"}, "no output list", id="no_output"),
        pytest.param(response(call_item("{}", name="")), "function call 0 has no name", id="name"),
    ],
)
def test_failed_or_malformed_response_raises_upstream_error(resp: Any, problem: str) -> None:
    with pytest.raises(UpstreamError, match=problem):
        answer(resp)


# --------------------------------------------------------------------------- usage


def test_fixture_usage_becomes_chat_shaped_usage() -> None:
    assert responses_usage_to_chat(fixture_response()["usage"]) == {
        "prompt_tokens": 2200,
        "completion_tokens": 180,
        "total_tokens": 2380,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 128},
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("x", None, id="not_an_object"),
        pytest.param(
            {"input_tokens": 7, "output_tokens": 3},
            {
                "prompt_tokens": 7,
                "completion_tokens": 3,
                "total_tokens": 10,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
            id="no_details_and_no_total",
        ),
        pytest.param(
            {
                "input_tokens": 9,
                "output_tokens": -2,
                "total_tokens": 9,
                "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2, "x": "y"},
                "output_tokens_details": {"reasoning_tokens": True},
            },
            {
                "prompt_tokens": 9,
                "completion_tokens": 0,
                "total_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
            id="other_numeric_details_kept_and_bad_counts_zero",
        ),
    ],
)
def test_responses_usage_converts_to_the_chat_shape(raw: Any, expected: Any) -> None:
    assert responses_usage_to_chat(raw) == expected
