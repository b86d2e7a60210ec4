"""Routes with Kong's `llm_format: openai`: OpenAI chat clients pass through, logged the same
way. Driven by the official `openai` SDK; the upstream is the simulated backend (test double)."""

from __future__ import annotations

import httpx
import openai
import pytest

from claude_gw.kong import KongOptions
from claude_gw.routing import Routing
from tests.server.test_gateway import start_gateway


@pytest.fixture
def openai_route(tmp_path, fake_openai):
    gw = start_gateway(
        tmp_path,
        fake_openai,
        kong=KongOptions(llm_format="openai"),
        routing=Routing(model="gpt-4.1", force_model=True),
    )
    yield gw
    gw.stop()


def client(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key="client-key", max_retries=0)


def test_oneshot_chat_passes_through_with_the_routes_model(openai_route, simulator):
    with client(openai_route) as chat:
        answer = chat.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": "[sim:reply straight through]"}]
        )
    assert answer.choices[0].message.content == "straight through"
    assert simulator.recorder.bodies[-1]["model"] == "gpt-4.1"
    (record,) = openai_route.records()
    assert record["claude_gw"]["endpoint"] == "chat_completions"
    assert answer.usage is not None
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] == answer.usage.prompt_tokens
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    assert record["claude_gw"]["stop_reason"] == "end_turn"


def test_streamed_chat_passes_through_and_its_usage_is_logged(openai_route, simulator):
    with client(openai_route) as chat:
        stream = chat.chat.completions.create(
            model="gpt-4.1",
            stream=True,
            messages=[{"role": "user", "content": "[sim:reply streamed through]"}],
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed through"
    assert simulator.recorder.bodies[-1]["stream_options"] == {"include_usage": True}
    (record,) = openai_route.records()
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] > 0
    assert record["claude_gw"]["stop_reason"] == "end_turn"


def test_errors_on_an_openai_route_come_in_openais_shape(openai_route):
    with client(openai_route) as chat, pytest.raises(openai.RateLimitError) as caught:
        chat.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "[sim:error 429]"}]
        )
    assert caught.value.response.headers["retry-after"]
    messages = httpx.post(f"{openai_route.url}/v1/messages", json={}, timeout=10)
    assert messages.status_code == 404
    assert set(messages.json()["error"]) == {"message", "type", "param", "code"}
    assert len(openai_route.records()) == 2
