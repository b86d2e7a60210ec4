"""Server profiles: the same Anthropic request, written for OpenAI or for a compatible server
(llama-cpp-python, vLLM, Ollama, LM Studio, OpenRouter...)."""

from typing import Any

import pytest

from claude_gw.config import SERVER_PROFILES
from claude_gw.translate.models import target_for
from claude_gw.translate.profiles import PROFILES, apply_profile, choose_profile
from claude_gw.translate.request import anthropic_to_openai
from claude_gw.wire import AnthropicRequest

TOOL_LOOP: AnthropicRequest = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 10,
    "metadata": {"user_id": "someone"},
    "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": "list files"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"}],
        },
    ],
}


def written(model: str, profile: str) -> dict[str, Any]:
    target = target_for(model)
    request = anthropic_to_openai(TOOL_LOOP, target=target)
    return dict(apply_profile(request, PROFILES[profile], reasoning=target.reasoning))


@pytest.mark.parametrize(
    ("url", "provider", "explicit", "expected"),
    [
        pytest.param("https://api.openai.com/v1", None, None, "openai", id="openai"),
        pytest.param("https://team.openai.azure.com/openai/v1", None, None, "openai", id="azure"),
        pytest.param("https://x.cognitiveservices.azure.com/v1", None, None, "openai", id="azure2"),
        pytest.param("http://127.0.0.1:8080/v1", None, None, "compatible", id="loopback"),
        pytest.param("http://localhost:11434/v1", None, None, "compatible", id="ollama_port"),
        pytest.param("https://openrouter.ai/api/v1", None, None, "compatible", id="openrouter"),
        pytest.param("https://api.openai.com.evil.test/v1", None, None, "compatible", id="spoof"),
        pytest.param("simulated", None, None, "openai", id="simulated_backend"),
        pytest.param("http://10.0.0.5:8000/v1", "openai", None, "openai", id="provider_openai"),
        pytest.param("https://api.openai.com/v1", "vllm", None, "compatible", id="provider_vllm"),
        pytest.param("http://127.0.0.1:1/v1", "Azure", None, "openai", id="provider_case"),
        pytest.param("https://api.openai.com/v1", None, "compatible", "compatible", id="override"),
        pytest.param("http://127.0.0.1:1/v1", "ollama", "openai", "openai", id="override_wins"),
    ],
)
def test_choose_profile(url, provider, explicit, expected):
    assert choose_profile(url, provider, explicit).name == expected


def test_config_offers_exactly_the_profiles_there_are():
    assert set(SERVER_PROFILES) == set(PROFILES)


def test_openai_profile_keeps_openai_parameters_and_null_tool_call_content():
    out = written("gpt-4.1", "openai")
    assert out["max_completion_tokens"] == 10 and "max_tokens" not in out
    assert out["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
        ],
    }
    assert out["user"].startswith("cgw-")


def test_compatible_profile_sends_max_tokens_empty_content_and_no_user():
    # llama-cpp-python 0.3.36 ignores max_completion_tokens and answers 500 to content null
    out = written("smollm2", "compatible")
    assert out["max_tokens"] == 10 and "max_completion_tokens" not in out
    assert out["messages"][1]["content"] == ""
    assert out["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert "user" not in out
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "tool"]


def test_compatible_profile_keeps_max_completion_tokens_for_openai_reasoning_models():
    # OpenAI's reasoning models refuse max_tokens, also behind a compatible proxy
    out = written("openai/gpt-5-mini", "compatible")
    assert out["max_completion_tokens"] == 10 and "max_tokens" not in out


def test_compatible_profile_names_the_default_tool_choice():
    # llama-cpp-python's chatml-function-calling takes a missing tool_choice for `none` and
    # leaves the tools out of the prompt; the Claude CLI never sends one
    assert "tool_choice" not in TOOL_LOOP
    assert written("smollm2", "compatible")["tool_choice"] == "auto"
    assert "tool_choice" not in written("gpt-4.1", "openai")


@pytest.mark.parametrize("choice", ["none", {"type": "function", "function": {"name": "Bash"}}])
def test_compatible_profile_keeps_a_tool_choice_the_client_made(choice):
    request = anthropic_to_openai(TOOL_LOOP, target=target_for("smollm2"))
    request["tool_choice"] = choice
    out = apply_profile(request, PROFILES["compatible"], reasoning=False)
    assert out["tool_choice"] == choice


def test_compatible_profile_adds_no_tool_choice_without_tools():
    request: AnthropicRequest = {**TOOL_LOOP, "tools": [], "messages": TOOL_LOOP["messages"][:1]}
    out = apply_profile(
        anthropic_to_openai(request, target=target_for("smollm2")),
        PROFILES["compatible"],
        reasoning=False,
    )
    assert "tool_choice" not in out
