"""The gateway in front of each upstream API (`--upstream-api chat|responses|anthropic`), driven
by the official `anthropic` SDK on a real socket. The upstream is the simulated backend (the
test double of tests/conftest.py), which speaks all three APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_gw.routing import Routing
from tests.server.test_gateway import WEATHER_TOOL, ask, start_gateway

APIS = ["chat", "responses", "anthropic"]
SHARED_CLI = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "claude-cli"


@pytest.fixture(params=APIS)
def backend(request, tmp_path, fake_openai):
    model = "claude-sonnet-4-6" if request.param == "anthropic" else "gpt-5-mini"
    gw = start_gateway(
        tmp_path, fake_openai, upstream_api=request.param, routing=Routing(model=model)
    )
    yield request.param, model, gw
    gw.stop()


def test_text_answers_and_usage_through_each_upstream_api(backend, simulator):
    api, model, gw = backend
    client = gw.client()
    # A Claude model name, as the CLI sends on its own: it goes to the gateway's model.
    oneshot = client.messages.create(**ask("[sim:reply plain answer]", model="claude-opus-5-5"))
    with client.messages.stream(
        **ask("[sim:reply streamed answer]", model="claude-opus-5-5")
    ) as stream:
        streamed = stream.get_final_message()
    texts = [block.text for m in (oneshot, streamed) for block in m.content if block.type == "text"]
    assert texts == ["plain answer", "streamed answer"]
    assert streamed.usage.output_tokens > 0
    suffix = {"chat": "/chat/completions", "responses": "/responses", "anthropic": "/messages"}[api]
    assert all(
        path.endswith(suffix) for path in simulator.recorder.paths if not path.endswith("/models")
    )
    records = gw.records()
    assert [r["ai"]["proxy"]["meta"]["request_model"] for r in records] == [model, model]
    for record in records:
        usage = record["ai"]["proxy"]["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert records[0]["ai"]["proxy"]["meta"]["provider_name"] == (
        "anthropic" if api == "anthropic" else "openai"
    )


def test_parallel_tool_calls_stream_through_each_upstream_api(backend):
    _, _, gw = backend
    prompt = '[sim:tool get_weather {"city": "Paris"}] [sim:tool get_weather {"city": "Oslo"}]'
    with gw.client().messages.stream(**ask(prompt, tools=[WEATHER_TOOL])) as stream:
        final = stream.get_final_message()
    calls = [block.input for block in final.content if block.type == "tool_use"]
    assert calls == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.stop_reason == "tool_use"
    (record,) = gw.records()
    assert record["claude_gw"]["tool_calls"] == 2


def test_errors_before_the_first_byte_through_each_upstream_api(backend):
    _, _, gw = backend
    client = gw.client()
    import anthropic

    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(**ask("[sim:error 429]"))
    assert limited.value.response.headers.get("retry-after")
    with pytest.raises(anthropic.BadRequestError) as too_long:
        client.messages.create(**ask("[sim:error context_length]", stream=False))
    assert "prompt is too long" in str(too_long.value)
    assert [r["response"]["status"] for r in gw.records()] == [429, 400]


def test_reasoning_round_trips_across_turns_through_the_responses_api(
    tmp_path, fake_openai, simulator
):
    """Reasoning items come back as thinking blocks whose signature carries the item, so the
    next turn sends the item back and multi-turn tool use keeps its reasoning."""
    gw = start_gateway(
        tmp_path, fake_openai, upstream_api="responses", routing=Routing(model="gpt-5-mini")
    )
    client = gw.client()
    first = client.messages.create(
        **ask('[sim:tool get_weather {"city": "Paris"}]', tools=[WEATHER_TOOL])
    )
    kinds = [block.type for block in first.content]
    assert kinds[0] == "thinking" and "tool_use" in kinds
    assert first.content[0].signature.startswith("cgw1.")
    call = next(block for block in first.content if block.type == "tool_use")
    second = client.messages.create(
        model="gpt-5-mini",
        max_tokens=4000,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert "sunny" in "".join(block.text for block in second.content if block.type == "text")
    assert simulator.stats.reasoning_items_received == 1
    gw.records()


TITLE_FIXTURE = SHARED_CLI / "messages_session_title_output_format_2.1.197.json"


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_the_cli_session_title_reaches_the_upstream_with_its_json_schema(
    api, tmp_path, fake_openai, simulator
):
    """quirk: Claude CLI 2.1.197's session title request (output_config.format, the fixture)
    holds the upstream model to the JSON the CLI parses; the simulator answers by the schema."""
    body = json.loads(TITLE_FIXTURE.read_text())["body"]
    schema = body["output_config"]["format"]["schema"]
    gw = start_gateway(tmp_path, fake_openai, upstream_api=api, routing=Routing(model="gpt-5-mini"))
    with gw.client().messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as stream:
        final = stream.get_final_message()
    (sent,) = simulator.recorder.bodies
    if api == "chat":
        assert sent["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    else:
        assert sent["text"]["format"] == {
            "type": "json_schema",
            "name": "output",
            "schema": schema,
            "strict": True,
        }
    (text,) = [block.text for block in final.content if block.type == "text"]
    assert json.loads(text) == {"title": "Simulated by gpt-5-mini-simulated"}
    gw.stop()
