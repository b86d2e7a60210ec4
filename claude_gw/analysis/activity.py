"""When requests happened: per-session lanes for a timeline, and per-bucket counts over time.

Both take a polars or pandas frame of the `claude_gw.logs` schema and return polars, over the
model calls (count_tokens calls are left out) that have a time. A model is the model sent
upstream, else the one asked for, else `(unknown)`.

`session_lanes(df, max_sessions=20)`: one row per request, placed on its session's lane, with
times relative to the session's first request (so a 25-second session is as readable as a
day-long one, whatever else the log holds):

| column | meaning |
|---|---|
| lane | 0 for the session that started first, then 1, 2, ... |
| session_id | the session (null: the requests without one share the lane `(no session)`) |
| label | name and start of the session (below) |
| session_start | the session's first arrival |
| offset_s | this request's arrival, in seconds after session_start |
| duration_s | its latency in seconds (0 when not logged) |
| model, error | the model, and whether the request failed (`error_type` set) |

A label names the session by its capture name (when the log has a `capture` column; with the
short id too when sessions share it), else by the first 8 characters of its id; then its start,
`HH:MM:SS` UTC when every kept session started on the same day, else `YYYY-MM-DD HH:MM`.
Only the `max_sessions` sessions with the most requests are kept (ties by session id).

`over_time(df, every=None)`: one row per (bucket, model) with requests: `bucket` (start of
the interval), `model`, `requests`, `errors`, `error_rate` (errors / requests), `cost` (sum of
known costs, null when none is known) and `unpriced` (requests without a cost), sorted by
bucket then model. `every` is a polars interval (`"1h"`, `"1d"`); `None` picks the shortest of
`EVERY` that covers the log's span in at most `MAX_BUCKETS` buckets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from claude_gw.analysis.palette import MODEL
from claude_gw.analysis.stats import OK, model_calls

NO_SESSION = "(no session)"
EVERY = (
    ("10s", timedelta(seconds=10)),
    ("30s", timedelta(seconds=30)),
    ("1m", timedelta(minutes=1)),
    ("5m", timedelta(minutes=5)),
    ("15m", timedelta(minutes=15)),
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)),
    ("4w", timedelta(weeks=4)),
)
MAX_BUCKETS = 40


def timed_calls(frame: Any) -> pl.DataFrame:
    """The model calls that have a time, with `model` and `error` columns."""
    calls = model_calls(frame).filter(pl.col("time").is_not_null())
    return calls.with_columns(MODEL.alias("model"), (~OK).alias("error"))


def session_lanes(frame: Any, *, max_sessions: int = 20) -> pl.DataFrame:
    """One row per request on its session's lane (see the module docstring)."""
    calls = timed_calls(frame)
    captures = "capture" in calls.columns
    calls = calls.with_columns(
        pl.col("capture") if captures else pl.lit(None, pl.String).alias("capture")
    )
    kept = busiest_sessions(calls, max_sessions)
    calls = calls.filter(pl.col("session_id").is_in(kept, nulls_equal=True))
    sessions = session_table(calls)
    rows = calls.join(sessions, on="session_id", how="left", nulls_equal=True)
    return rows.select(
        "lane",
        "session_id",
        "label",
        "session_start",
        ((pl.col("time") - pl.col("session_start")).dt.total_milliseconds() / 1000).alias(
            "offset_s"
        ),
        (pl.col("latency_ms").fill_null(0) / 1000).alias("duration_s"),
        "model",
        "error",
    ).sort("lane", "offset_s")


def busiest_sessions(calls: pl.DataFrame, limit: int) -> list[str | None]:
    """The `limit` session ids (None for no session) with the most calls, ties by id."""
    counts = calls.group_by("session_id").len()
    counts = counts.sort(["len", "session_id"], descending=[True, False], nulls_last=True)
    return counts.head(limit)["session_id"].to_list()


def session_table(calls: pl.DataFrame) -> pl.DataFrame:
    """Per session: its lane (by start time), label and start."""
    sessions = (
        calls.group_by("session_id")
        .agg(
            pl.col("time").min().alias("session_start"),
            pl.col("capture").drop_nulls().first().alias("capture"),
        )
        .sort("session_start", "session_id", nulls_last=True)
        .with_row_index("lane")
        .with_columns(pl.col("lane").cast(pl.Int64))
    )
    shared = pl.col("capture").is_not_null() & (pl.len().over("capture") > 1)
    short_id = pl.col("session_id").str.slice(0, 8)
    name = (
        pl.when(pl.col("session_id").is_null())
        .then(pl.lit(NO_SESSION))
        .when(shared)
        .then(pl.format("{} {}", "capture", short_id))
        .otherwise(pl.coalesce("capture", short_id))
    )
    one_day = sessions["session_start"].dt.date().n_unique() <= 1
    start = pl.col("session_start").dt.strftime("%H:%M:%S" if one_day else "%Y-%m-%d %H:%M")
    return sessions.with_columns(pl.format("{}  {}", name, start).alias("label")).drop("capture")


def bucket_every(calls: pl.DataFrame) -> str:
    """The shortest interval of `EVERY` that covers the calls' span in `MAX_BUCKETS`."""
    span: Any = calls.select(pl.col("time").max() - pl.col("time").min()).item()
    if span is None:
        return EVERY[0][0]
    for name, width in EVERY:
        if span < width * MAX_BUCKETS:
            return name
    return EVERY[-1][0]


def over_time(frame: Any, *, every: str | None = None) -> pl.DataFrame:
    """Requests, errors and cost per (bucket, model) (see the module docstring)."""
    calls = timed_calls(frame)
    interval = every or bucket_every(calls)
    return (
        calls.with_columns(pl.col("time").dt.truncate(interval).alias("bucket"))
        .group_by("bucket", "model")
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            pl.col("error").sum().cast(pl.Int64).alias("errors"),
            pl.col("error").mean().alias("error_rate"),
            pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()).alias("cost"),
            pl.col("cost").is_null().sum().cast(pl.Int64).alias("unpriced"),
        )
        .sort("bucket", "model")
    )
