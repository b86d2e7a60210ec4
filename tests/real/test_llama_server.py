"""The gateway in front of a server nobody here wrote: llama-cpp-python's OpenAI-compatible
server with SmolLM2-135M-Instruct (tests/real/conftest.py), driven by the anthropic SDK and the
real Claude CLI. Its quirks, measured (the README's "Server profiles"): it ignores
`max_completion_tokens`, answers 500 to an assistant turn with `content: null`, never streams a
usage chunk, and answers a streamed prompt over its context with an empty 200 stream.

A 135M model on 2 threads writes tens of tokens a second: prompts are tiny and `max_tokens`
small. What the model says is not tested (it is a small model); what the gateway does is.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_gw.kong import KongOptions
from claude_gw.routing import ModelRule, Routing
from claude_gw.tokens import count_anthropic_request, count_text
from tests.real.conftest import MODEL_ALIAS, LlamaServer
from tests.sdk import error_body
from tests.server.test_gateway import Gateway, start_gateway
from tests.test_claude_cli import run_claude

pytestmark = pytest.mark.real_upstream

WEATHER: anthropic.types.ToolParam = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def gateway_for(tmp_path, server: LlamaServer, **options) -> Gateway:
    """The gateway with no profile named: a loopback upstream gets the compatible profile."""
    return start_gateway(tmp_path, server.base_url, context_window=server.n_ctx, **options)


def ask(client: anthropic.Anthropic, text: str, max_tokens: int, **extra):
    return client.messages.create(
        model=MODEL_ALIAS,
        max_tokens=max_tokens,
        messages=[{"role": "user", "content": text}],
        **extra,
    )


def test_text_answer_with_the_servers_own_usage(tmp_path, llama_text):
    gateway = gateway_for(tmp_path, llama_text)
    message = ask(gateway.client(), "Say hello.", 8)
    assert message.content and message.content[0].type == "text"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (record,) = gateway.records()
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] == message.usage.output_tokens
    assert record["claude_gw"]["usage_source"] == "upstream"


def test_max_tokens_is_honoured(tmp_path, llama_text):
    # Sent as max_completion_tokens, 5 became 141 tokens and `end_turn`.
    gateway = gateway_for(tmp_path, llama_text)
    message = ask(gateway.client(), "Tell me a long story about a dragon.", 5)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5  # the server's own count
    gateway.stop()


def test_stream_usage_is_counted_locally_not_zero(tmp_path, llama_text):
    gateway = gateway_for(tmp_path, llama_text)
    request: dict[str, Any] = {"model": MODEL_ALIAS, "max_tokens": 12}
    request["messages"] = [{"role": "user", "content": "Name three colours."}]
    with gateway.client().messages.stream(**request) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.stop_reason in ("max_tokens", "end_turn")
    assert final.usage.output_tokens == count_text(text) > 0
    assert final.usage.input_tokens > 0
    (record,) = gateway.records()
    usage = record["ai"]["proxy"]["usage"]
    assert record["claude_gw"]["usage_source"] == "estimated"
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )


def test_forced_tool_call_then_the_tool_result_turn(tmp_path, llama_tools):
    gateway = gateway_for(tmp_path, llama_tools)
    client = gateway.client()
    question: anthropic.types.MessageParam = {
        "role": "user",
        "content": "What is the weather in Paris?",
    }
    first = client.messages.create(
        model=MODEL_ALIAS,
        max_tokens=48,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[question],
    )
    calls = [block for block in first.content if block.type == "tool_use"]
    assert first.stop_reason == "tool_use" and len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and isinstance(call.input, dict)
    # The assistant turn is only a tool call: with `content: null` this server answers 500.
    result: anthropic.types.ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "Sunny, 21 C.",
    }
    use: anthropic.types.ToolUseBlockParam = {
        "type": "tool_use",
        "id": call.id,
        "name": call.name,
        "input": call.input,
    }
    with client.messages.stream(
        model=MODEL_ALIAS,
        max_tokens=16,
        tools=[WEATHER],
        tool_choice={"type": "none"},
        messages=[
            question,
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
    ) as stream:
        second = stream.get_final_message()
    assert second.content and second.content[0].type == "text"
    assert second.usage.output_tokens > 0
    records = gateway.records()
    assert [r["response"]["status"] for r in records] == [200, 200]


def test_over_the_context_window_is_refused_before_it_is_sent(tmp_path, llama_text):
    # Sent streaming, this server answers 200 with an empty body (the CLI would retry).
    gateway = gateway_for(tmp_path, llama_text)
    text = "the quick brown fox jumps over the lazy dog " * 1000
    request: dict[str, Any] = {"model": MODEL_ALIAS, "max_tokens": 8, "stream": True}
    request["messages"] = [{"role": "user", "content": text}]
    tokens = count_anthropic_request(request)
    assert tokens > llama_text.n_ctx
    with pytest.raises(anthropic.BadRequestError) as raised:
        gateway.client().messages.create(**request)
    message = f"prompt is too long: {tokens} tokens > {llama_text.n_ctx} maximum"
    assert error_body(raised.value)["error"]["message"] == message
    (record,) = gateway.records()
    assert record["upstream_status"] == "" and record["response"]["status"] == 400


@pytest.mark.cli
def test_one_claude_cli_turn(tmp_path, claude_cli, llama_text):
    # The CLI asks for 32,000 output tokens; the route caps them (Kong's model.options) in case
    # the model rambles. The cap must not be reached: the CLI takes an answer cut at max_tokens
    # for a failed turn. No tools, a short system prompt: a prompt of about 1,500 tokens.
    gateway = gateway_for(
        tmp_path,
        llama_text,
        kong=KongOptions(request_overrides=(("max_tokens", 512),)),
        routing=Routing(model_map=(ModelRule("*", MODEL_ALIAS),)),
    )
    args = ("--tools", "", "--system-prompt", "You are a friendly assistant.")
    out = run_claude(claude_cli, tmp_path / "home", gateway.url, "Hi!", *args)
    assert out["is_error"] is False and out["result"]
    records = [r for r in gateway.records() if r["claude_gw"]["endpoint"] == "messages"]
    assert records and all(r["response"]["status"] == 200 for r in records)
    for record in records:
        usage = record["ai"]["proxy"]["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert record["ai"]["proxy"]["meta"]["request_model"] == MODEL_ALIAS


def test_without_a_window_its_empty_stream_over_context_is_named(tmp_path, llama_text):
    gateway = start_gateway(tmp_path, llama_text.base_url)  # no --context-window
    text = "the quick brown fox jumps over the lazy dog " * 1000
    with pytest.raises(anthropic.InternalServerError) as raised:
        gateway.client().messages.create(
            model=MODEL_ALIAS,
            max_tokens=8,
            stream=True,
            messages=[{"role": "user", "content": text}],
        )
    assert raised.value.status_code == 502
    message = error_body(raised.value)["error"]["message"]
    assert "answered 200 with an empty stream" in message and "--context-window" in message
    (record,) = gateway.records()
    assert record["upstream_status"] == "200"
    assert record["claude_gw"]["usage_source"] is None  # it processed nothing: nothing counted


# chatml-function-calling's prompt lists the tools under each system message and asks for
# `message:` or `functions.<name>:`; its first step chooses between the two at temperature 0,
# so for one prompt the choice is always the same. This one gets `functions.Read:` (with `Bash`
# and "cat notes.txt", the model's command was `git clone`). The path is fixed: the model copies
# this one, but wrote /tmp/cgw/run-1/home/notes.txt without its `/tmp/`,
# /tmp/claude-gw-llama/home/notes.txt as `data.txt`, a pytest tmp_path as `test.txt`, and
# "notes.txt" alone as the working directory (the prompt's date changes too: it may need another
# path some day).
READ_PROMPT = "Use the Read tool to read {path}"
NOTE = "The secret word is PELICAN."
SHORT_HOME = Path(tempfile.gettempdir()) / "claude-gw" / "run-1" / "home"


@pytest.fixture
def short_home() -> Iterator[Path]:
    """`SHORT_HOME`, empty, for one test at a time on this machine (a lock file beside it)."""
    with SHORT_HOME.parent.parent.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(SHORT_HOME.parent, ignore_errors=True)
        SHORT_HOME.mkdir(parents=True)
        try:
            yield SHORT_HOME
        finally:
            shutil.rmtree(SHORT_HOME.parent, ignore_errors=True)


def tool_results(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the client request a record logged (with payloads)."""
    request = json.loads(record["ai"]["proxy"]["payload"]["request"])
    return [
        block
        for message in request["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "tool_result"
    ]


@pytest.mark.cli
def test_claude_cli_session_with_a_tool_call(tmp_path, short_home, claude_cli, llama_tools):
    # The CLI sends tools without tool_choice, which this server takes for `none`: the gateway
    # names the default, `auto`. The model's tool call does not stream (the server drops the
    # stream before its first line): the gateway asks again unstreamed. The chat format leaves
    # `tool` messages out of the prompt, so the model never sees the file and calls Read again
    # on the next turn: `--max-turns 2` ends the session once the result has gone back.
    # temperature 0 (Kong's model.options) fixes the arguments as well as the choice.
    home = short_home
    note = home / "notes.txt"
    note.write_text(NOTE + "\n")
    gateway = gateway_for(
        tmp_path,
        llama_tools,
        kong=KongOptions(
            request_overrides=(("max_tokens", 256), ("temperature", 0)),
            input_cost=1.0,
            output_cost=2.0,
        ),
        log_payloads=True,
        routing=Routing(model_map=(ModelRule("*", MODEL_ALIAS),)),
    )
    args = ("--system-prompt", "You are a helpful assistant.", "--tools", "Read")
    prompt = READ_PROMPT.format(path=note)
    out = run_claude(
        claude_cli, home, gateway.url, prompt, *args, "--max-turns", "2", timeout=300, check=False
    )
    assert out["type"] == "result" and out["subtype"] in ("success", "error_max_turns")
    assert out["num_turns"] >= 2
    records = [r for r in gateway.records() if r["claude_gw"]["endpoint"] == "messages"]
    assert len(records) >= 2 and all(r["response"]["status"] == 200 for r in records)
    first, second = records[:2]
    # the model chose the call: the upstream's answer to the first request
    assert first["claude_gw"]["stop_reason"] == "tool_use"
    assert first["claude_gw"]["tool_calls"] == 1
    (call,) = json.loads(first["ai"]["proxy"]["payload"]["response"])["content"]
    assert call["type"] == "tool_use" and call["name"] == "Read"
    assert call["input"]["file_path"] == str(note)
    # the CLI ran it: the next request carries the file (Read numbers its lines)
    (result,) = tool_results(second)
    assert result["tool_use_id"] == call["id"] and not result.get("is_error")
    assert result["content"].startswith(f"1\t{NOTE}")
    for record in records:
        usage = record["ai"]["proxy"]["usage"]
        assert usage["prompt_tokens"] > 0
        assert usage["completion_tokens"] > 0 or record["claude_gw"]["usage_source"] == "estimated"
        assert usage["cost"] > 0 and record["claude_gw"]["cost_source"] == "config"
