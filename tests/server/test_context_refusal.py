"""A prompt over the model's context window is refused before anything goes upstream (the
anthropic SDK on a real socket, the simulated OpenAI backend as the test double)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from claude_gw.tokens import count_anthropic_request
from tests.sdk import error_body, text_of
from tests.server.test_gateway import start_gateway


def test_over_the_window_is_400_prompt_is_too_long_and_nothing_is_sent(
    tmp_path, fake_openai, simulator
):
    gateway = start_gateway(tmp_path, fake_openai, context_window=500)
    request: dict[str, Any] = {
        "model": "gpt-5-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "lorem ipsum dolor " * 300}],
    }
    with pytest.raises(anthropic.BadRequestError) as raised:
        gateway.client().messages.create(**request, stream=True)
    tokens = count_anthropic_request(request)
    assert tokens > 500
    assert error_body(raised.value)["error"] == {
        "type": "invalid_request_error",
        "message": f"prompt is too long: {tokens} tokens > 500 maximum",
    }
    assert simulator.recorder.bodies == []
    (record,) = gateway.records()
    assert record["response"]["status"] == 400
    assert record["claude_gw"]["usage_source"] is None


def test_a_prompt_within_the_window_goes_through(tmp_path, fake_openai, simulator):
    gateway = start_gateway(tmp_path, fake_openai, context_window=500)
    message = gateway.client().messages.create(
        model="gpt-5-mini",
        max_tokens=2000,  # reasoning tokens come first
        messages=[{"role": "user", "content": "[sim:reply fine] " + "lorem " * 200}],
    )
    assert text_of(message) == "fine"
    assert len(simulator.recorder.bodies) == 1
    gateway.stop()


def test_behind_an_anthropic_upstream_only_a_configured_window_is_checked(
    tmp_path, fake_openai, simulator
):
    # claude-sonnet-4-5 has 200,000 tokens in genai-prices, 1,000,000 with the 1M beta header:
    # the gateway leaves that to Anthropic, unless told a window.
    big = {"role": "user", "content": "[sim:reply ok]" + " 7" * 105_000}  # a token a byte
    request: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [big]}
    assert count_anthropic_request(request) > 200_000
    gateway = start_gateway(tmp_path, fake_openai, upstream_api="anthropic")
    assert text_of(gateway.client().messages.create(**request)) == "ok"
    gateway.stop()
    limited = start_gateway(tmp_path, fake_openai, upstream_api="anthropic", context_window=500)
    small = {"role": "user", "content": "lorem ipsum " * 400}
    with pytest.raises(anthropic.BadRequestError) as raised:
        limited.client().messages.create(**{**request, "messages": [small]})
    assert error_body(raised.value)["error"]["message"].endswith("tokens > 500 maximum")
    assert len(simulator.recorder.bodies) == 1
    limited.stop()
