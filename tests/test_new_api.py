"""A new upstream API is one module: an object that provides `apis.UpstreamApi`, added to the
registry, is served by the gateway, logged and priced under its provider, and replayed, with
no other change anywhere.

The API here, `GeminiChat`, stands for Google's OpenAI-compatible Gemini endpoint (Chat
Completions under Google's base URL, key variable and provider); as a test double of that
endpoint's server, the simulated OpenAI backend answers on a loopback socket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from claude_gw import apis
from claude_gw.apis import CHAT
from claude_gw.apis.base import WebSearch, http_error
from claude_gw.replay.runner import replay
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import Target
from tests.sdk import text_of
from tests.server.test_gateway import UPSTREAM_KEY, start_gateway


class GeminiChat:
    """The whole of the new API: its facts, and Chat Completions' translation."""

    name = "gemini"
    path = "/chat/completions"
    default_url = "https://generativelanguage.googleapis.com/v1beta/openai"
    provider = "google"
    key_env = "GEMINI_API_KEY"
    auth_header = "authorization"
    headers: Mapping[str, str] = {"x-goog-api-client": "claude-gw"}
    forwarded: tuple[str, ...] = ()
    web_search: WebSearch = None
    passthrough = False
    priced_window = True
    profiled = True
    error = staticmethod(http_error)
    request = CHAT.request
    response = CHAT.response
    translator = CHAT.translator
    usage = CHAT.usage
    prompt_tokens = CHAT.prompt_tokens


@pytest.fixture
def gemini(monkeypatch):
    monkeypatch.setitem(apis.APIS, GeminiChat.name, GeminiChat())
    return apis.get_api(GeminiChat.name)


def ask(text: str) -> dict[str, Any]:
    return {
        "model": "gemini-2.5-flash",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
    }


def price_of(usage: dict[str, Any]) -> float:
    """gemini-2.5-flash at genai-prices' list rates: $0.30 per million input tokens ($0.03
    cached), $2.50 per million output tokens."""
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    dollars = (usage["prompt_tokens"] - cached) * 0.30 + cached * 0.03
    price: float = (dollars + usage["completion_tokens"] * 2.50) / 1e6
    return price


def test_the_gateway_serves_logs_and_prices_a_registered_api(
    tmp_path, fake_openai, simulator, gemini
):
    gateway = start_gateway(tmp_path, fake_openai, upstream_api=gemini.name)
    message = gateway.client().messages.create(**ask("[sim:reply from gemini] hi"))
    assert text_of(message) == "from gemini"
    (record,) = gateway.records()
    # its path, its own header and the key went upstream
    assert simulator.recorder.paths == ["/v1/chat/completions"]
    (sent,) = simulator.recorder.headers
    assert sent["x-goog-api-client"] == "claude-gw"
    assert sent["authorization"] == f"Bearer {UPSTREAM_KEY}"
    # logged under its provider, and priced as Google prices the model
    meta, usage = record["ai"]["proxy"]["meta"], record["ai"]["proxy"]["usage"]
    assert meta["provider_name"] == "google"
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    assert usage["completion_tokens"] > 0
    assert usage["cost"] == pytest.approx(price_of(usage))


def test_a_replay_target_of_the_new_kind_uses_its_key_variable(fake_openai, simulator, gemini):
    # the simulated backend refuses any other key: the target's key comes from GEMINI_API_KEY
    target = Target("gemini", kind=gemini.name, base_url=fake_openai, model="gemini-2.5-flash")
    assert target.api_key_env == "GEMINI_API_KEY"
    request = ReplayRequest(source_id="s1", body=ask("[sim:reply again] hi"))
    (record,) = replay([request], [target], environ={"GEMINI_API_KEY": UPSTREAM_KEY})
    assert record["response"]["status"] == 200
    assert record["request"]["uri"] == "/replay/v1/messages"
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] > 0
    assert simulator.recorder.headers[0]["x-goog-api-client"] == "claude-gw"


def test_an_unknown_api_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="expected one of chat, responses, anthropic"):
        apis.get_api("gemini")
