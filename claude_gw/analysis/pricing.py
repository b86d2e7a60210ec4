"""Cost re-pricing: what the token counts of a loaded log would have cost on other models.

Prices come from the offline genai-prices table through `claude_gw.logs.cost.price_usage`
(cached-input prices included: `cached_tokens` are priced as cache reads), at each request's
own time, so time-dependent and tiered prices apply per request. Nothing touches the network.

A target is a model id (priced at `provider`, "openai" by default) or a `(model, provider)`
pair such as `("claude-sonnet-4-5", "anthropic")`.

`reprice(df, targets)` returns a polars DataFrame, one row per (logged model, target):

| column | meaning |
|---|---|
| model | the model the request was sent to (`request_model`, else `requested_model`) |
| target | the target model id |
| requests | model calls of `model` that carry token counts |
| prompt_tokens, cached_tokens, completion_tokens | sums over those calls |
| logged_cost | the log's cost over those calls (null when none is known) |
| repriced_cost | what the target would have charged (null when it is not in the table) |
| ratio | repriced_cost / logged_cost (null when either is null or the logged cost is 0) |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from claude_gw.analysis.metrics import GROUP_KEYS, as_polars
from claude_gw.analysis.stats import model_calls
from claude_gw.logs.cost import price_usage

Target = str | tuple[str, str]
USAGE = ("prompt_tokens", "cached_tokens", "completion_tokens")


def target_ref(target: Target, provider: str = "openai") -> tuple[str, str]:
    """(model, provider) of a target given as a model id or a (model, provider) pair."""
    return (target, provider) if isinstance(target, str) else target


def request_costs(frame: Any, target: Target, *, provider: str = "openai") -> pl.Series:
    """Per-row cost (Float64, USD) of `frame`'s token counts on `target`; null for a row
    without a prompt or completion count, and for every row when the target is unpriced."""
    model, target_provider = target_ref(target, provider)
    rows = as_usage(frame)
    costs = [
        price_usage(
            model,
            provider=target_provider,
            prompt_tokens=row["prompt_tokens"],
            cached_tokens=row["cached_tokens"] or 0,
            completion_tokens=row["completion_tokens"],
            at=row["time"],
        ).cost
        if row["prompt_tokens"] is not None and row["completion_tokens"] is not None
        else None
        for row in rows.iter_rows(named=True)
    ]
    return pl.Series("cost", costs, dtype=pl.Float64)


def as_usage(frame: Any) -> pl.DataFrame:
    """The `time` and token columns of a log-schema frame (polars or pandas), as polars."""
    return as_polars(frame).select("time", *USAGE)


def reprice(frame: Any, targets: Sequence[Target], *, provider: str = "openai") -> pl.DataFrame:
    """The cost of each logged model's calls on each target (see the module docstring)."""
    name, key = GROUP_KEYS["model"]
    calls = model_calls(frame).filter(
        pl.col("prompt_tokens").is_not_null() & pl.col("completion_tokens").is_not_null()
    )
    calls = calls.with_columns(key.alias(name))
    parts = [
        _priced_groups(calls, target, provider).with_columns(
            target=pl.lit(target_ref(target, provider)[0])
        )
        for target in targets
    ]
    if not parts:
        return _empty()
    return (
        pl.concat(parts)
        .with_columns(
            ratio=pl.when(pl.col("logged_cost") > 0).then(
                pl.col("repriced_cost") / pl.col("logged_cost")
            )
        )
        .select(name, "target", "requests", *USAGE, "logged_cost", "repriced_cost", "ratio")
        .sort(name, "target")
    )


def _priced_groups(calls: pl.DataFrame, target: Target, provider: str) -> pl.DataFrame:
    priced = calls.with_columns(repriced=request_costs(calls, target, provider=provider))
    return priced.group_by("model").agg(
        pl.len().cast(pl.Int64).alias("requests"),
        *(pl.col(column).sum() for column in USAGE),
        pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()).alias("logged_cost"),
        pl.when(pl.col("repriced").is_not_null().all())
        .then(pl.col("repriced").sum())
        .alias("repriced_cost"),
    )


def _empty() -> pl.DataFrame:
    schema = {"model": pl.String, "target": pl.String, "requests": pl.Int64}
    schema |= {column: pl.Int64 for column in USAGE}
    schema |= {"logged_cost": pl.Float64, "repriced_cost": pl.Float64, "ratio": pl.Float64}
    return pl.DataFrame(schema=schema)
