"""Per-model and per-session statistics over a loaded log (the `claude_gw.logs` schema).

`stats(df, by="model")` extends `metrics.summary` with tail latency, per-token timing, cache and
cost ratios. It takes a polars or pandas frame and returns a polars DataFrame, one row per group
(model sent upstream, session or day, as in `summary`), sorted by the group key, over the model
calls (count_tokens calls are answered locally and left out).

| column | meaning |
|---|---|
| requests | model calls in the group |
| errors, error_rate | calls with an error (`error_type` set), and their share |
| sessions | distinct session ids among the calls |
| p50_latency_ms, p95_latency_ms, p99_latency_ms | request latency percentiles (linear) |
| p50_ttft_ms, p95_ttft_ms | time to first token over successful calls that report one (> 0) |
| p50_time_per_token_ms | median `time_per_token_ms` over successful calls that report one |
| tokens_per_s | completion tokens / upstream seconds, over successful calls |
| prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens | sums |
| reasoning_share | reasoning_tokens / completion_tokens (null when no output) |
| cache_hit_share | cached_tokens / prompt_tokens (null when no input) |
| cost | sum of known costs (null when none is known) |
| unpriced | calls whose cost is unknown (null in the log) |
| cost_per_request | cost / priced calls |
| cost_per_1k_requests | 1000 * cost_per_request |
| cost_per_session | cost / sessions (null without sessions) |
"""

from __future__ import annotations

from typing import Any

import polars as pl

from claude_gw.analysis.metrics import GROUP_KEYS, By, as_polars

OK = pl.col("error_type").is_null()


def model_calls(frame: Any) -> pl.DataFrame:
    """The model calls of a loaded log (every record but count_tokens), as polars."""
    return as_polars(frame).filter(pl.col("endpoint").ne_missing("count_tokens"))


def stats(frame: Any, *, by: By = "model") -> pl.DataFrame:
    """Per-group statistics (see the module docstring), sorted by the group key."""
    if by not in GROUP_KEYS:
        raise ValueError(f"by must be one of {', '.join(GROUP_KEYS)}, not {by!r}")
    name, key = GROUP_KEYS[by]
    table = model_calls(frame).group_by(key.alias(name)).agg(*_aggregates())
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
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "reasoning_share",
    "cache_hit_share",
    "cost",
    "unpriced",
    "cost_per_request",
    "cost_per_1k_requests",
    "cost_per_session",
)


def _aggregates() -> list[pl.Expr]:
    latency = pl.col("latency_ms")
    ttft = pl.col("ttft_ms").filter(OK & (pl.col("ttft_ms") > 0))
    per_token = pl.col("time_per_token_ms").filter(OK & (pl.col("time_per_token_ms") > 0))
    upstream_s = pl.col("upstream_latency_ms").filter(OK).sum() / 1000
    tokens = ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")
    return [
        pl.len().cast(pl.Int64).alias("requests"),
        (~OK).sum().cast(pl.Int64).alias("errors"),
        (~OK).mean().alias("error_rate"),
        pl.col("session_id").drop_nulls().n_unique().cast(pl.Int64).alias("sessions"),
        latency.quantile(0.5, "linear").alias("p50_latency_ms"),
        latency.quantile(0.95, "linear").alias("p95_latency_ms"),
        latency.quantile(0.99, "linear").alias("p99_latency_ms"),
        ttft.quantile(0.5, "linear").alias("p50_ttft_ms"),
        ttft.quantile(0.95, "linear").alias("p95_ttft_ms"),
        per_token.median().alias("p50_time_per_token_ms"),
        (pl.col("completion_tokens").filter(OK).sum() / upstream_s).alias("tokens_per_s"),
        *(pl.col(name).sum().alias(name) for name in tokens),
        pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()).alias("cost"),
        pl.col("cost").is_null().sum().cast(pl.Int64).alias("unpriced"),
    ]


def _ratios() -> list[pl.Expr]:
    priced = pl.col("requests") - pl.col("unpriced")
    per_request = pl.when(priced > 0).then(pl.col("cost") / priced)
    return [
        pl.when(pl.col("tokens_per_s").is_finite()).then("tokens_per_s").alias("tokens_per_s"),
        _share("reasoning_tokens", "completion_tokens").alias("reasoning_share"),
        _share("cached_tokens", "prompt_tokens").alias("cache_hit_share"),
        per_request.alias("cost_per_request"),
        (per_request * 1000).alias("cost_per_1k_requests"),
        pl.when(pl.col("sessions") > 0)
        .then(pl.col("cost") / pl.col("sessions"))
        .alias("cost_per_session"),
    ]


def _share(part: str, whole: str) -> pl.Expr:
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole))
