"""`reprice()` against prices worked out by hand from genai-prices' published gpt-4.1 rates
($2 per million input tokens, $0.50 cached, $8 output)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from claude_gw.analysis.pricing import cost_on_models, reprice, request_costs, target_ref
from claude_gw.logs import read_logs
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


DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_a_model_repriced_on_itself_is_exactly_one(engine):
    # data/kong-3.13.json: Kong logs 0 for gpt-5-mini (no costs configured), so the default
    # cost mode computes those 4 costs from the tokens; re-pricing the same rows on
    # gpt-5-mini gives the same sum. (It was 2.08: 5 rows re-priced over 4 with a cost.)
    row = reprice(read_logs(DATA / "kong-3.13.json", engine=engine), ["gpt-5-mini"]).filter(
        pl.col("model") == "gpt-5-mini"
    )
    assert row["requests"].item() == 4  # the 429 call has nothing to price
    assert row["ratio"].item() == 1.0


def test_claude_gw_records_repriced_on_their_own_model_are_exactly_one():
    table = reprice(read_logs(DATA / "claude_gw-sessions.json"), ["gpt-5-mini", "gpt-5-nano"])
    own = table.filter(pl.col("model") == pl.col("target"))
    assert own["ratio"].to_list() == [1.0, 1.0]


@pytest.mark.parametrize("cost", ["auto", "logged"])
def test_gpt_4o_repriced_on_gpt_4_1_is_the_list_price_ratio(cost):
    # data/kong-older.json: 7 gpt-4o calls (22911 prompt, 422 completion tokens, no cached
    # counts). Only the Kong 3.8 call logs a cost: (1814 * 2.5 + 16 * 10) / 1e6 = 0.004695.
    # `auto` prices the other 6 from their tokens; `logged` compares that one call only.
    # Either way both sides cover the same calls: gpt-4.1 / gpt-4o = 2 / 2.5 = 8 / 10 = 0.8.
    # (It was 10.48: the re-priced cost of 7 calls over the logged cost of 1.)
    table = reprice(read_logs(DATA / "kong-older.json"), ["gpt-4.1"], cost=cost)
    row = table.filter(pl.col("model") == "gpt-4o").row(0, named=True)
    if cost == "auto":
        assert (row["requests"], row["prompt_tokens"], row["completion_tokens"]) == (7, 22911, 422)
        assert row["logged_cost"] == pytest.approx((22911 * 2.5 + 422 * 10) / 1e6)
        assert row["repriced_cost"] == pytest.approx((22911 * 2 + 422 * 8) / 1e6)
    else:
        assert (row["requests"], row["logged_cost"]) == (1, 0.004695)
        assert row["repriced_cost"] == pytest.approx((1814 * 2 + 16 * 8) / 1e6)
    assert row["ratio"] == pytest.approx(0.8)


def test_the_whole_log_on_each_candidate_model():
    frame = read_logs(DATA / "kong-3.13.json")
    table = cost_on_models(frame, ["gpt-4.1", ("claude-haiku-4-5", "anthropic"), "no-such-model"])
    assert table.columns == ["candidate", "provider", "requests", "cost", "log_cost",
                             "log_requests", "ratio"]  # fmt: skip
    gpt41, haiku, unknown = table.iter_rows(named=True)
    # 9 successful calls have tokens (4 failed calls cost nothing on any model); on gpt-4.1
    # (2 input, 0.5 cached, 8 output per 1M): sums over those 9 calls, by hand
    prompt = 212 + 14231 + 15388 + 25 + 16924 + 18102 + 13977 + 14502 + 96
    cached = 13824 + 14848 + 16896 + 13696
    completion = 87 + 612 + 241 + 456 + 1422 + 318 + 389 + 74 + 11
    on_gpt41 = ((prompt - cached) * 2 + cached * 0.5 + completion * 8) / 1e6
    assert (gpt41["requests"], gpt41["cost"]) == (9, pytest.approx(on_gpt41, rel=1e-12))
    assert gpt41["log_requests"] == 13  # every model call's cost is known (4 of them are 0)
    assert gpt41["log_cost"] == pytest.approx(frame["cost"].sum())
    assert gpt41["ratio"] == pytest.approx(on_gpt41 / frame["cost"].sum())
    on_haiku = ((prompt - cached) * 1 + cached * 0.1 + completion * 5) / 1e6
    assert (haiku["provider"], haiku["cost"]) == ("anthropic", pytest.approx(on_haiku))
    assert (unknown["cost"], unknown["ratio"]) == (None, None)  # unpriced, never free
