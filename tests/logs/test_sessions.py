"""`sessions(df)`: one row per Claude CLI session (claude_gw/logs/session_stats.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claude_gw.logs import read_logs, sessions
from claude_gw.logs.encode import encode_record
from claude_gw.logs.record import build_record
from claude_gw.logs.schema import to_polars
from tests.logs.logfactory import GATEWAY_EXCHANGES, STARTED_AT, UA, as_version, context, kong_line
from tests.logs.logfactory import kong_records as kong

A, B, C = "session-a", "session-b", "session-c"


def ours(name: str, session: str | None, second: float) -> bytes:
    exchange = GATEWAY_EXCHANGES[name]
    headers = [("User-Agent", UA)] + ([("X-Claude-Code-Session-Id", session)] if session else [])
    moved = dataclasses.replace(exchange, started_at=STARTED_AT + second, headers=headers)
    return encode_record(build_record(moved, context())).rstrip(b"\n")


def kong_36(session: str, second: float) -> bytes:
    record = as_version(kong()[1], "3.6")
    record["request"]["headers"]["x-claude-code-session-id"] = session
    record["started_at"] = int((STARTED_AT + second) * 1000)
    return kong_line(record)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    lines = [
        ours("stream_priced", A, 0),
        ours("count_tokens", A, 10),
        ours("upstream_429", A, 20),
        ours("oneshot_subagent", A, 30),
        ours("unpriced_model", B, 5),
        ours("stream_priced", B, 6),
        kong_36(C, -60),
        ours("stream_priced", None, 1),  # no session: left out
    ]
    path = tmp_path / "claude.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def record(line: bytes) -> dict[str, Any]:
    return dict(orjson.loads(line))


def test_one_row_per_session_sorted_by_first_request(log: Path) -> None:
    table = sessions(read_logs(log))
    assert table["session_id"].to_list() == [C, A, B]
    assert table["requests"].to_list() == [1, 4, 2]
    assert table["turns"].to_list() == [1, 3, 2]  # count_tokens is not a turn
    assert table["errors"].to_list() == [0, 1, 0]


def test_tokens_are_summed_and_null_when_no_request_logs_them(log: Path) -> None:
    frame = read_logs(log)
    table = sessions(frame).filter(pl.col("session_id") == A).row(0, named=True)
    in_a = frame.filter(pl.col("session_id") == A)
    for name in ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens"):
        assert table[name] == in_a[name].sum() > 0, name
    kong_row = sessions(frame).filter(pl.col("session_id") == C).row(0, named=True)
    assert kong_row["prompt_tokens"] == 14231 and kong_row["cached_tokens"] is None


def test_cost_is_the_sum_or_null_when_any_request_is_unpriced(log: Path) -> None:
    frame = read_logs(log)
    table = {row["session_id"]: row for row in sessions(frame).iter_rows(named=True)}
    assert table[A]["cost"] == pytest.approx(frame.filter(pl.col("session_id") == A)["cost"].sum())
    assert table[A]["cost"] > 0 and table[A]["unpriced"] == 0
    assert (table[B]["cost"], table[B]["unpriced"]) == (None, 1)  # a qwen model: no price
    # Kong 3.6 logs no cost: computed from the tokens, like every other row without a cost
    kong = frame.filter(pl.col("session_id") == C).row(0, named=True)
    assert (kong["logged_cost"], kong["cost_source"]) == (None, "computed")
    assert (table[C]["cost"], table[C]["unpriced"]) == (kong["cost"], 0)


def test_models_times_and_wall_time(log: Path) -> None:
    row = sessions(read_logs(log)).filter(pl.col("session_id") == A).row(0, named=True)
    assert row["models"] == "gpt-5-mini"
    start = datetime.fromtimestamp(round(STARTED_AT * 1000) / 1000, UTC)
    assert row["first_time"] == start
    assert (row["last_time"] - start).total_seconds() == 30
    oneshot_latency_s = record(ours("oneshot_subagent", A, 30))["latencies"]["request"] / 1000
    assert row["wall_time_s"] == pytest.approx(30 + oneshot_latency_s)
    both = sessions(read_logs(log)).filter(pl.col("session_id") == B)["models"].item()
    assert both == "gpt-5-mini, qwen2.5-coder-32b"


def test_a_pandas_log_gives_a_pandas_table_with_the_same_values(log: Path) -> None:
    table = sessions(read_logs(log, engine="pandas"))
    assert isinstance(table, pd.DataFrame)
    assert str(table["requests"].dtype) == "Int64" and str(table["cost"].dtype) == "Float64"
    assert_frame_equal(pl.from_pandas(table), sessions(read_logs(log)), check_dtypes=False)
    assert_frame_equal(
        sessions(to_polars(read_logs(log, engine="pandas"))), sessions(read_logs(log))
    )


def test_a_log_without_sessions_has_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(kong_line(kong()[0]) + b"\n")
    table = sessions(read_logs(path))
    assert table.height == 0 and "wall_time_s" in table.columns
