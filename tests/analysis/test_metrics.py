"""`summary()` checked against figures computed independently from the raw JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from claude_gw.analysis.metrics import summary
from claude_gw.logs.read import read_logs

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"


def kong_records() -> list[dict]:
    return [json.loads(line) for line in KONG.read_text().splitlines()]


def expected_by_model() -> dict[str, dict]:
    groups: dict[str, list[dict]] = {}
    for record in kong_records():
        meta = record["ai"]["proxy"]["meta"]
        model = meta["request_model"] if meta["request_model"] != "UNSPECIFIED" else "(unknown)"
        groups.setdefault(model, []).append(record)
    expected = {}
    for model, records in groups.items():
        usage = [r["ai"]["proxy"]["usage"] for r in records]
        latency = [r["latencies"]["request"] for r in records]
        completion = sum(u["completion_tokens"] for u in usage)
        reasoning = sum(
            u.get("completion_tokens_details", {}).get("reasoning_tokens", 0) for u in usage
        )
        expected[model] = {
            "requests": len(records),
            "error_rate": sum(r["response"]["status"] >= 400 for r in records) / len(records),
            "p50_latency_ms": float(np.percentile(latency, 50)),
            "p95_latency_ms": float(np.percentile(latency, 95)),
            "prompt_tokens": sum(u["prompt_tokens"] for u in usage),
            "completion_tokens": completion,
            "reasoning_tokens": reasoning,
            "reasoning_share": reasoning / completion if completion else None,
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
        summary(read_logs(KONG), by="week")  # type: ignore[arg-type]
