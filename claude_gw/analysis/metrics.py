"""Per-group metrics over a loaded log (the `claude_gw.logs` schema).

`summary(df, by="model")` is what `claude-gw logs summary` prints: one row per group, over the
model calls: every record but count_tokens calls, which are answered locally (a loaded record
is always an AI-proxy record: lines without `ai` are skipped by the reader).

Groupings (`by`, the key column in brackets):

| by | key | groups |
|---|---|---|
| model | model | the model sent upstream (`request_model`, else `requested_model`; `(unknown)`) |
| session | session_id | the Claude CLI session (`(none)` without one) |
| day | day | the UTC day of arrival |
| capture | capture | the `claude-gw capture --name` label (`(none)`) |
| agent | agent | `main` (no `agent_id`: the CLI's main agent) or `subagent` |
| target | target | the replay target (`replay_target`); `(original)` for records not replayed |
| cost_source | cost_source | `logged`, `computed`, `unpriced`, `none` (`logs.cost_modes`) |
| provider | provider | `provider` (`(unknown)`) |

| column | meaning |
|---|---|
| requests | model calls in the group |
| error_rate | share of them with an error (`error_type` set) |
| p50_latency_ms, p95_latency_ms | request latency percentiles (`latency_ms`) |
| p50_ttft_ms | median time to first token over successful calls that report one (> 0) |
| tokens_per_s | completion tokens / upstream seconds, both summed over the same calls (*) |
| prompt_tokens, cached_tokens, ... | sums (null when no call logs the field) |
| reasoning_share | reasoning_tokens / completion_tokens over the calls that log both |
| cost | sum of the known costs (null when none is known) |
| computed | calls whose cost was computed from their tokens (not the log's own figure) |
| unpriced | calls whose cost is unknown (null) |

(*) the successful calls that log completion tokens and an upstream latency (> 0).
The token sums are prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens.

Every ratio is computed over the rows that have all its parts, so a row without one part never
inflates another. Counts, token sums and `cost` are sums of their rows: the groups of any
grouping add up to the whole log. `cost=` re-resolves the cost column with a cost mode first
(`claude_gw.logs.with_cost_mode`); by default the frame's own `cost` column is used.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from claude_gw.logs.cost_modes import CostMode, resolve_costs

By = Literal["model", "session", "day", "capture", "agent", "target", "cost_source", "provider"]
GROUP_KEYS: dict[str, tuple[str, pl.Expr]] = {
    "model": ("model", pl.coalesce("request_model", "requested_model").fill_null("(unknown)")),
    "session": ("session_id", pl.col("session_id").fill_null("(none)")),
    "day": ("day", pl.col("time").dt.date()),
    "capture": ("capture", pl.col("capture").fill_null("(none)")),
    "agent": (
        "agent",
        pl.when(pl.col("agent_id").is_null()).then(pl.lit("main")).otherwise(pl.lit("subagent")),
    ),
    "target": ("target", pl.col("replay_target").fill_null("(original)")),
    "cost_source": ("cost_source", pl.col("cost_source").cast(pl.String())),
    "provider": ("provider", pl.col("provider").fill_null("(unknown)")),
}
OK = pl.col("error_type").is_null()
TOKENS = ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")


def as_polars(frame: Any) -> pl.DataFrame:
    """A polars frame of the log schema, from either engine's frame."""
    if isinstance(frame, pl.DataFrame):
        return frame
    from claude_gw.logs.schema import to_polars

    return to_polars(frame)


def model_calls(frame: Any, *, cost: CostMode | None = None) -> pl.DataFrame:
    """The model calls of a loaded log (every record but count_tokens), as polars, with the
    cost resolved by `cost` when it is given (see `claude_gw.logs.cost_modes`)."""
    calls = as_polars(frame).filter(pl.col("endpoint").ne_missing("count_tokens"))
    if cost is None:
        return calls
    from claude_gw.logs.cost_modes import check_cost_mode

    check_cost_mode(cost)
    return resolve_costs(calls, cost)


def group_key(by: str) -> tuple[str, pl.Expr]:
    """(key column name, key expression) of a grouping; ValueError for an unknown one."""
    if by not in GROUP_KEYS:
        raise ValueError(f"by must be one of {', '.join(GROUP_KEYS)}, not {by!r}")
    return GROUP_KEYS[by]


def sum_or_null(column: str | pl.Expr) -> pl.Expr:
    """The sum of the column's values, null when it has none (not 0)."""
    values = pl.col(column) if isinstance(column, str) else column
    return pl.when(values.count() > 0).then(values.sum())


def ratio_over_rows(part: pl.Expr, whole: pl.Expr, where: pl.Expr | None = None) -> pl.Expr:
    """sum(part) / sum(whole) over the rows where both (and `where`) are known; null when the
    whole is 0 or no row qualifies."""
    both = part.is_not_null() & whole.is_not_null()
    if where is not None:
        both = both & where
    numerator, denominator = part.filter(both).sum(), whole.filter(both).sum()
    return pl.when(denominator > 0).then(numerator / denominator)


def tokens_per_s() -> pl.Expr:
    """Completion tokens per upstream second over the successful calls that log both."""
    upstream = pl.col("upstream_latency_ms")
    rate = ratio_over_rows(pl.col("completion_tokens"), upstream, OK & (upstream > 0))
    return rate * 1000


def cost_sum() -> pl.Expr:
    return sum_or_null("cost")


def summary(frame: Any, *, by: By = "model", cost: CostMode | None = None) -> pl.DataFrame:
    """Per-group metrics (see the module docstring), sorted by the group key."""
    name, key = group_key(by)
    calls = model_calls(frame, cost=cost)
    return (
        calls.group_by(key.alias(name))
        .agg(**_measures())
        .select(name, *SUMMARY_COLUMNS)
        .sort(name, nulls_last=True)
    )


def summary_total(frame: Any, *, cost: CostMode | None = None) -> pl.DataFrame:
    """`summary`'s measures over every model call at once: one row, no group column. Its
    counts, tokens and cost are the sums of any grouping's rows; its percentiles, rates and
    shares are over all the calls (not an average of the rows)."""
    return model_calls(frame, cost=cost).select(**_measures()).select(SUMMARY_COLUMNS)


def _measures() -> dict[str, pl.Expr]:
    ttft = pl.col("ttft_ms")
    return {
        "requests": pl.len().cast(pl.Int64()),
        "error_rate": (~OK).mean(),
        "p50_latency_ms": pl.col("latency_ms").quantile(0.5, "linear"),
        "p95_latency_ms": pl.col("latency_ms").quantile(0.95, "linear"),
        "p50_ttft_ms": ttft.filter(OK & (ttft > 0)).median(),
        "tokens_per_s": tokens_per_s(),
        **{column: sum_or_null(column).cast(pl.Int64()) for column in TOKENS},
        "reasoning_share": ratio_over_rows(pl.col("reasoning_tokens"), pl.col("completion_tokens")),
        "cost": cost_sum(),
        "computed": (pl.col("cost_source") == "computed").sum().cast(pl.Int64()),
        "unpriced": pl.col("cost").is_null().sum().cast(pl.Int64()),
    }


SUMMARY_COLUMNS = (
    "requests",
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "p50_ttft_ms",
    "tokens_per_s",
    *TOKENS,
    "reasoning_share",
    "cost",
    "computed",
    "unpriced",
)
