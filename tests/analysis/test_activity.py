"""`session_lanes` and `over_time` on hand-built logs with known offsets and buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from claude_gw.analysis.activity import bucket_every, over_time, session_lanes, tracks
from claude_gw.logs.schema import conform_polars, to_pandas

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def log(rows: list[dict[str, Any]], *, capture: list[str | None] | None = None) -> pl.DataFrame:
    frame = conform_polars(pl.DataFrame(rows, infer_schema_length=None))
    if capture is not None:
        frame = frame.with_columns(pl.Series("capture", capture, dtype=pl.String))
    return frame


def call(at: timedelta, session: str | None, **fields) -> dict[str, Any]:
    return {"time": T0 + at, "session_id": session, "endpoint": "messages", **fields}


def two_sessions_eleven_months_apart() -> pl.DataFrame:
    """s-late: 2 calls, 1.5 s apart, 11 months after s-early's 3 calls (one fails, one has no
    latency); a count_tokens call of s-early and a call without a time are left out."""
    month = timedelta(days=30)
    rows = [
        call(timedelta(0), "s-early-0001", request_model="a", latency_ms=2000.0),
        call(timedelta(seconds=5), "s-early-0001", request_model="a", latency_ms=None),
        call(
            timedelta(seconds=25),
            "s-early-0001",
            request_model="b",
            latency_ms=500.0,
            error_type="api_error",
        ),
        call(timedelta(seconds=26), "s-early-0001", endpoint="count_tokens"),
        call(11 * month, "s-late-0002", request_model="b", latency_ms=1000.0),
        call(
            11 * month + timedelta(seconds=1.5),
            "s-late-0002",
            requested_model="c",
            latency_ms=250.0,
        ),
    ]
    frame = log(rows)
    untimed = frame.head(1).with_columns(pl.lit(None, frame["time"].dtype).alias("time"))
    return pl.concat([frame, untimed])


def test_each_request_is_placed_relative_to_its_own_session_start():
    lanes = session_lanes(two_sessions_eleven_months_apart())
    assert lanes["lane"].to_list() == [0, 0, 0, 1, 1]
    assert lanes["offset_s"].to_list() == [0.0, 5.0, 25.0, 0.0, 1.5]
    assert lanes["duration_s"].to_list() == [2.0, 0.0, 0.5, 1.0, 0.25]  # no latency: 0
    assert lanes["model"].to_list() == ["a", "a", "b", "b", "c"]
    assert lanes["error"].to_list() == [False, False, True, False, False]


def test_lanes_of_sessions_on_different_days_carry_the_date():
    labels = session_lanes(two_sessions_eleven_months_apart())["label"].unique(maintain_order=True)
    assert labels.to_list() == ["s-early-  2026-01-05 12:00", "s-late-0  2026-12-01 12:00"]


def test_lanes_are_labelled_by_capture_name_and_time_on_one_day():
    rows = [call(timedelta(seconds=s), sid) for s, sid in ((0, "x1"), (9, "y2"), (30, None))]
    lanes = session_lanes(log(rows, capture=["hello", None, None]))
    assert lanes["label"].to_list() == ["hello  12:00:00", "y2  12:00:09", "(no session)  12:00:30"]


def test_a_capture_name_shared_by_sessions_adds_the_short_id():
    rows = [call(timedelta(seconds=s), sid) for s, sid in ((0, "aaaaaaaaaa"), (9, "bbbbbbbbbb"))]
    labels = session_lanes(log(rows, capture=["run", "run"]))["label"].to_list()
    assert labels == ["run aaaaaaaa  12:00:00", "run bbbbbbbb  12:00:09"]


def test_only_the_busiest_sessions_are_kept():
    rows = [call(timedelta(seconds=s), sid) for s, sid in ((0, "b"), (1, "a"), (2, "a"), (3, "c"))]
    lanes = session_lanes(log(rows), max_sessions=2)
    assert lanes["session_id"].unique(maintain_order=True).to_list() == ["b", "a"]  # ties by id


def test_pandas_frames_give_the_same_lanes():
    frame = two_sessions_eleven_months_apart()
    assert session_lanes(to_pandas(frame)).rows() == session_lanes(frame).rows()


def test_over_time_counts_requests_errors_and_cost_per_bucket_and_model():
    rows = [
        call(timedelta(minutes=0), None, request_model="a", cost=0.25),
        call(timedelta(minutes=10), None, request_model="a", cost=None, error_type="api_error"),
        call(timedelta(minutes=59), None, request_model="b", cost=1.0),
        call(timedelta(minutes=61), None, request_model="a", cost=0.5),
    ]
    table = over_time(log(rows), every="1h")
    assert table.select("bucket", "model").rows() == [
        (T0, "a"),
        (T0, "b"),
        (T0 + timedelta(hours=1), "a"),
    ]
    assert table["requests"].to_list() == [2, 1, 1]
    assert table["errors"].to_list() == [1, 0, 0]
    assert table["error_rate"].to_list() == [0.5, 0.0, 0.0]
    assert table["cost"].to_list() == pytest.approx([0.25, 1.0, 0.5])
    assert table["unpriced"].to_list() == [1, 0, 0]


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        pytest.param(timedelta(seconds=40), "10s", id="forty_seconds_in_10s"),
        pytest.param(timedelta(minutes=10), "30s", id="ten_minutes_in_30s"),
        pytest.param(timedelta(hours=30), "1h", id="thirty_hours_in_hours"),
        pytest.param(timedelta(days=200), "1w", id="two_hundred_days_in_weeks"),
        pytest.param(timedelta(days=330), "4w", id="eleven_months_in_four_weeks"),
    ],
)
def test_the_bucket_is_the_shortest_that_covers_the_span_in_forty(span, expected):
    rows = [call(timedelta(0), None), call(span, None)]
    assert bucket_every(log(rows)) == expected


def test_overlapping_requests_of_a_lane_take_separate_tracks():
    # [0, 3) on track 0; [1, 2) overlaps it: track 1; [2, 3) starts as track 1 frees: track 1;
    # [5, 6) after everything: track 0 again
    assert tracks([0.0, 1.0, 2.0, 5.0], [3.0, 1.0, 1.0, 1.0]) == [0, 1, 1, 0]
    assert tracks([], []) == []


def test_session_lanes_count_each_lanes_tracks():
    rows = [
        call(timedelta(seconds=0), "p", latency_ms=3000.0),
        call(timedelta(seconds=1), "p", latency_ms=1000.0),
        call(timedelta(seconds=0), "q", latency_ms=1000.0),
    ]
    lanes = session_lanes(log(rows))
    assert lanes.select("session_id", "track", "tracks").rows() == [
        ("p", 0, 2),
        ("p", 1, 2),
        ("q", 0, 1),
    ]
