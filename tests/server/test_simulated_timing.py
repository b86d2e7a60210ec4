"""`serve --upstream simulated` answers a newcomer's first question in about a second by default
(`fast`), takes each model's own time with `--simulated-timing realistic`, none with `instant`;
measured through the gateway with the anthropic SDK over a real socket."""

from __future__ import annotations

import time

import anthropic
import pytest

from claude_gw.config import ConfigError, Settings
from claude_gw.server.runner import build_gateway
from tests.servers import ServerThread


def first_token_s(timing: str, model: str, tmp_path) -> tuple[float, float]:
    """(seconds to the first text delta, seconds to the end) of one streamed answer."""
    settings = Settings(
        upstream_url="simulated", simulated_timing=timing, log_path=tmp_path / f"{timing}.json"
    )
    with (
        ServerThread(build_gateway(settings)) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="x", max_retries=0) as client,
    ):
        start = time.perf_counter()
        first = None
        with client.messages.stream(
            model=model, max_tokens=4096, messages=[{"role": "user", "content": "say hi"}]
        ) as stream:
            for _ in stream.text_stream:
                first = first or time.perf_counter() - start
        return first or float("nan"), time.perf_counter() - start


def test_the_default_answers_gpt_5_mini_in_about_a_second(tmp_path):
    assert Settings().simulated_timing == "fast"
    first, whole = first_token_s("fast", "gpt-5-mini", tmp_path)
    assert first < 2.0 and whole < 3.0  # realistic: about 15 s to the first token


def test_realistic_timing_takes_the_models_own_time_and_instant_none(tmp_path):
    # gpt-4.1-mini's profile: under a second to the first token when realistic (a model without
    # reasoning), so that the comparison stays short; fast is a twentieth of it
    realistic, _ = first_token_s("realistic", "gpt-4.1-mini", tmp_path)
    fast, _ = first_token_s("fast", "gpt-4.1-mini", tmp_path)
    instant, _ = first_token_s("instant", "gpt-4.1-mini", tmp_path)
    assert realistic > 0.3
    assert fast < realistic / 5
    assert instant < fast + 0.05


def test_the_timing_comes_from_the_environment_and_a_wrong_one_is_named():
    env = {"CLAUDE_GW_UPSTREAM": "simulated", "CLAUDE_GW_SIMULATED_TIMING": "realistic"}
    assert Settings.from_env(env).simulated_timing == "realistic"
    with pytest.raises(ConfigError, match="CLAUDE_GW_SIMULATED_TIMING"):
        Settings.from_env({**env, "CLAUDE_GW_SIMULATED_TIMING": "slow"})
