"""Context windows: genai-prices' figure or --context-window, and the refusal wording."""

import pytest

from claude_gw.errors import PromptTooLong
from claude_gw.server.context_window import check_fits, may_exceed, model_window, window_for


@pytest.mark.parametrize(
    ("model", "provider", "window"),
    [
        ("gpt-5-mini", "openai", 400_000),
        ("gpt-4.1", "openai", 1_000_000),
        ("gpt-5-mini-simulated", "simulated", 400_000),
        ("claude-sonnet-4-5", "anthropic", 200_000),
        ("gpt-4.1", "anthropic", 1_000_000),  # an OpenAI model behind an Anthropic-shaped proxy
        ("smollm2", "openai", None),
    ],
)
def test_model_window_from_genai_prices(model, provider, window):
    assert model_window(model, provider) == window


def test_configured_window_wins():
    assert window_for("gpt-5-mini", "openai", 8192) == 8192
    assert window_for("smollm2", "openai", None) is None


def test_only_a_body_longer_than_the_window_in_bytes_is_counted():
    assert not may_exceed(8192, 8192)
    assert may_exceed(8193, 8192)
    assert not may_exceed(10**9, None)


def test_over_the_window_is_refused_in_the_words_the_cli_compacts_on():
    check_fits(8192, 8192)
    with pytest.raises(PromptTooLong) as raised:
        check_fits(9000, 8192)
    assert raised.value.http_status == 400
    assert raised.value.to_body() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 9000 tokens > 8192 maximum",
        },
    }
