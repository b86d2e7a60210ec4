"""`pair()` and `compare()` on hand-built originals and replays with known deltas."""

from __future__ import annotations

import polars as pl
import pytest

from claude_gw.analysis.compare import bootstrap_ci, compare, pair


def originals() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "request_id": ["a", "b", "c", "unreplayed"],
            "request_model": ["gpt-5"] * 4,
            "latency_ms": [100.0, 200.0, 300.0, 1.0],
            "cost": [1.0, 2.0, None, 1.0],
            "tool_calls": [1, 0, 2, 0],
        }
    )


def replays() -> pl.DataFrame:
    """a, b and c replayed on m2; a also on m3; one replay of an unknown original."""
    return pl.DataFrame(
        {
            "original_id": ["a", "b", "c", "a", "zzz"],
            "request_model": ["m2", "m2", "m2", "m3", "m2"],
            "latency_ms": [150.0, 150.0, 360.0, 90.0, 5.0],
            "cost": [2.0, 2.0, 1.0, 1.0, 9.0],
            "tool_calls": [1, 1, 2, 0, 0],
        }
    )


def test_pairs_hold_both_sides_and_the_replay_minus_original_delta():
    pairs = pair(originals(), replays(), replay_key="original_id").sort(
        "request_id", "model_replay"
    )
    assert pairs["request_id"].to_list() == ["a", "a", "b", "c"]  # unpaired rows dropped
    assert pairs["model_original"].to_list() == ["gpt-5"] * 4
    assert pairs["model_replay"].to_list() == ["m2", "m3", "m2", "m2"]
    assert pairs["delta_latency_ms"].to_list() == [50.0, -10.0, -50.0, 60.0]
    assert pairs["delta_cost"].to_list() == [1.0, 0.0, 0.0, None]  # c has no original cost
    assert pairs["delta_tool_calls"].to_list() == [0.0, -1.0, 1.0, 0.0]
    assert pairs.select("cost_original", "cost_replay").row(0) == (1.0, 2.0)


def test_only_metrics_present_on_both_sides_are_paired():
    pairs = pair(originals().drop("cost"), replays(), replay_key="original_id")
    assert "delta_cost" not in pairs.columns
    assert "delta_latency_ms" in pairs.columns


def test_pandas_frames_pair_like_polars_frames():
    from_pandas = pair(originals().to_pandas(), replays().to_pandas(), replay_key="original_id")
    from_polars = pair(originals(), replays(), replay_key="original_id")
    assert from_pandas.sort("request_id", "model_replay").rows() == (
        from_polars.sort("request_id", "model_replay").rows()
    )


def test_compare_summarises_each_replay_model_and_metric():
    table = compare(pair(originals(), replays(), replay_key="original_id"))
    m2 = table.filter((pl.col("model_replay") == "m2") & (pl.col("metric") == "latency_ms"))
    row = m2.row(0, named=True)
    assert row["pairs"] == 3
    assert row["mean_original"] == pytest.approx(200.0)
    assert row["mean_replay"] == pytest.approx(220.0)
    assert row["mean_delta"] == pytest.approx(20.0)
    assert row["median_delta"] == pytest.approx(50.0)
    assert row["ci_low"] <= row["mean_delta"] <= row["ci_high"]
    cost = table.filter((pl.col("model_replay") == "m2") & (pl.col("metric") == "cost"))
    assert cost["pairs"].item() == 2  # the pair without an original cost is left out
    single = table.filter(pl.col("model_replay") == "m3").row(0, named=True)
    assert (single["pairs"], single["ci_low"], single["ci_high"]) == (1, None, None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([3.0, 3.0, 3.0], (3.0, 3.0), id="constant_values_give_a_point"),
        pytest.param([1.0], None, id="one_value_gives_no_interval"),
        pytest.param([], None, id="no_values_give_no_interval"),
    ],
)
def test_bootstrap_interval_of_degenerate_samples(values, expected):
    assert bootstrap_ci(values) == expected


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [float(v) for v in range(20)]
    low, high = bootstrap_ci(values, seed=7)
    assert low < 9.5 < high
    assert bootstrap_ci(values, seed=7) == (low, high)
    narrow = bootstrap_ci(values, seed=7, level=0.5)
    assert narrow is not None and low < narrow[0] < narrow[1] < high
