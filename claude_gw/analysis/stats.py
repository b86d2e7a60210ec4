"""Per-group statistics over a loaded log (the `claude_gw.logs` schema).

`stats(df, by="model")` extends `metrics.summary` with tail latency, per-token timing, cache and
cost ratios. It takes a polars or pandas frame and returns a polars DataFrame, one row per group
(the groupings of `metrics.summary`: model, session, day, capture, agent, target, cost_source,
provider), sorted by the group key, over the model calls (count_tokens calls are answered
locally and left out). `cost=` re-resolves the cost column with a cost mode first.

| column | meaning |
|---|---|
| requests | model calls in the group |
| errors, error_rate | calls with an error (`error_type` set), and their share |
| sessions | distinct session ids among the calls |
| p50_latency_ms, p95_latency_ms, p99_latency_ms | request latency percentiles (linear) |
| p50_ttft_ms, p95_ttft_ms | time to first token over successful calls that report one (> 0) |
| p50_time_per_token_ms | median `time_per_token_ms` over successful calls that report one (> 0) |
| tokens_per_s | completion tokens / upstream seconds over the same calls (see `summary`) |
| prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens | sums (null when none logged) |
| reasoning_share | reasoning_tokens / completion_tokens over the calls that log both |
| cache_hit_share | cached_tokens / prompt_tokens over the calls that log both |
| cost | sum of known costs (null when none is known) |
| computed | calls whose cost was computed from their tokens |
| unpriced | calls whose cost is unknown (null) |
| cost_per_request | cost / the calls with a known cost |
| cost_per_1k_requests | 1000 * cost_per_request |
| cost_per_session | cost / sessions, over the calls with a session and a known cost |
"""

from __future__ import annotations

from typing import Any

import polars as pl

from claude_gw.analysis.metrics import (
    OK,
    TOKENS,
    By,
    cost_sum,
    group_key,
    model_calls,
    ratio_over_rows,
    sum_or_null,
    tokens_per_s,
)
from claude_gw.logs.cost_modes import CostMode

__all__ = ["COLUMNS", "OK", "model_calls", "stats"]


def stats(frame: Any, *, by: By = "model", cost: CostMode | None = None) -> pl.DataFrame:
    """Per-group statistics (see the module docstring), sorted by the group key."""
    name, key = group_key(by)
    table = model_calls(frame, cost=cost).group_by(key.alias(name)).agg(*_aggregates())
    return table.with_columns(*_ratios()).select(name, *COLUMNS).sort(name, nulls_last=True)


COLUMNS = (
    "requests",
    "errors",
    "error_rate",
    "sessions",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "p50_ttft_ms",
    "p95_ttft_ms",
    "p50_time_per_token_ms",
    "tokens_per_s",
    *TOKENS,
    "reasoning_share",
    "cache_hit_share",
    "cost",
    "computed",
    "unpriced",
    "cost_per_request",
    "cost_per_1k_requests",
    "cost_per_session",
)


def _aggregates() -> list[pl.Expr]:
    latency = pl.col("latency_ms")
    ttft = pl.col("ttft_ms").filter(OK & (pl.col("ttft_ms") > 0))
    per_token = pl.col("time_per_token_ms").filter(OK & (pl.col("time_per_token_ms") > 0))
    session = pl.col("session_id")
    session_cost = pl.col("cost").filter(session.is_not_null())
    return [
        pl.len().cast(pl.Int64).alias("requests"),
        (~OK).sum().cast(pl.Int64).alias("errors"),
        (~OK).mean().alias("error_rate"),
        session.drop_nulls().n_unique().cast(pl.Int64).alias("sessions"),
        latency.quantile(0.5, "linear").alias("p50_latency_ms"),
        latency.quantile(0.95, "linear").alias("p95_latency_ms"),
        latency.quantile(0.99, "linear").alias("p99_latency_ms"),
        ttft.quantile(0.5, "linear").alias("p50_ttft_ms"),
        ttft.quantile(0.95, "linear").alias("p95_ttft_ms"),
        per_token.median().alias("p50_time_per_token_ms"),
        tokens_per_s().alias("tokens_per_s"),
        *(sum_or_null(name).cast(pl.Int64).alias(name) for name in TOKENS),
        ratio_over_rows(pl.col("reasoning_tokens"), pl.col("completion_tokens")).alias(
            "reasoning_share"
        ),
        ratio_over_rows(pl.col("cached_tokens"), pl.col("prompt_tokens")).alias("cache_hit_share"),
        cost_sum().alias("cost"),
        (pl.col("cost_source") == "computed").sum().cast(pl.Int64).alias("computed"),
        pl.col("cost").is_null().sum().cast(pl.Int64).alias("unpriced"),
        pl.col("cost").count().cast(pl.Int64).alias("_priced"),
        pl.when(session_cost.count() > 0).then(session_cost.sum()).alias("_session_cost"),
        session.filter(pl.col("cost").is_not_null())
        .drop_nulls()
        .n_unique()
        .alias("_priced_sessions"),
    ]


def _ratios() -> list[pl.Expr]:
    priced = pl.col("_priced")
    per_request = pl.when(priced > 0).then(pl.col("cost") / priced)
    sessions = pl.col("_priced_sessions")
    return [
        per_request.alias("cost_per_request"),
        (per_request * 1000).alias("cost_per_1k_requests"),
        pl.when(sessions > 0).then(pl.col("_session_cost") / sessions).alias("cost_per_session"),
    ]
