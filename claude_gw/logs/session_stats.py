"""`sessions(df)`: one row per Claude CLI session, from a loaded log (polars or pandas).

| column | dtype | meaning |
|---|---|---|
| session_id | String | the CLI's session id (rows without one are left out) |
| requests | Int64 | requests of the session, count_tokens included |
| turns | Int64 | `messages` requests (model turns and subagents; not count_tokens) |
| models | String | the distinct `request_model`s (sent upstream), sorted, joined by ", " |
| prompt_tokens | Int64 | sum (see below) |
| cached_tokens | Int64 | sum |
| completion_tokens | Int64 | sum |
| reasoning_tokens | Int64 | sum |
| cost | Float64 | sum of `cost` (the load's cost mode); null as soon as one request's is unknown |
| unpriced | Int64 | requests whose cost is unknown (`cost_source` `unpriced`) |
| errors | Int64 | requests with an `error_type` |
| first_time | Datetime(ms, UTC) | arrival of the first request |
| last_time | Datetime(ms, UTC) | arrival of the last request |
| wall_time_s | Float64 | from the first arrival to the last end (`time + latency_ms`), seconds |

A token sum is null when no request of the session logs that field (Kong before 3.11 has no
cached or reasoning tokens). The cost is null rather than a partial sum when a request is
unpriced (a model genai-prices does not know): a partial sum would pass for a total. A Kong
record that logs no cost (or Kong's 0) is priced from its tokens by the default cost mode.

Sorted by `first_time`, then `session_id`. The result has the input's engine (pandas dtypes
as `schema.to_pandas` gives them).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from claude_gw.logs.schema import to_pandas, to_polars

TOKENS = ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")


def sessions(frame: Any) -> Any:
    """One row per session of a loaded log (see the module docstring); same engine."""
    if isinstance(frame, pl.DataFrame):
        return session_table(frame)
    return to_pandas(session_table(to_polars(frame)))


def session_table(frame: pl.DataFrame) -> pl.DataFrame:
    ended = pl.col("time") + pl.duration(milliseconds=pl.col("latency_ms").fill_null(0))
    models = pl.col("request_model").drop_nulls().unique().sort().str.join(", ")
    table = (
        frame.lazy()
        .filter(pl.col("session_id").is_not_null())
        .group_by("session_id")
        .agg(
            requests=pl.len().cast(pl.Int64()),
            turns=(pl.col("endpoint") == "messages").sum().cast(pl.Int64()),
            models=models,
            **{name: _sum_or_null(name) for name in TOKENS},
            cost=pl.when(pl.col("cost").null_count() == 0).then(pl.col("cost").sum()),
            unpriced=(pl.col("cost_source") == "unpriced").sum().cast(pl.Int64()),
            errors=pl.col("error_type").is_not_null().sum().cast(pl.Int64()),
            first_time=pl.col("time").min(),
            last_time=pl.col("time").max(),
            _ended=ended.max(),
        )
        .with_columns(
            wall_time_s=(pl.col("_ended") - pl.col("first_time")).dt.total_microseconds() / 1e6
        )
        .drop("_ended")
        .sort("first_time", "session_id", nulls_last=True)
    )
    return table.collect()


def _sum_or_null(name: str) -> pl.Expr:
    column = pl.col(name)
    return pl.when(column.count() > 0).then(column.sum()).cast(pl.Int64())
