"""A prompt over the model's context window is refused before anything goes upstream (the
anthropic SDK on a real socket, the simulated OpenAI backend as the test double)."""

from __future__ import annotations

import anthropic
import pytest

from claude_gw.tokens import count_anthropic_request
from tests.server.test_gateway import start_gateway


def test_over_the_window_is_400_prompt_is_too_long_and_nothing_is_sent(
    tmp_path, fake_openai, simulator
):
    gateway = start_gateway(tmp_path, fake_openai, context_window=500)
    request = {
        "model": "gpt-5-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "lorem ipsum dolor " * 300}],
    }
    with pytest.raises(anthropic.BadRequestError) as raised:
        gateway.client().messages.create(**request, stream=True)
    tokens = count_anthropic_request(request)
    assert tokens > 500
    assert raised.value.body["error"] == {
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
    assert message.content[0].text == "fine"  # type: ignore[union-attr]
    assert len(simulator.recorder.bodies) == 1
    gateway.stop()
