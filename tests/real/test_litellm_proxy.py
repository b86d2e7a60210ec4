"""LiteLLM's proxy as the gateway's upstream (tests/real/conftest.py): its 429 carries the
provider's retry hint as `llm_provider-retry-after` and no `retry-after`, and its `/v1/messages`
serves OpenAI's models behind an Anthropic-shaped API."""

from __future__ import annotations

import anthropic
import pytest

from tests.sdk import text_of
from tests.server.test_gateway import start_gateway

pytestmark = pytest.mark.real_upstream


def test_a_rate_limit_behind_litellm_tells_the_client_when_to_retry(tmp_path, litellm_proxy):
    gateway = start_gateway(tmp_path, f"{litellm_proxy.base_url}/v1", api_key=litellm_proxy.key)
    with pytest.raises(anthropic.RateLimitError) as raised:
        gateway.client().messages.create(
            model="gpt-5-mini",
            max_tokens=64,
            messages=[{"role": "user", "content": "[sim:error 429] hi"}],
        )
    # the simulated OpenAI's 429 says retry-after 2 / retry-after-ms 1684; LiteLLM renames them
    headers = raised.value.response.headers
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "1684"
    (record,) = gateway.records()
    assert record["response"]["status"] == 429


def test_an_openai_model_behind_litellms_messages_api_is_priced_as_openai(tmp_path, litellm_proxy):
    gateway = start_gateway(
        tmp_path,
        f"{litellm_proxy.base_url}/v1",
        api_key=litellm_proxy.key,
        upstream_api="anthropic",
        auth_header="x-api-key",
    )
    message = gateway.client().messages.create(
        model="gpt-5-mini",
        max_tokens=2000,
        messages=[{"role": "user", "content": "[sim:reply priced] hi"}],
    )
    assert text_of(message) == "priced"
    (record,) = gateway.records()
    usage = record["ai"]["proxy"]["usage"]
    assert record["ai"]["proxy"]["meta"]["provider_name"] == "anthropic"
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    # gpt-5-mini: $0.25 per million input tokens ($0.025 cached), $2 per million output tokens
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    expected = (usage["prompt_tokens"] - cached) * 0.25 + cached * 0.025
    expected += usage["completion_tokens"] * 2
    assert usage["completion_tokens"] > 0
    assert usage["cost"] == pytest.approx(expected / 1e6)
