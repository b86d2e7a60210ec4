"""Cost re-pricing: what the token counts of a loaded log would have cost on other models.

Prices come from the offline genai-prices table through `claude_gw.logs.token_costs`
(exactly `claude_gw.logs.cost.price_usage` per row, cached input priced as cache reads, the
prices of each request's own day), vectorised per model. Nothing touches the network.

A target is a model id (priced at `provider`, "openai" by default) or a `(model, provider)`
pair such as `("claude-sonnet-4-5", "anthropic")`.

Which rows: the model calls (not count_tokens) that log a prompt and a completion count and
have a known `cost` (under the frame's cost mode, or `cost=`), leaving out the rows with
nothing to price (`cost_source` `none`: failed requests, which no provider bills). Both sides
of every ratio are sums over exactly those rows, so a model re-priced on itself gives 1.0.

`reprice(df, targets)` returns a polars DataFrame, one row per (logged model, target):

| column | meaning |
|---|---|
| model | the model the request was sent to (`request_model`, else `requested_model`) |
| target | the target model id |
| requests | the rows above, of `model` |
| prompt_tokens, cached_tokens, completion_tokens | sums over those rows |
| logged_cost | the frame's `cost` over those rows (null when there is none) |
| repriced_cost | what the target would have charged for them (null when it is not in the table) |
| ratio | repriced_cost / logged_cost (null when either is null or the logged cost is 0) |

`cost_on_models(df, candidates)` answers "what would this whole log have cost on each
candidate model": one row per candidate, in the order given:

| column | meaning |
|---|---|
| candidate | the candidate model id |
| provider | the provider it is priced at |
| requests | model calls with a prompt and a completion count and something to price |
| cost | their total on the candidate (null when the candidate is not in the table) |
| log_cost | the log's own total (`cost` under the cost mode) over every model call |
| log_requests | the model calls with a known cost (the rows `log_cost` sums) |
| ratio | candidate / log cost, both over the calls that have token counts and a known cost |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from claude_gw.analysis.metrics import GROUP_KEYS, as_polars, model_calls, sum_or_null
from claude_gw.logs.cost_modes import CostMode, token_costs

Target = str | tuple[str, str]
USAGE = ("prompt_tokens", "cached_tokens", "completion_tokens")
HAS_TOKENS = pl.col("prompt_tokens").is_not_null() & pl.col("completion_tokens").is_not_null()
TO_PRICE = HAS_TOKENS & pl.col("cost_source").ne_missing("none")


def target_ref(target: Target, provider: str = "openai") -> tuple[str, str]:
    """(model, provider) of a target given as a model id or a (model, provider) pair."""
    return (target, provider) if isinstance(target, str) else target


def request_costs(frame: Any, target: Target, *, provider: str = "openai") -> pl.Series:
    """Per-row cost (Float64, USD) of `frame`'s token counts on `target`; null for a row
    without a prompt or completion count, and for every row when the target is unpriced."""
    model, target_provider = target_ref(target, provider)
    return token_costs(as_polars(frame), model=model, provider=target_provider)


def repriced_rows(frame: Any, *, cost: CostMode | None = None) -> pl.DataFrame:
    """The rows `reprice` compares (see the module docstring), with the `model` key."""
    name, key = GROUP_KEYS["model"]
    calls = model_calls(frame, cost=cost).filter(TO_PRICE & pl.col("cost").is_not_null())
    return calls.with_columns(key.alias(name))


def reprice(
    frame: Any,
    targets: Sequence[Target],
    *,
    provider: str = "openai",
    cost: CostMode | None = None,
) -> pl.DataFrame:
    """The cost of each logged model's calls on each target (see the module docstring)."""
    calls = repriced_rows(frame, cost=cost)
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
        .select("model", "target", "requests", *USAGE, "logged_cost", "repriced_cost", "ratio")
        .sort("model", "target")
    )


def _priced_groups(calls: pl.DataFrame, target: Target, provider: str) -> pl.DataFrame:
    priced = calls.with_columns(repriced=request_costs(calls, target, provider=provider))
    return priced.group_by("model").agg(
        pl.len().cast(pl.Int64).alias("requests"),
        *(sum_or_null(column).cast(pl.Int64).alias(column) for column in USAGE),
        sum_or_null("cost").alias("logged_cost"),
        pl.when(pl.col("repriced").is_not_null().all())
        .then(pl.col("repriced").sum())
        .alias("repriced_cost"),
    )


def _empty() -> pl.DataFrame:
    schema = {"model": pl.String, "target": pl.String, "requests": pl.Int64}
    schema |= {column: pl.Int64 for column in USAGE}
    schema |= {"logged_cost": pl.Float64, "repriced_cost": pl.Float64, "ratio": pl.Float64}
    return pl.DataFrame(schema=schema)


def cost_on_models(
    frame: Any,
    candidates: Sequence[Target],
    *,
    provider: str = "openai",
    cost: CostMode | None = None,
) -> pl.DataFrame:
    """What the whole log would have cost on each candidate (see the module docstring)."""
    calls = model_calls(frame, cost=cost)
    rows = calls.filter(TO_PRICE)
    log_cost = calls.select(sum_or_null("cost")).item()
    log_requests = calls["cost"].count()
    table = []
    for candidate in candidates:
        model, at = target_ref(candidate, provider)
        total, ratio = _on_candidate(rows, model, at)
        table.append((model, at, rows.height, total, log_cost, log_requests, ratio))
    return pl.DataFrame(table, schema=CANDIDATE_SCHEMA, orient="row")


def _on_candidate(rows: pl.DataFrame, model: str, provider: str) -> tuple[Any, Any]:
    """(total on the candidate, ratio to the log's cost over the rows with a known cost);
    (None, None) for a candidate the price table does not know."""
    if not _priced(model, provider):
        return None, None
    on_model = request_costs(rows, (model, provider))
    known = rows["cost"].is_not_null()
    log_same_rows = float(rows["cost"].filter(known).sum())
    same_rows = float(on_model.filter(known).sum())
    return float(on_model.sum()), same_rows / log_same_rows if log_same_rows else None


CANDIDATE_SCHEMA = {
    "candidate": pl.String,
    "provider": pl.String,
    "requests": pl.Int64,
    "cost": pl.Float64,
    "log_cost": pl.Float64,
    "log_requests": pl.Int64,
    "ratio": pl.Float64,
}


def _priced(model: str, provider: str) -> bool:
    from claude_gw.logs.cost import find_priced

    return find_priced(model, provider) is not None
