"""Pricing with the offline genai-prices table (claude_gw/logs/cost.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
import pytest
from genai_prices import data_snapshot
from genai_prices.types import TieredPrices
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_gw.logs.cost import (
    Price,
    entry_price,
    find_model,
    linear_rates,
    price_usage,
    pricing_ref,
)

AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def reference_cost(model: str, prompt: int, cached: int, completion: int) -> float:
    """The price straight from genai-prices, to compare against."""
    usage = genai_prices.Usage(
        input_tokens=prompt, cache_read_tokens=cached, output_tokens=completion
    )
    calc = genai_prices.calc_price(
        usage, model_ref=model, provider_id="openai", genai_request_timestamp=AT
    )
    return float(calc.total_price)


@pytest.mark.parametrize(
    ("model", "provider", "priced_as"),
    [
        pytest.param("gpt-5-mini", "openai", "gpt-5-mini", id="gpt_5_mini"),
        pytest.param("gpt-5-mini-2025-08-07", "openai", "gpt-5-mini", id="dated_id"),
        pytest.param("gpt-4.1", "openai", "gpt-4.1", id="gpt_4_1"),
        pytest.param("gpt-4.1-2025-04-14", "openai", "gpt-4.1", id="gpt_4_1_dated"),
        pytest.param("gpt-5-nano", "openai", "gpt-5-nano", id="gpt_5_nano"),
        pytest.param("gpt-5-mini-simulated", "simulated", "gpt-5-mini", id="simulated_suffix"),
        pytest.param("gpt-5-nano", "simulated", "gpt-5-nano", id="simulated_no_suffix"),
    ],
)
def test_known_models_are_priced_like_genai_prices(
    model: str, provider: str, priced_as: str
) -> None:
    price = price_usage(
        model,
        provider=provider,
        prompt_tokens=15388,
        cached_tokens=13824,
        completion_tokens=241,
        at=AT,
    )
    assert price == Price(reference_cost(priced_as, 15388, 13824, 241), "genai-prices")
    assert price.cost is not None and price.cost > 0


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        pytest.param("no-such-model-xyz", "openai", id="unknown_model"),
        pytest.param("qwen2.5-coder-local", "openai", id="local_server_model"),
        pytest.param("gpt-5-mini", "no-such-provider", id="unknown_provider"),
        pytest.param("", "openai", id="empty_model"),
    ],
)
def test_unknown_models_are_unpriced_never_free(model: str, provider: str) -> None:
    price = price_usage(
        model, provider=provider, prompt_tokens=1000, cached_tokens=0, completion_tokens=10
    )
    assert price == Price(None, "unpriced")


def test_zero_tokens_of_a_known_model_cost_zero() -> None:
    price = price_usage(
        "gpt-5-mini", provider="openai", prompt_tokens=0, cached_tokens=0, completion_tokens=0
    )
    assert price == Price(0.0, "genai-prices")


def test_input_tokens_include_the_cache_reads_like_openai_prompt_tokens() -> None:
    # All of the prompt read from the cache costs only the cache-read rate (gpt-5-mini:
    # $0.25/MTok input, $0.025/MTok cached): so genai-prices' input_tokens includes cache reads.
    all_cached = price_usage(
        "gpt-5-mini",
        provider="openai",
        prompt_tokens=1_000_000,
        cached_tokens=1_000_000,
        completion_tokens=0,
        at=AT,
    )
    none_cached = price_usage(
        "gpt-5-mini",
        provider="openai",
        prompt_tokens=1_000_000,
        cached_tokens=0,
        completion_tokens=0,
        at=AT,
    )
    found = find_model("gpt-5-mini", "openai")
    assert found is not None
    model_price = found[1].get_prices(AT)
    assert Decimal(str(all_cached.cost)) == model_price.cache_read_mtok
    assert Decimal(str(none_cached.cost)) == model_price.input_mtok


def test_more_cached_than_prompt_tokens_is_clamped_not_an_error() -> None:
    price = price_usage(
        "gpt-5-mini", provider="openai", prompt_tokens=10, cached_tokens=50, completion_tokens=0
    )
    assert price.source == "genai-prices"
    assert price.cost == pytest.approx(reference_cost("gpt-5-mini", 10, 10, 0))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"prompt_tokens": "many"}, id="string_count"),
        pytest.param({"prompt_tokens": None}, id="none_count"),
        pytest.param({"completion_tokens": float("nan")}, id="nan_count"),
    ],
)
def test_pricing_never_raises_on_bad_input(bad: dict[str, Any]) -> None:
    counts: dict[str, Any] = {"prompt_tokens": 1, "cached_tokens": 0, "completion_tokens": 1}
    counts.update(bad)
    price = price_usage("gpt-5-mini", provider="openai", **counts)
    assert price == Price(None, "unpriced")


def test_pricing_runs_offline_with_the_bundled_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # genai-prices only fetches when someone starts its UpdatePrices task; nothing does.
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("genai-prices tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    find_model.cache_clear()
    price = price_usage(
        "gpt-4.1", provider="openai", prompt_tokens=96, cached_tokens=0, completion_tokens=11
    )
    assert price.source == "genai-prices"
    assert data_snapshot.get_snapshot().from_auto_update is False


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        pytest.param("gpt-5-mini", "openai", ("gpt-5-mini", "openai"), id="openai"),
        pytest.param("gpt-5-mini-simulated", "simulated", ("gpt-5-mini", "openai"), id="simulated"),
        pytest.param("x-simulated", "openai", ("x-simulated", "openai"), id="suffix_only_for_sim"),
    ],
)
def test_pricing_ref_maps_simulated_models_to_what_they_imitate(
    model: str, provider: str, expected: tuple[str, str]
) -> None:
    assert pricing_ref(model, provider) == expected


def test_a_model_is_looked_up_in_the_table_once() -> None:
    find_model.cache_clear()
    for _ in range(3):
        find_model("gpt-5-mini", "openai")
        find_model("no-such-model-xyz", "openai")
    info = find_model.cache_info()
    assert (info.misses, info.hits) == (2, 4)


SNAPSHOT = data_snapshot.get_snapshot()
MODELS = [(p, m) for p in SNAPSHOT.providers for m in p.models]


def genai_prices_total(entry: tuple[Any, Any], prompt: int, cached: int, output: int) -> Any:
    provider, model = entry
    usage = genai_prices.Usage(input_tokens=prompt, cache_read_tokens=cached, output_tokens=output)
    return model.calc_price(usage, provider, genai_request_timestamp=AT).total_price


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(0, len(MODELS) - 1),
    st.integers(0, 2_000_000),
    st.integers(0, 2_000_000),
    st.integers(0, 200_000),
)
def test_every_model_is_priced_exactly_as_genai_prices_prices_it(
    index: int, prompt: int, cached: int, output: int
) -> None:
    # flat prices take the linear shortcut, tiered ones genai-prices' own calculation:
    # either way the figure is genai-prices' to the last digit
    cached = min(cached, prompt)
    try:
        expected = genai_prices_total(MODELS[index], prompt, cached, output)
    except Exception:  # genai-prices cannot price this usage for this model
        return
    assert entry_price(*MODELS[index], AT, prompt, cached, output) == expected


def test_tiered_prices_are_not_taken_for_linear() -> None:
    tiered = next(
        (p, m)
        for p, m in MODELS
        if any(isinstance(v, TieredPrices) for v in vars(m.get_prices(AT)).values())
    )
    assert linear_rates(*tiered, AT) is None
    flat = find_model("gpt-4.1", "openai")
    assert flat is not None and linear_rates(*flat, AT) is not None


def test_an_openai_model_behind_an_anthropic_shaped_upstream_is_priced_as_openai_prices_it():
    # LiteLLM's /v1/messages serving gpt-4.1: the provider is "anthropic" (passthrough), the
    # model OpenAI's. gpt-4.1: $2 per million input tokens, $8 per million output tokens.
    price = price_usage(
        "gpt-4.1", provider="anthropic", prompt_tokens=1000, cached_tokens=0, completion_tokens=100
    )
    assert price.source == "genai-prices"
    assert price.cost == pytest.approx(1000 * 2 / 1e6 + 100 * 8 / 1e6)  # $0.0028


def test_a_local_model_name_is_not_priced_as_some_cloud_model():
    price = price_usage(
        "smollm2", provider="openai", prompt_tokens=1000, cached_tokens=0, completion_tokens=100
    )
    assert price == Price(None, "unpriced")
