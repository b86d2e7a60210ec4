"""`summary()` checked against figures computed independently from the raw JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from claude_gw.analysis.metrics import summary, summary_total
from claude_gw.logs.read import read_logs

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"


def kong_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in KONG.read_text().splitlines()]


def expected_by_model() -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in kong_records():
        meta = record["ai"]["proxy"]["meta"]
        model = meta["request_model"] if meta["request_model"] != "UNSPECIFIED" else "(unknown)"
        groups.setdefault(model, []).append(record)
    expected = {}
    for model, records in groups.items():
        usage = [r["ai"]["proxy"]["usage"] for r in records]
        latency = [r["latencies"]["request"] for r in records]
        completion = sum(u["completion_tokens"] for u in usage)
        logged = [
            u["completion_tokens_details"]["reasoning_tokens"]
            for u in usage
            if "reasoning_tokens" in u.get("completion_tokens_details", {})
        ]
        reasoning = sum(logged) if logged else None  # Kong's `{}`: not logged, so not 0
        with_reasoning = [
            u["completion_tokens"]
            for u in usage
            if "reasoning_tokens" in u.get("completion_tokens_details", {})
        ]
        expected[model] = {
            "requests": len(records),
            "error_rate": sum(r["response"]["status"] >= 400 for r in records) / len(records),
            "p50_latency_ms": float(np.percentile(latency, 50)),
            "p95_latency_ms": float(np.percentile(latency, 95)),
            "prompt_tokens": sum(u["prompt_tokens"] for u in usage),
            "completion_tokens": completion,
            "reasoning_tokens": reasoning,
            "reasoning_share": reasoning / sum(with_reasoning)
            if reasoning is not None and sum(with_reasoning)
            else None,
            "cost": sum(u["cost"] for u in usage),
        }
    return expected


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_summary_by_model_matches_the_raw_kong_lines(engine):
    table = summary(read_logs(KONG, engine=engine, cost="logged"), by="model")
    rows = {row["model"]: row for row in table.iter_rows(named=True)}
    expected = expected_by_model()
    assert set(rows) == set(expected)
    for model, want in expected.items():
        got = rows[model]
        for key, value in want.items():
            assert got[key] == (pytest.approx(value) if value is not None else None), (model, key)


def test_tokens_per_second_counts_successful_calls_only():
    table = summary(read_logs(KONG), by="model")
    row = table.filter(pl.col("model") == "gpt-5").row(0, named=True)
    ok = [
        r
        for r in kong_records()
        if r["ai"]["proxy"]["meta"]["request_model"] == "gpt-5" and r["response"]["status"] < 400
    ]
    tokens = sum(r["ai"]["proxy"]["usage"]["completion_tokens"] for r in ok)
    seconds = sum(r["ai"]["proxy"]["meta"]["llm_latency"] for r in ok) / 1000
    assert row["tokens_per_s"] == pytest.approx(tokens / seconds)


@pytest.mark.parametrize(("by", "key"), [("session", "session_id"), ("day", "day")])
def test_summary_by_session_and_day_covers_every_model_call(by, key):
    frame = read_logs(KONG)
    table = summary(frame, by=by)
    assert key in table.columns
    assert table["requests"].sum() == frame.filter(pl.col("endpoint") != "count_tokens").height


def test_summary_rejects_an_unknown_grouping():
    with pytest.raises(ValueError, match="by must be one of"):
        summary(read_logs(KONG), by="week")  # type: ignore[arg-type]  # the unknown grouping under test


DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_gpt_4o_tokens_per_second_uses_only_calls_with_both_parts(engine):
    # data/kong-older.json has 7 gpt-4o calls (Kong 3.6, 3.7 and 3.8 shapes) with 422
    # completion tokens in all, but only the 3.8 call logs an upstream latency (`llm_latency`):
    # 16 tokens in 564 ms. Dividing all 422 tokens by those 0.564 s gave 748 tokens/s.
    table = summary(read_logs(DATA / "kong-older.json", engine=engine))
    row = table.filter(pl.col("model") == "gpt-4o").row(0, named=True)
    assert row["completion_tokens"] == 10 + 34 + 142 + 90 + 34 + 96 + 16 == 422
    assert row["tokens_per_s"] == pytest.approx(16 / 0.564)  # 28.4 tokens/s


def test_cached_and_reasoning_sums_are_null_when_no_call_logs_them():
    # Kong before 3.11 logs no token details: 0 would claim that no token was cached.
    row = summary(read_logs(DATA / "kong-older.json")).filter(pl.col("model") == "gpt-4o")
    assert row["cached_tokens"].item() is None and row["reasoning_share"].item() is None


def test_kong_tutorial_costs_are_computed_not_zero():
    # gpt-5-mini has no costs configured in the tutorial, so Kong logs 0 for its 4 calls;
    # at genai-prices' list prices (0.25 input, 0.025 cached, 2 output per 1M tokens):
    by_hand = (
        212 * 0.25 + 87 * 2
        + 14231 * 0.25 + 612 * 2
        + (15388 - 13824) * 0.25 + 13824 * 0.025 + 241 * 2
        + 25 * 0.25 + 456 * 2
    ) / 1e6  # fmt: skip
    row = summary(read_logs(KONG)).filter(pl.col("model") == "gpt-5-mini").row(0, named=True)
    assert row["prompt_tokens"] == 29856
    assert row["cost"] == pytest.approx(by_hand, rel=1e-12)
    assert (row["computed"], row["unpriced"]) == (4, 0)


def test_summary_takes_a_cost_mode():
    logged = summary(read_logs(KONG), cost="logged").filter(pl.col("model") == "gpt-5-mini")
    assert logged["cost"].item() == 0.0  # Kong's zeros, as written


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        ("capture", ["hello-bash", "parallel-tools", "two-rounds"]),
        ("agent", ["main"]),
        ("cost_source", ["logged"]),
        ("provider", ["simulated"]),
        ("target", ["(original)"]),
    ],
)
def test_summary_groups_by_the_new_columns(by, keys):
    table = summary(read_logs(DATA / "claude_gw-sessions.json"), by=by)
    assert table[table.columns[0]].to_list() == keys
    assert table["requests"].sum() == 7


def test_summary_by_replay_target_never_pools_targets():
    table = summary(read_logs(DATA / "replay.json"), by="target")
    assert table["target"].to_list() == ["gpt-4.1", "gpt-5-mini-responses", "gpt-5-nano"]
    assert table["requests"].to_list() == [7, 7, 7]


def test_main_agent_and_subagents_are_told_apart():
    frame = read_logs(DATA / "claude_gw-sessions.json")
    frame = frame.with_columns(
        agent_id=pl.when(pl.col("source_line") == 3).then(pl.lit("agent-1")).otherwise(None)
    )
    table = summary(frame, by="agent")
    assert table.select("agent", "requests").rows() == [("main", 6), ("subagent", 1)]


def random_log(draw_rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    from datetime import UTC, datetime, timedelta

    from claude_gw.logs.schema import conform_polars

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "time": t0 + timedelta(hours=hours),
            "endpoint": endpoint,
            "request_model": model,
            "session_id": session,
            "agent_id": agent,
            "capture": capture,
            "replay_target": target,
            "provider": provider,
            "error_type": error,
            "prompt_tokens": prompt,
            "cached_tokens": cached,
            "completion_tokens": completion,
            "reasoning_tokens": reasoning,
            "upstream_latency_ms": upstream,
            "latency_ms": upstream,
            "cost": cost,
            "cost_source": None if cost is None else source,
        }
        for (hours, endpoint, model, session, agent, capture, target, provider, error, prompt,
             cached, completion, reasoning, upstream, cost, source) in draw_rows
    ]  # fmt: skip
    return conform_polars(pl.DataFrame(rows, infer_schema_length=None))


def maybe(strategy):
    from hypothesis import strategies as st

    return st.one_of(st.none(), strategy)


def log_rows():
    from hypothesis import strategies as st

    names = st.sampled_from(["a", "b", "c"])
    return st.lists(
        st.tuples(
            st.integers(0, 24 * 5),
            st.sampled_from(["messages", "messages", "count_tokens"]),
            maybe(names),
            maybe(names),
            maybe(names),
            maybe(names),
            maybe(names),
            maybe(st.sampled_from(["openai", "simulated"])),
            maybe(st.just("api_error")),
            maybe(st.integers(0, 10**6)),
            maybe(st.integers(0, 10**5)),
            maybe(st.integers(0, 10**5)),
            maybe(st.integers(0, 10**4)),
            maybe(st.floats(0, 60_000)),
            maybe(st.floats(0, 10, allow_nan=False)),
            st.sampled_from(["logged", "computed", "none"]),
        ),
        max_size=40,
    )


TOTALS = ("requests", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")


def _settings():
    from hypothesis import HealthCheck, settings

    return settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _given():
    from hypothesis import given

    return given(rows=log_rows(), by=__import__("hypothesis").strategies.sampled_from(BYS))


BYS = ["model", "session", "day", "capture", "agent", "target", "cost_source", "provider"]


@_settings()
@_given()
def test_group_totals_equal_the_sum_of_their_rows_in_both_engines(rows, by):
    from claude_gw.analysis.stats import stats
    from claude_gw.logs.schema import to_pandas

    frame = random_log(rows)
    calls = frame.filter(pl.col("endpoint") != "count_tokens")
    for table in (summary(frame, by=by), stats(frame, by=by)):
        assert table["requests"].sum() == calls.height
        for column in TOTALS[1:]:
            assert table[column].sum() == calls[column].sum(), column
        assert table["cost"].sum() == pytest.approx(calls["cost"].sum(), rel=1e-9, abs=1e-12)
        assert table["unpriced"].sum() == calls["cost"].null_count()
        assert table["computed"].sum() == (calls["cost_source"] == "computed").sum()
    assert summary(to_pandas(frame), by=by).equals(summary(frame, by=by))
    assert stats(to_pandas(frame), by=by).equals(stats(frame, by=by))
    if calls.height:
        total = summary_total(frame).row(0, named=True)
        grouped = summary(frame, by=by)
        for column in ("requests", "computed", "unpriced", *TOTALS[1:]):
            assert (total[column] or 0) == grouped[column].sum(), column
        assert (total["cost"] or 0) == pytest.approx(grouped["cost"].sum(), abs=1e-12)
        assert summary_total(to_pandas(frame)).equals(summary_total(frame))
