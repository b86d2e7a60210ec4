"""Where a session's time went: waiting for the model, or everything else.

`session_time(df)` takes a polars or pandas frame of the `claude_gw.logs` schema and returns
polars, one row per session (the requests without a session id share one row), over the model
calls that have a time (count_tokens calls are left out), sorted by the session's start. A
call occupies the interval from its arrival (`time`) to arrival + `latency_ms` (0 when not
logged); calls in flight at once (parallel subagents, say) count once.

| column | meaning |
|---|---|
| session_id, capture | the session, and its capture name (null when none) |
| session_start | the first arrival |
| requests | model calls |
| wall_s | first arrival to the end of the last call to finish |
| model_s | time with at least one call in flight (the union of the calls' intervals) |
| first_token_s | sum of the successful calls' time to first token (> 0; null: none logged) |
| client_s | wall_s - model_s: the client's own time between calls (running tools, say) |
| model_share | model_s / wall_s (null for a session of zero length) |
"""

from __future__ import annotations

from typing import Any

import polars as pl

from claude_gw.analysis.activity import timed_calls
from claude_gw.analysis.stats import OK


def session_time(frame: Any) -> pl.DataFrame:
    """Wall time, time in model calls and the client's time per session (see above)."""
    calls = timed_calls(frame)
    if "capture" not in calls.columns:
        calls = calls.with_columns(pl.lit(None, pl.String).alias("capture"))
    start = pl.col("time").dt.epoch("ms").cast(pl.Float64) / 1000
    end = start + pl.col("latency_ms").fill_null(0) / 1000
    calls = calls.with_columns(start.alias("start_s"), end.alias("end_s")).sort(
        "session_id", "start_s"
    )
    # the idle gap before a call: how far it starts after every earlier call of its session ended
    ended = pl.col("end_s").cum_max().shift(1).over("session_id")
    gap = (pl.col("start_s") - ended).clip(lower_bound=0).fill_null(0)
    ttft = pl.col("ttft_ms").filter(OK & (pl.col("ttft_ms") > 0))
    table = (
        calls.with_columns(gap.alias("gap_s"))
        .group_by("session_id")
        .agg(
            pl.col("capture").drop_nulls().first(),
            pl.col("time").min().alias("session_start"),
            pl.len().cast(pl.Int64).alias("requests"),
            (pl.col("end_s").max() - pl.col("start_s").min()).alias("wall_s"),
            pl.col("gap_s").sum().alias("idle_s"),
            pl.when(ttft.count() > 0).then(ttft.sum() / 1000).alias("first_token_s"),
        )
    )
    model_s = pl.col("wall_s") - pl.col("idle_s")
    return (
        table.with_columns(model_s.alias("model_s"))
        .with_columns(
            pl.col("idle_s").alias("client_s"),
            pl.when(pl.col("wall_s") > 0)
            .then(pl.col("model_s") / pl.col("wall_s"))
            .alias("model_share"),
        )
        .select(
            "session_id",
            "capture",
            "session_start",
            "requests",
            "wall_s",
            "model_s",
            "first_token_s",
            "client_s",
            "model_share",
        )
        .sort("session_start", "session_id", nulls_last=True)
    )
