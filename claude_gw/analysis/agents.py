"""The main agent against its subagents: who made the requests, used the tokens, spent.

A Claude CLI session's requests carry an agent id only when a subagent (a Task) sent them, so
a model call with a null `agent_id` is the main agent's. `agent_shares(df)` takes a polars or
pandas frame of the `claude_gw.logs` schema and returns polars, one row per role present,
`main agent` first, over the model calls (count_tokens calls are left out):

| column | meaning |
|---|---|
| role | `main agent` or `subagents` |
| agents | distinct agent ids (0 for the main agent) |
| requests | model calls |
| tokens | prompt + completion tokens (a null count counts as 0) |
| cost | sum of known costs (null when none is known) |
| request_share, token_share, cost_share | each over the log's total (null: total 0 or unknown) |
"""

from __future__ import annotations

from typing import Any

import polars as pl

from claude_gw.analysis.stats import model_calls

MAIN, SUBAGENTS = "main agent", "subagents"


def agent_shares(frame: Any) -> pl.DataFrame:
    """Requests, tokens and cost of the main agent and of its subagents (see above)."""
    calls = model_calls(frame).with_columns(
        pl.when(pl.col("agent_id").is_null())
        .then(pl.lit(MAIN))
        .otherwise(pl.lit(SUBAGENTS))
        .alias("role"),
        (pl.col("prompt_tokens").fill_null(0) + pl.col("completion_tokens").fill_null(0)).alias(
            "tokens"
        ),
    )
    table = calls.group_by("role").agg(
        pl.col("agent_id").drop_nulls().n_unique().cast(pl.Int64).alias("agents"),
        pl.len().cast(pl.Int64).alias("requests"),
        pl.col("tokens").sum().cast(pl.Int64).alias("tokens"),
        pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()).alias("cost"),
    )
    shares = [_share(column) for column in ("requests", "tokens", "cost")]
    return table.with_columns(shares).sort(pl.col("role") != MAIN)


def _share(column: str) -> pl.Expr:
    total = pl.col(column).sum()
    name = {"requests": "request", "tokens": "token", "cost": "cost"}[column]
    return pl.when(total > 0).then(pl.col(column) / total).alias(f"{name}_share")
