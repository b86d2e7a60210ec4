"""`session_time` on hand-built sessions whose wall, model and client times are worked out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from claude_gw.analysis.timing import session_time
from claude_gw.logs.schema import conform_polars, to_pandas

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def call(at_s: float, session: str | None, latency_ms: float | None, **fields) -> dict[str, Any]:
    return {
        "time": T0 + timedelta(seconds=at_s),
        "session_id": session,
        "endpoint": "messages",
        "latency_ms": latency_ms,
        **fields,
    }


def log(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return conform_polars(pl.DataFrame(rows, infer_schema_length=None))


def tool_session() -> pl.DataFrame:
    """s-tools: calls at 0 s (2 s long, ttft 0.5 s), 5 s (1 s, ttft 0.25 s), 10 s (4 s, failed,
    ttft ignored). s-parallel: calls at 0 s (3 s) and 1 s (4 s) overlap, then one at 8 s (1 s).
    A count_tokens call of s-tools at 20 s is left out."""
    return log(
        [
            call(0, "s-tools", 2000, ttft_ms=500),
            call(5, "s-tools", 1000, ttft_ms=250),
            call(10, "s-tools", 4000, ttft_ms=100, error_type="upstream"),
            call(20, "s-tools", 9000, endpoint="count_tokens"),
            call(0.5, "s-parallel", 3000),
            call(1.5, "s-parallel", 4000),
            call(8.5, "s-parallel", 1000),
        ]
    )


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_time_between_calls_is_the_clients(engine: str) -> None:
    frame = tool_session()
    table = session_time(frame if engine == "polars" else to_pandas(frame))
    row = table.filter(pl.col("session_id") == "s-tools").row(0, named=True)
    # wall: 0 s to 10 + 4 = 14 s; in calls: 2 + 1 + 4 = 7 s; client: gaps 2-5 and 6-10 = 3 + 4
    assert row["requests"] == 3
    assert row["wall_s"] == pytest.approx(14.0)
    assert row["model_s"] == pytest.approx(7.0)
    assert row["client_s"] == pytest.approx(7.0)
    assert row["model_share"] == pytest.approx(0.5)
    # first tokens of the successful calls only: 0.5 + 0.25
    assert row["first_token_s"] == pytest.approx(0.75)


def test_overlapping_calls_count_once() -> None:
    row = (
        session_time(tool_session()).filter(pl.col("session_id") == "s-parallel").row(0, named=True)
    )
    # intervals 0.5-3.5 and 1.5-5.5 merge into 0.5-5.5 (5 s), then 8.5-9.5 (1 s): 6 s of 9 s
    assert row["wall_s"] == pytest.approx(9.0)
    assert row["model_s"] == pytest.approx(6.0)
    assert row["client_s"] == pytest.approx(3.0)
    assert row["first_token_s"] is None


def test_sessions_come_in_order_of_their_start() -> None:
    assert session_time(tool_session())["session_id"].to_list() == ["s-tools", "s-parallel"]


def test_a_call_without_latency_is_an_instant() -> None:
    row = session_time(log([call(0, "s", None), call(3, "s", 1000)])).row(0, named=True)
    # 0 s (instant) and 3-4 s: wall 4 s, 1 s in calls, 3 s waiting on the client
    assert (row["wall_s"], row["model_s"], row["client_s"]) == pytest.approx((4.0, 1.0, 3.0))
