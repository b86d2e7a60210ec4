"""Anthropic request -> OpenAI Chat request: every captured Claude CLI request, then each rule."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
from typing import Any

import pytest

from claude_gw.errors import InvalidRequest
from claude_gw.translate.models import TargetModel, is_reasoning_model, target_for
from claude_gw.translate.request import anthropic_to_openai
from tests.translate.conftest import CliRequest

REASONING = TargetModel("gpt-5-mini", reasoning=True)
PLAIN = TargetModel("gpt-4o", reasoning=False)
CHAT_KEYS = {
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "max_completion_tokens",
    "reasoning_effort",
    "stop",
    "temperature",
    "top_p",
    "user",
    "stream",
    "stream_options",
}
BILLING = "x-anthropic-billing-header"
SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def request(**fields: Any) -> Any:
    """A minimal valid request, with `fields` added or replaced: JSON as a client sends it (Any,
    as a parsed body is, since some tests make it malformed)."""
    base: dict[str, Any] = {
        "model": "claude-haiku-5-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return {**base, **fields}


def translate(req: Any, target: TargetModel = REASONING) -> dict[str, Any]:
    return dict(anthropic_to_openai(req, target=target))


def tool_turn(*results: dict[str, Any], calls: int = 1) -> list[dict[str, Any]]:
    """user, assistant with `calls` Read tool_use blocks (toolu_0...), user with `results`."""
    uses = [
        {"type": "tool_use", "id": f"toolu_{i}", "name": "Read", "input": {"path": f"/f{i}"}}
        for i in range(calls)
    ]
    return [
        {"role": "user", "content": "read it"},
        {"role": "assistant", "content": uses},
        {"role": "user", "content": list(results)},
    ]


def result(content: Any, call: str = "toolu_0", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call, "content": content, **extra}


def tool(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": f"{name} it", "input_schema": SCHEMA, **extra}


def block_text(content: str | list[dict[str, Any]]) -> str:
    return content if isinstance(content, str) else "\n\n".join(b["text"] for b in content)


# --------------------------------------------------------------------------- captured CLI requests


def test_cli_request_translates_to_json_without_touching_its_input(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    before = copy.deepcopy(body)
    out = translate(body)
    assert body == before
    json.dumps(out, allow_nan=False)
    assert set(out) <= CHAT_KEYS  # no metadata, context_management, safeguards, thinking ...
    assert out["model"] == REASONING.name


def test_cli_request_drops_the_billing_header_and_keeps_the_system_prompt(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    out = translate(body)
    kept = [b["text"] for b in body["system"] if not b["text"].startswith(BILLING)]
    assert body["system"][0]["text"].startswith(BILLING)
    assert out["messages"][0] == {"role": "system", "content": "\n\n".join(kept)}
    assert BILLING not in json.dumps(out)


def test_cli_request_keeps_role_system_messages_in_place(cli_messages_request: CliRequest) -> None:
    body = cli_messages_request.body
    out = translate(body)
    expected_roles = ["system"]
    for message in body["messages"]:
        content = message["content"]
        results = (
            [b for b in content if b["type"] == "tool_result"] if isinstance(content, list) else []
        )
        rest = len(content) - len(results) if isinstance(content, list) else 1
        expected_roles += ["tool"] * len(results) + ([message["role"]] if rest else [])
    assert [m["role"] for m in out["messages"]] == expected_roles
    inner_system = [block_text(m["content"]) for m in body["messages"] if m["role"] == "system"]
    assert [m["content"] for m in out["messages"][1:] if m["role"] == "system"] == inner_system


def test_cli_request_tool_messages_directly_follow_their_tool_calls(
    cli_messages_request: CliRequest,
) -> None:
    out = translate(cli_messages_request.body)
    messages = out["messages"]
    for i, message in enumerate(messages):
        if message["role"] != "tool":
            continue
        owner = next(m for m in reversed(messages[:i]) if m["role"] != "tool")
        assert owner["role"] == "assistant"
        assert message["tool_call_id"] in [call["id"] for call in owner["tool_calls"]]


def test_cli_request_tools_become_plain_functions(cli_messages_request: CliRequest) -> None:
    body = cli_messages_request.body
    out = translate(body)
    # Client tools only: a server tool such as web_search (messages_websearch_server_tool) has no
    # input_schema, and a request whose tool list ends up empty (the session-title request of
    # 2.1.197 sends `tools: []`) goes upstream without a `tools` key.
    expected = [
        t for t in body["tools"] if "input_schema" in t and t["name"] != "DeferredToolPlaceholder"
    ]
    sent_tools = out.get("tools", [])
    assert [t["function"]["name"] for t in sent_tools] == [t["name"] for t in expected]
    for sent, original in zip(sent_tools, expected, strict=True):
        assert sent == {
            "type": "function",
            "function": {
                "name": original["name"],
                "description": original["description"],
                "parameters": {k: v for k, v in original["input_schema"].items() if k != "$schema"},
            },
        }
    assert "$schema" not in json.dumps(sent_tools)
    assert "defer_loading" not in json.dumps(sent_tools)
    assert "tool_choice" not in out
    assert "parallel_tool_calls" not in out


def test_cli_request_maps_max_tokens_effort_user_and_stream(
    cli_messages_request: CliRequest,
) -> None:
    body = cli_messages_request.body
    out = translate(body)
    assert out["max_completion_tokens"] == body["max_tokens"]
    assert out["reasoning_effort"] == body["output_config"]["effort"]  # high, or medium
    assert re.fullmatch(r"cgw-[0-9a-f]{24}", out["user"])
    assert out["user"] == translate(copy.deepcopy(body))["user"]
    if body["stream"]:
        assert (out["stream"], out["stream_options"]) == (True, {"include_usage": True})
    else:
        assert "stream" not in out
        assert "stream_options" not in out


def test_cli_tool_round_trip_sends_the_bash_call_then_its_output(cli_body: Any) -> None:
    out = translate(cli_body("messages_tool_result_followup"))
    assistant, tool_message = out["messages"][-2:]
    assert assistant == {
        "role": "assistant",
        "content": "Running it.",
        "tool_calls": [
            {
                "id": "toolu_d42259b6197f4c74a0b7b1ad",
                "type": "function",
                "function": {
                    "name": "Bash",
                    "arguments": '{"command":"echo hello-from-tool",'
                    '"description":"Print a greeting"}',
                },
            }
        ],
    }
    assert tool_message == {
        "role": "tool",
        "tool_call_id": "toolu_d42259b6197f4c74a0b7b1ad",
        "content": "hello-from-tool",
    }


def test_cli_toolsearch_tool_references_become_text_and_deferred_tools_are_sent(
    cli_body: Any,
) -> None:
    out = translate(cli_body("messages_toolsearch_tool_reference"))
    assistant, tool_message = out["messages"][-2:]
    assert assistant["content"] is None
    assert tool_message["content"] == "Tool loaded: WebFetch\n\nTool loaded: NotebookEdit"
    names = [t["function"]["name"] for t in out["tools"]]
    assert {"WebFetch", "NotebookEdit"} <= set(names)
    assert "DeferredToolPlaceholder" not in names


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    ("name", "reasoning"),
    [
        pytest.param("gpt-5", True, id="gpt-5"),
        pytest.param("gpt-5-mini", True, id="gpt-5-mini"),
        pytest.param("gpt-5.1-codex", True, id="gpt-5.1"),
        pytest.param("openai/gpt-5-mini", True, id="provider_prefix"),
        pytest.param("GPT-5-Nano", True, id="case_insensitive"),
        pytest.param("o1", True, id="o1"),
        pytest.param("o3-mini", True, id="o3-mini"),
        pytest.param("o4-mini-2025-04-16", True, id="o4-mini"),
        pytest.param("gpt-5-chat-latest", False, id="gpt-5-chat"),
        pytest.param("openai/gpt-5-chat-latest", False, id="prefixed_gpt-5-chat"),
        pytest.param("gpt-4o", False, id="gpt-4o"),
        pytest.param("gpt-4.1-mini", False, id="gpt-4.1"),
        pytest.param("gpt-3.5-turbo", False, id="gpt-3.5"),
        pytest.param("gpt-50", False, id="not_a_family_gpt-50"),
        pytest.param("o10", False, id="not_a_family_o10"),
        pytest.param("claude-haiku-5-5", False, id="claude"),
        pytest.param("llama-3.1-8b", False, id="llama"),
    ],
)
def test_reasoning_models_are_recognised_by_family(name: str, reasoning: bool) -> None:
    assert is_reasoning_model(name) is reasoning


def test_target_for_uses_the_rule_unless_told_otherwise() -> None:
    assert target_for("gpt-5-mini") == TargetModel("gpt-5-mini", reasoning=True)
    assert target_for("gpt-5-mini", reasoning=False) == TargetModel("gpt-5-mini", reasoning=False)
    assert target_for("qwen3", reasoning=True).reasoning is True


def test_model_sent_upstream_is_the_target_not_the_client_model() -> None:
    assert translate(request(model="claude-opus-5-5"), PLAIN)["model"] == "gpt-4o"


# --------------------------------------------------------------------------- system


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        pytest.param("Be brief.", "Be brief.", id="string"),
        pytest.param(
            [{"type": "text", "text": "A"}, {"type": "text", "text": "B", "cache_control": {}}],
            "A\n\nB",
            id="blocks_joined_by_a_blank_line",
        ),
        pytest.param(
            [
                {"type": "text", "text": f"{BILLING}: cc_version=1.2.3.abc;"},
                {"type": "text", "text": "A"},
            ],
            "A",
            id="billing_header_dropped",
        ),
    ],
)
def test_system_prompt_becomes_one_leading_system_message(system: Any, expected: str) -> None:
    assert translate(request(system=system))["messages"][0] == {
        "role": "system",
        "content": expected,
    }


@pytest.mark.parametrize(
    "system",
    [
        pytest.param("", id="empty_string"),
        pytest.param([], id="no_blocks"),
        pytest.param([{"type": "text", "text": f"{BILLING}: x;"}], id="only_billing_header"),
    ],
)
def test_empty_system_prompt_sends_no_system_message(system: Any) -> None:
    assert [m["role"] for m in translate(request(system=system))["messages"]] == ["user"]


def test_role_system_messages_stay_in_place_with_string_or_block_content() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": [{"type": "text", "text": "env", "cache_control": {}}]},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": "later"},
        {"role": "user", "content": "bye"},
    ]
    assert translate(request(messages=messages))["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "env"},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": "later"},
        {"role": "user", "content": "bye"},
    ]


def test_system_message_between_tool_calls_and_results_moves_after_the_tool_messages() -> None:
    messages = tool_turn(result("a"), result("b", call="toolu_1"), calls=2)
    messages.insert(2, {"role": "system", "content": "[Truncated: PARTIAL view]"})
    roles = [m["role"] for m in translate(request(messages=messages))["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "system"]


# --------------------------------------------------------------------------- user content


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("hi", "hi", id="string"),
        pytest.param([{"type": "text", "text": "a"}], "a", id="one_text_block"),
        pytest.param(
            [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {}}],
            "a\n\nb",
            id="text_blocks_joined_by_a_blank_line",
        ),
        pytest.param(
            [{"type": "text", "text": "look"}, {"type": "image", "source": PNG}],
            [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
            id="base64_image_as_data_url",
        ),
        pytest.param(
            [{"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}],
            [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}],
            id="url_image",
        ),
    ],
)
def test_user_content_becomes_a_string_or_content_parts(content: Any, expected: Any) -> None:
    messages = translate(request(messages=[{"role": "user", "content": content}]))["messages"]
    assert messages == [{"role": "user", "content": expected}]


# --------------------------------------------------------------------------- tool results


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(result("out"), "out", id="string"),
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
        pytest.param(result("denied", is_error=True), "Error: denied", id="is_error_prefix"),
        pytest.param(result("fine", is_error=False), "fine", id="is_error_false"),
        pytest.param(result(""), "(empty result)", id="empty_string"),
        pytest.param(result([]), "(empty result)", id="empty_list"),
        pytest.param(
            {"type": "tool_result", "tool_use_id": "toolu_0"}, "(empty result)", id="absent"
        ),
        pytest.param(result("", is_error=True), "Error: (empty result)", id="empty_error"),
    ],
)
def test_tool_result_becomes_a_tool_message(block: dict[str, Any], expected: str) -> None:
    messages = translate(request(messages=tool_turn(block)))["messages"]
    assert messages[-1] == {"role": "tool", "tool_call_id": "toolu_0", "content": expected}


def test_several_tool_results_become_tool_messages_in_order_before_the_user_text() -> None:
    turn = tool_turn(
        {"type": "text", "text": "and then?"},
        result("one", call="toolu_1"),
        result("zero", call="toolu_0"),
        calls=2,
    )
    messages = translate(request(messages=turn))["messages"]
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "one"},
        {"role": "tool", "tool_call_id": "toolu_0", "content": "zero"},
        {"role": "user", "content": "and then?"},
    ]


def test_images_in_a_tool_result_follow_in_a_user_message_naming_the_call() -> None:
    # No CLI fixture has one (the notes saw a base64 PNG from Read): a built case.
    image = {"type": "image", "source": PNG}
    turn = tool_turn(result([{"type": "text", "text": "screenshot"}, image]))
    messages = translate(request(messages=turn))["messages"]
    assert messages[2:] == [
        {
            "role": "tool",
            "tool_call_id": "toolu_0",
            "content": "screenshot\n\n"
            "[1 image(s) from this result follow in the next user message]",
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "The result of tool call toolu_0 (Read) included these images:",
                },
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
    ]


# --------------------------------------------------------------------------- assistant


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("hello", {"role": "assistant", "content": "hello"}, id="string"),
        pytest.param(
            [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            {"role": "assistant", "content": "a\n\nb"},
            id="text_blocks",
        ),
        pytest.param(
            [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xxx"},
                {"type": "text", "text": "answer"},
            ],
            {"role": "assistant", "content": "answer"},
            id="thinking_dropped",
        ),
        pytest.param(
            [
                {
                    "type": "tool_use",
                    "id": "toolu_9",
                    "name": "Write",
                    "input": {"text": "café", "n": 1},
                }
            ],
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_9",
                        "type": "function",
                        "function": {"name": "Write", "arguments": '{"text":"café","n":1}'},
                    }
                ],
            },
            id="tool_use_only_has_null_content_and_compact_arguments",
        ),
    ],
)
def test_assistant_content_becomes_text_and_tool_calls(content: Any, expected: Any) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": content}]
    assert translate(request(messages=messages))["messages"][-1] == expected


def test_assistant_message_with_only_thinking_is_omitted() -> None:
    thinking = [{"type": "thinking", "thinking": "hmm", "signature": "sig"}]
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": thinking},
        {"role": "user", "content": "well?"},
    ]
    assert [m["role"] for m in translate(request(messages=messages))["messages"]] == [
        "user",
        "user",
    ]


# --------------------------------------------------------------------------- tools


def test_tool_keeps_additional_properties_and_loses_schema_defer_loading_and_cache_control() -> (
    None
):
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **SCHEMA,
        "additionalProperties": False,
    }
    sent = translate(
        request(
            tools=[
                tool(
                    "Read",
                    input_schema=schema,
                    defer_loading=True,
                    cache_control={"type": "ephemeral"},
                )
            ]
        )
    )
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Read",
                "description": "Read it",
                "parameters": {**SCHEMA, "additionalProperties": False},
            },
        }
    ]


@pytest.mark.parametrize(
    ("tools", "names"),
    [
        pytest.param(
            [tool("A"), tool("DeferredToolPlaceholder", defer_loading=True)],
            ["A"],
            id="deferred_tool_placeholder",
        ),
        pytest.param(
            [{"type": "web_search_20250305", "name": "web_search"}, tool("A")],
            ["A"],
            id="server_tool",
        ),
        pytest.param([tool("A", type="custom")], ["A"], id="custom_type_kept"),
        pytest.param([{"name": "A", "input_schema": SCHEMA}], ["A"], id="no_description"),
    ],
)
def test_tools_that_openai_cannot_use_are_dropped(tools: Any, names: list[str]) -> None:
    sent = translate(request(tools=tools))["tools"]
    assert [t["function"]["name"] for t in sent] == names


def test_tool_without_description_sends_none() -> None:
    sent = translate(request(tools=[{"name": "A", "input_schema": SCHEMA}]))["tools"]
    assert sent[0]["function"] == {"name": "A", "parameters": SCHEMA}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        pytest.param({"type": "auto"}, {"tool_choice": "auto"}, id="auto"),
        pytest.param({"type": "any"}, {"tool_choice": "required"}, id="any_is_required"),
        pytest.param({"type": "none"}, {"tool_choice": "none"}, id="none"),
        pytest.param(
            {"type": "tool", "name": "A"},
            {"tool_choice": {"type": "function", "function": {"name": "A"}}},
            id="named_tool",
        ),
        pytest.param(
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
            id="disable_parallel_tool_use",
        ),
        pytest.param(
            {"type": "any", "disable_parallel_tool_use": False},
            {"tool_choice": "required"},
            id="parallel_allowed_is_the_default",
        ),
    ],
)
def test_tool_choice_maps_to_openai(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    out = translate(request(tools=[tool("A")], tool_choice=choice))
    assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


@pytest.mark.parametrize(
    "tools",
    [
        pytest.param(None, id="absent"),
        pytest.param([], id="empty"),
        pytest.param(
            [{"type": "web_search_20250305", "name": "web_search"}], id="only_server_tools"
        ),
    ],
)
def test_tool_choice_is_not_sent_without_tools(tools: Any) -> None:
    out = translate(
        request(tools=tools, tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    )
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(out)


# --------------------------------------------------------------------------- parameters


def test_max_tokens_is_always_sent_as_max_completion_tokens() -> None:
    for target in (REASONING, PLAIN):
        out = translate(request(max_tokens=32000), target)
        assert out["max_completion_tokens"] == 32000
        assert "max_tokens" not in out


@pytest.mark.parametrize(
    ("fields", "effort"),
    [
        pytest.param({"output_config": {"effort": "low"}}, "low", id="effort_low"),
        pytest.param({"output_config": {"effort": "medium"}}, "medium", id="effort_medium"),
        pytest.param({"output_config": {"effort": "high"}}, "high", id="effort_high"),
        pytest.param({"output_config": {"effort": "max"}}, "high", id="effort_max"),
        pytest.param({"output_config": {"effort": "xhigh"}}, "high", id="effort_xhigh"),
        pytest.param(
            {
                "output_config": {"effort": "low"},
                "thinking": {"type": "enabled", "budget_tokens": 32000},
            },
            "low",
            id="effort_wins_over_thinking",
        ),
        pytest.param(
            {"output_config": {"effort": "high"}, "thinking": {"type": "disabled"}},
            "high",
            id="effort_wins_over_disabled_thinking",
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 1024}}, "low", id="budget_1024"
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 4095}}, "low", id="budget_4095"
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 4096}}, "medium", id="budget_4096"
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 16383}}, "medium", id="budget_16383"
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 16384}}, "high", id="budget_16384"
        ),
        pytest.param(
            {"thinking": {"type": "adaptive", "display": "omitted"}}, "medium", id="adaptive"
        ),
        pytest.param({"thinking": {"type": "disabled"}}, None, id="disabled"),
        pytest.param({"output_config": {}}, None, id="no_effort"),
        pytest.param({}, None, id="neither"),
    ],
)
def test_reasoning_effort_for_reasoning_targets(fields: dict[str, Any], effort: str | None) -> None:
    assert translate(request(**fields), REASONING).get("reasoning_effort") == effort
    assert "reasoning_effort" not in translate(request(**fields), PLAIN)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(PLAIN, {"temperature": 0.2, "top_p": 0.9}, id="plain_model_gets_them"),
        pytest.param(REASONING, {}, id="reasoning_model_rejects_them"),
    ],
)
def test_temperature_and_top_p_only_go_to_non_reasoning_models(
    target: TargetModel, expected: dict[str, Any]
) -> None:
    # fixture openai-chat-error-400-unsupported-value-temperature.json: what a reasoning model says
    out = translate(request(temperature=0.2, top_p=0.9, top_k=40), target)
    assert {k: out[k] for k in ("temperature", "top_p", "top_k") if k in out} == expected


@pytest.mark.parametrize(
    ("stops", "expected"),
    [
        pytest.param(["a"], ["a"], id="one"),
        pytest.param(["a", "b", "c", "d", "e", "f"], ["a", "b", "c", "d"], id="first_four_kept"),
    ],
)
def test_stop_sequences_become_stop(stops: list[str], expected: list[str]) -> None:
    assert translate(request(stop_sequences=stops))["stop"] == expected


def test_empty_stop_sequences_send_no_stop() -> None:
    assert "stop" not in translate(request(stop_sequences=[]))


def test_user_id_becomes_a_short_stable_hash() -> None:
    user_id = json.dumps({"device_id": "ab" * 32, "account_uuid": "", "session_id": "s-1"})
    out = translate(request(metadata={"user_id": user_id}))
    assert out["user"] == "cgw-" + hashlib.sha256(user_id.encode()).hexdigest()[:24]
    assert len(out["user"]) == 28


@pytest.mark.parametrize(
    "metadata",
    [pytest.param({}, id="no_user_id"), pytest.param({"user_id": ""}, id="empty_user_id")],
)
def test_no_user_id_sends_no_user(metadata: dict[str, Any]) -> None:
    assert "user" not in translate(request(metadata=metadata))


def test_anthropic_only_fields_are_dropped() -> None:
    out = translate(
        request(
            context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            safeguards=[{"type": "dangerous_tool_use", "classifier_context": {}}],
            thinking={"type": "adaptive", "display": "omitted"},
            cache_control={"type": "ephemeral"},
            metadata={"user_id": "u"},
            top_k=5,
            service_tier="auto",
        )
    )
    assert set(out) == {"model", "messages", "max_completion_tokens", "reasoning_effort", "user"}


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(True, {"stream": True, "stream_options": {"include_usage": True}}, id="true"),
        pytest.param(False, {}, id="false"),
        pytest.param(None, {}, id="absent"),
    ],
)
def test_stream_asks_for_usage_in_the_last_chunk(stream: Any, expected: dict[str, Any]) -> None:
    out = translate(request(stream=stream))
    assert {k: out[k] for k in ("stream", "stream_options") if k in out} == expected


# --------------------------------------------------------------------------- invalid requests


def user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def assistant_then(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": list(blocks)}]


INVALID = [
    pytest.param([], "body: must be a JSON object, not list", id="not_an_object"),
    pytest.param(
        {"max_tokens": 5},
        "messages: required, and must be a non-empty list, not null",
        id="messages_missing",
    ),
    pytest.param(
        request(messages=[]),
        "messages: required, and must be a non-empty list, not []",
        id="messages_empty",
    ),
    pytest.param(
        request(messages="hi"),
        "messages: required, and must be a non-empty list, not 'hi'",
        id="messages_not_a_list",
    ),
    pytest.param(
        request(messages=[7]),
        "messages.0: must be an object with role and content, not 7",
        id="message_not_an_object",
    ),
    pytest.param(
        request(messages=[{"content": "x"}]),
        "messages.0.role: must be 'user', 'assistant' or 'system', not null",
        id="role_missing",
    ),
    pytest.param(
        request(messages=[{"role": "tool", "content": "x"}]),
        "messages.0.role: must be 'user', 'assistant' or 'system', not 'tool'",
        id="role_tool",
    ),
    pytest.param(
        request(messages=[{"role": "user"}]),
        "messages.0.content: must be a string or a list of content blocks, not null",
        id="content_missing",
    ),
    pytest.param(
        request(messages=[{"role": "user", "content": []}]),
        "messages.0.content: must not be empty",
        id="user_content_empty",
    ),
    pytest.param(
        request(messages=user("hi")),
        "messages.0.content.0: must be a content block with a string type, not 'hi'",
        id="block_not_an_object",
    ),
    pytest.param(
        request(messages=user({"type": "text", "text": "a"}, {"type": "document"})),
        "messages.0.content.1: unsupported content block type 'document'",
        id="unsupported_user_block",
    ),
    pytest.param(
        request(messages=user({"type": "text", "text": 5})),
        "messages.0.content.0.text: must be a string, not 5",
        id="text_not_a_string",
    ),
    pytest.param(
        request(messages=user({"type": "image", "source": {"type": "file", "file_id": "f"}})),
        "messages.0.content.0.source.type: unsupported image source type 'file'",
        id="image_file_source",
    ),
    pytest.param(
        request(
            messages=user(
                {"type": "image", "source": {"type": "base64", "media_type": "image/png"}}
            )
        ),
        "messages.0.content.0.source.data: must be a non-empty string, not null",
        id="image_without_data",
    ),
    pytest.param(
        request(messages=user({"type": "image"})),
        "messages.0.content.0.source: must be an object, not null",
        id="image_without_source",
    ),
    pytest.param(
        request(messages=[{"role": "system", "content": [{"type": "image"}]}]),
        "messages.0.content.0: must be a text block, not {'type': 'image'}",
        id="system_message_with_image",
    ),
    pytest.param(
        request(messages=assistant_then({"type": "mcp_tool_use"})),
        "messages.1.content.0: unsupported content block type 'mcp_tool_use'",
        id="unsupported_assistant_block",
    ),
    pytest.param(
        request(messages=assistant_then({"type": "tool_use", "name": "A", "input": {}})),
        "messages.1.content.0.id: must be a non-empty string, not null",
        id="tool_use_without_id",
    ),
    pytest.param(
        request(
            messages=assistant_then({"type": "tool_use", "id": "t", "name": "A", "input": "{}"})
        ),
        "messages.1.content.0.input: must be an object, not '{}'",
        id="tool_use_input_text",
    ),
    pytest.param(
        request(messages=tool_turn(result("x", call="toolu_nope"))),
        "messages.2.content.0.tool_use_id: 'toolu_nope' matches no tool_use block in the "
        "preceding assistant message",
        id="tool_result_for_an_unknown_call",
    ),
    pytest.param(
        request(messages=user(result("x"))),
        "messages.0.content.0.tool_use_id: 'toolu_0' matches no tool_use block in the "
        "preceding assistant message",
        id="tool_result_without_any_assistant",
    ),
    pytest.param(
        request(
            messages=[
                *tool_turn(result("x")),
                {"role": "assistant", "content": "ok"},
                *user(result("again")),
            ]
        ),
        "messages.4.content.0.tool_use_id: 'toolu_0' matches no tool_use block in the "
        "preceding assistant message",
        id="tool_result_for_an_older_turn",
    ),
    pytest.param(
        request(messages=tool_turn({"type": "tool_result"})),
        "messages.2.content.0.tool_use_id: must be a non-empty string, not null",
        id="tool_result_without_id",
    ),
    pytest.param(
        request(messages=tool_turn(result(5))),
        "messages.2.content.0.content: must be a string or a list of content blocks, not 5",
        id="tool_result_content_number",
    ),
    pytest.param(
        request(messages=tool_turn(result([{"type": "document"}]))),
        "messages.2.content.0.content.0: unsupported content block type 'document'",
        id="tool_result_unsupported_block",
    ),
    pytest.param(
        request(messages=tool_turn(result([{"type": "tool_reference"}]))),
        "messages.2.content.0.content.0.tool_name: must be a non-empty string, not null",
        id="tool_reference_without_name",
    ),
    pytest.param(
        request(messages=tool_turn(result("x", is_error="yes"))),
        "messages.2.content.0.is_error: must be a boolean, not 'yes'",
        id="is_error_not_bool",
    ),
    pytest.param(
        request(system=5),
        "system: must be a string or a list of text blocks, not 5",
        id="system_number",
    ),
    pytest.param(
        request(system=[{"type": "image"}]),
        "system.0: must be a text block, not {'type': 'image'}",
        id="system_block_not_text",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": "x"}]},
        "max_tokens: required",
        id="max_tokens_missing",
    ),
    pytest.param(
        request(max_tokens=0), "max_tokens: must be a positive integer, not 0", id="max_tokens_zero"
    ),
    pytest.param(
        request(max_tokens=-5),
        "max_tokens: must be a positive integer, not -5",
        id="max_tokens_negative",
    ),
    pytest.param(
        request(max_tokens=1.5),
        "max_tokens: must be a positive integer, not 1.5",
        id="max_tokens_float",
    ),
    pytest.param(
        request(max_tokens="10"),
        "max_tokens: must be a positive integer, not '10'",
        id="max_tokens_string",
    ),
    pytest.param(
        request(max_tokens=True),
        "max_tokens: must be a positive integer, not True",
        id="max_tokens_bool",
    ),
    pytest.param(
        request(tools={"name": "A"}), "tools: must be a list, not {'name': 'A'}", id="tools_object"
    ),
    pytest.param(
        request(tools=[{"input_schema": SCHEMA}]),
        "tools.0.name: must be a non-empty string, not null",
        id="tool_without_name",
    ),
    pytest.param(
        request(tools=[{"name": "A"}]),
        "tools.0.input_schema: must be an object, not null",
        id="tool_without_schema",
    ),
    pytest.param(
        request(tools=[tool("A", type=3)]),
        "tools.0.type: must be a string, not 3",
        id="tool_type_number",
    ),
    pytest.param(
        request(tools=[tool("A", description=["d"])]),
        "tools.0.description: must be a string, not ['d']",
        id="tool_description_list",
    ),
    pytest.param(
        request(tools=[tool("A")], tool_choice="auto"),
        "tool_choice: must be an object, not 'auto'",
        id="tool_choice_string",
    ),
    pytest.param(
        request(tools=[tool("A")], tool_choice={"type": "required"}),
        "tool_choice.type: must be 'auto', 'any', 'tool' or 'none', not 'required'",
        id="tool_choice_unknown_type",
    ),
    pytest.param(
        request(tools=[tool("A")], tool_choice={"type": "tool", "name": "B"}),
        "tool_choice.name: no tool named 'B' is sent upstream",
        id="tool_choice_unknown_tool",
    ),
    pytest.param(
        request(tools=[tool("A")], tool_choice={"type": "auto", "disable_parallel_tool_use": 1}),
        "tool_choice.disable_parallel_tool_use: must be a boolean, not 1",
        id="disable_parallel_tool_use_number",
    ),
    pytest.param(
        request(stop_sequences="END"),
        "stop_sequences: must be a list of strings, not 'END'",
        id="stop_sequences_string",
    ),
    pytest.param(
        request(stop_sequences=["a", 1]),
        "stop_sequences: must be a list of strings, not ['a', 1]",
        id="stop_sequences_number_inside",
    ),
    pytest.param(
        request(metadata=["u"]), "metadata: must be an object, not ['u']", id="metadata_list"
    ),
    pytest.param(
        request(metadata={"user_id": 5}),
        "metadata.user_id: must be a string, not 5",
        id="user_id_number",
    ),
    pytest.param(
        request(temperature="hot"),
        "temperature: must be a number, not 'hot'",
        id="temperature_text",
    ),
    pytest.param(request(top_p=False), "top_p: must be a number, not False", id="top_p_bool"),
    pytest.param(
        request(output_config=3),
        "output_config: must be an object, not 3",
        id="output_config_number",
    ),
    pytest.param(
        request(output_config={"effort": "extreme"}),
        "output_config.effort: must be one of low, medium, high, max, xhigh, not 'extreme'",
        id="effort_unknown",
    ),
    pytest.param(
        request(output_config={"effort": ["high"]}),
        "output_config.effort: must be one of low, medium, high, max, xhigh, not ['high']",
        id="effort_list",
    ),
    pytest.param(
        request(thinking="on"), "thinking: must be an object, not 'on'", id="thinking_string"
    ),
    pytest.param(
        request(thinking={"type": "sometimes"}),
        "thinking.type: must be 'enabled', 'adaptive' or 'disabled', not 'sometimes'",
        id="thinking_unknown_type",
    ),
    pytest.param(
        request(thinking={"type": "enabled"}),
        "thinking.budget_tokens: must be a positive integer, not null",
        id="thinking_without_budget",
    ),
    pytest.param(request(stream="yes"), "stream: must be a boolean, not 'yes'", id="stream_string"),
]


@pytest.mark.parametrize(("req", "message"), INVALID)
def test_invalid_request_is_rejected_with_the_path_of_the_problem(req: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(req)
    assert caught.value.message == message
    assert caught.value.to_body()["error"]["type"] == "invalid_request_error"


# --------------------------------------------------------------------------- arbitrary input

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    "",
    "x",
    "user",
    "assistant",
    "system",
    "text",
    [],
    {},
    [1],
    ["a"],
    {"type": "text"},
    {"type": "image"},
    {"type": "tool_result"},
    {"type": "tool_use"},
    {"type": "enabled"},
    {"type": "tool", "name": "Read"},
    {"type": 1},
    [{"type": "text", "text": 1}],
]


def rich_request() -> dict[str, Any]:
    """A valid request that uses every feature the translator knows (a fresh deep copy)."""
    turn = tool_turn(
        result([{"type": "text", "text": "t"}, {"type": "image", "source": PNG}]),
        result(
            [{"type": "tool_reference", "tool_name": "WebFetch"}], call="toolu_1", is_error=True
        ),
        {"type": "text", "text": "next"},
        calls=2,
    )
    doc = request(
        system=[{"type": "text", "text": f"{BILLING}: x;"}, {"type": "text", "text": "S"}],
        messages=[
            *turn,
            {"role": "system", "content": "note"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t"},
                    {"type": "text", "text": "done"},
                ],
            },
            {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]},
        ],
        tools=[
            tool("Read"),
            tool("DeferredToolPlaceholder"),
            {"type": "web_search_20250305", "name": "w"},
        ],
        tool_choice={"type": "tool", "name": "Read", "disable_parallel_tool_use": True},
        metadata={"user_id": "u"},
        stop_sequences=["a"],
        temperature=0.5,
        top_p=0.5,
        thinking={"type": "enabled", "budget_tokens": 5000},
        output_config={"effort": "max"},
        stream=True,
    )
    return copy.deepcopy(doc)  # mutate() must not reach the shared PNG / SCHEMA constants


def nodes(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair inside a JSON value."""
    found = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in items:
        found.append((value, key))
        found.extend(nodes(child))
    return found


def mutate(doc: dict[str, Any], rng: random.Random) -> None:
    for _ in range(rng.randint(1, 2)):
        container, key = rng.choice(nodes(doc))
        if rng.random() < 0.3:
            del container[key]
        else:
            container[key] = copy.deepcopy(rng.choice(ODD_VALUES))


def test_rich_request_translates() -> None:
    out = translate(rich_request(), PLAIN)
    assert [m["role"] for m in out["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "user",
        "system",
        "assistant",
        "user",
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "Read"}}


def test_mangled_requests_raise_only_invalid_request_and_are_never_mutated() -> None:
    rng = random.Random(20261125)
    outcomes = {"translated": 0, "rejected": 0}
    for _ in range(3000):
        doc = rich_request()
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
    assert min(outcomes.values()) > 300, outcomes  # both branches were really exercised
