"""`reprice()` against prices worked out by hand from genai-prices' published gpt-4.1 rates
($2 per million input tokens, $0.50 cached, $8 output)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from claude_gw.analysis.pricing import reprice, request_costs, target_ref
from claude_gw.logs.schema import conform_polars, to_pandas

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def hand_built() -> pl.DataFrame:
    """Two gpt-5 calls with known tokens, one call without token counts (a rejected request)
    and a count_tokens call: only the first two are priced."""
    base = {"time": T0, "request_model": "gpt-5", "endpoint": "messages"}
    rows = [
        base | {"prompt_tokens": 1_000_000, "cached_tokens": 500_000, "completion_tokens": 100_000,
                "cost": 3.0},
        base | {"prompt_tokens": 1_000_000, "cached_tokens": None, "completion_tokens": 0,
                "cost": 1.0},
        base | {"prompt_tokens": None, "completion_tokens": None, "cost": None},
        base | {"endpoint": "count_tokens", "prompt_tokens": 5_000_000, "completion_tokens": 0},
    ]  # fmt: skip
    return conform_polars(pl.DataFrame(rows, infer_schema_length=None))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # 0.5M input at $2 + 0.5M cached at $0.50 + 0.1M output at $8 = 2.05; then 1M input: 2.0
        pytest.param("gpt-4.1", 4.05, id="openai_model_by_id"),
        pytest.param(("gpt-4.1", "openai"), 4.05, id="model_and_provider_pair"),
        pytest.param("no-such-model-anywhere", None, id="unknown_model_is_null_not_free"),
    ],
)
@pytest.mark.parametrize(
    "engine", [pytest.param("polars", id="polars"), pytest.param("pandas", id="pandas")]
)
def test_repricing_uses_input_cached_and_output_prices(target, expected, engine):
    frame = hand_built() if engine == "polars" else to_pandas(hand_built())
    row = reprice(frame, [target]).row(0, named=True)
    assert row["model"] == "gpt-5"
    assert row["target"] == target_ref(target)[0]
    assert row["requests"] == 2
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (
        2_000_000,
        500_000,
        100_000,
    )
    assert row["logged_cost"] == pytest.approx(4.0)
    assert row["repriced_cost"] == (pytest.approx(expected) if expected is not None else None)
    assert row["ratio"] == (pytest.approx(expected / 4.0) if expected is not None else None)


def test_one_row_per_logged_model_and_target():
    table = reprice(hand_built(), ["gpt-4.1", "gpt-5-mini"])
    assert table.select("model", "target").rows() == [("gpt-5", "gpt-4.1"), ("gpt-5", "gpt-5-mini")]


def test_no_targets_give_an_empty_table_with_the_documented_columns():
    table = reprice(hand_built(), [])
    assert table.height == 0
    assert table.columns == reprice(hand_built(), ["gpt-4.1"]).columns


def test_request_costs_are_per_row_and_null_without_token_counts():
    costs = request_costs(hand_built(), "gpt-4.1")
    assert costs.to_list()[:3] == [pytest.approx(2.05), pytest.approx(2.0), None]
