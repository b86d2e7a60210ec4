"""`stats()` on a small hand-built log whose every figure is worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from claude_gw.analysis.stats import COLUMNS, stats
from claude_gw.logs import read_logs
from claude_gw.logs.schema import conform_polars, to_pandas

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def call(model: str, latency: float, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"time": T0, "endpoint": "messages", "request_model": model}
    return row | {"latency_ms": latency, "upstream_latency_ms": 1000.0} | fields


def hand_built() -> pl.DataFrame:
    """Model a: 4 calls (the last an error, unpriced, without a session); model b: 1 call and
    a count_tokens call, which is left out."""
    ok = {"prompt_tokens": 100, "error_type": None}
    rows = [
        call("a", 100, ttft_ms=10, completion_tokens=10, reasoning_tokens=5, cached_tokens=50,
             cost=0.1, session_id="s1", time_per_token_ms=2.0, **ok),
        call("a", 200, ttft_ms=20, completion_tokens=20, reasoning_tokens=5, cached_tokens=50,
             cost=0.2, session_id="s1", time_per_token_ms=4.0, **ok),
        call("a", 300, ttft_ms=30, completion_tokens=30, reasoning_tokens=5, cached_tokens=0,
             cost=0.3, session_id="s2", time_per_token_ms=6.0, **ok),
        call("a", 400, ttft_ms=0, completion_tokens=0, prompt_tokens=100, cached_tokens=0,
             error_type="rate_limit_error"),
        call("b", 50, ttft_ms=5, completion_tokens=0, prompt_tokens=0, cost=0.0, session_id="s3"),
        call("b", 1, endpoint="count_tokens", prompt_tokens=999, cost=0.0),
    ]  # fmt: skip
    return conform_polars(pl.DataFrame(rows, infer_schema_length=None))


EXPECTED_A = {
    "requests": 4,
    "errors": 1,
    "error_rate": 0.25,
    "sessions": 2,
    "p50_latency_ms": 250.0,  # linear between 200 and 300
    "p95_latency_ms": 385.0,  # 100 + 0.95 * 3 * 100
    "p99_latency_ms": 397.0,
    "p50_ttft_ms": 20.0,  # successful calls with a TTFT > 0: 10, 20, 30
    "p95_ttft_ms": 29.0,
    "p50_time_per_token_ms": 4.0,
    "tokens_per_s": 20.0,  # 60 tokens over 3 upstream seconds of successful calls
    "prompt_tokens": 400,
    "cached_tokens": 100,
    "completion_tokens": 60,
    "reasoning_tokens": 15,
    "reasoning_share": 0.25,
    "cache_hit_share": 0.25,
    "cost": 0.6,
    "unpriced": 1,
    "cost_per_request": 0.2,  # 0.6 over the 3 priced calls
    "cost_per_1k_requests": 200.0,
    "cost_per_session": 0.3,  # 0.6 over 2 sessions
}


@pytest.mark.parametrize(
    "engine", [pytest.param("polars", id="polars"), pytest.param("pandas", id="pandas")]
)
def test_per_model_stats_match_the_worked_figures(engine):
    frame = hand_built() if engine == "polars" else to_pandas(hand_built())
    table = stats(frame, by="model")
    assert isinstance(table, pl.DataFrame)
    assert table.columns == ["model", *COLUMNS]
    assert table["model"].to_list() == ["a", "b"]
    row = table.row(0, named=True)
    assert {key: row[key] for key in EXPECTED_A} == pytest.approx(EXPECTED_A)


def test_a_model_without_output_has_null_ratios_not_zero_or_nan():
    row = stats(hand_built()).filter(pl.col("model") == "b").row(0, named=True)
    assert row["requests"] == 1  # the count_tokens call is left out
    assert row["reasoning_share"] is None
    assert row["cache_hit_share"] is None
    assert row["cost_per_request"] == 0.0


def test_per_session_stats_group_calls_without_a_session_under_none():
    table = stats(hand_built(), by="session")
    assert table["session_id"].to_list() == ["(none)", "s1", "s2", "s3"]
    assert table["requests"].to_list() == [1, 2, 1, 1]
    assert table.filter(pl.col("session_id") == "s1")["cost"].item() == pytest.approx(0.3)


def test_stats_reject_an_unknown_grouping():
    with pytest.raises(ValueError, match="by must be one of"):
        stats(hand_built(), by="week")  # type: ignore[arg-type]  # the unknown grouping under test


DATA = Path(__file__).resolve().parents[2] / "data"


def test_cache_hit_share_counts_only_calls_that_log_cached_tokens():
    # data/kong-older.json, gpt-4.1: two ai-proxy-advanced calls log cached tokens (12800 of
    # 13697 and 13696 of 17698 prompt tokens); the Kong 3.10 call (6710) and the 429 (18112)
    # log none, so they are not "0 % cached".
    row = stats(read_logs(DATA / "kong-older.json")).filter(pl.col("model") == "gpt-4.1")
    assert row["cache_hit_share"].item() == pytest.approx((12800 + 13696) / (13697 + 17698))
    assert row["prompt_tokens"].item() == 13697 + 17698 + 6710 + 18112


def test_time_per_token_and_tokens_per_second_of_the_kong_sample():
    # data/kong-3.13.json, gpt-5: one 429 (no tokens) and two successful calls:
    # 1422 tokens in 31877 ms and 318 in 12490 ms; time per token 22.417... and 39.276... ms.
    row = stats(read_logs(DATA / "kong-3.13.json")).filter(pl.col("model") == "gpt-5")
    assert row["tokens_per_s"].item() == pytest.approx((1422 + 318) / ((31877 + 12490) / 1000))
    assert row["p50_time_per_token_ms"].item() == pytest.approx((31877 / 1422 + 12490 / 318) / 2)


def test_stats_take_a_cost_mode_and_every_grouping():
    frame = read_logs(DATA / "kong-3.13.json")
    assert stats(frame, cost="logged")["cost"].sum() == pytest.approx(
        0.035375 + 0.0258075 + 0.031066 + 0.029596 + 0.00028
    )
    by_source = stats(frame, by="cost_source")
    assert by_source.select("cost_source", "requests").rows() == [
        ("computed", 4),
        ("logged", 5),
        ("none", 4),
    ]
