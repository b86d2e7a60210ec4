"""Per-group metrics over a loaded log (the `claude_gw.logs` schema).

`summary(df, by="model")` is what `claude-gw logs summary` prints: one row per model (the
model sent upstream), session or day, over the model calls: every record but count_tokens
calls, which are answered locally (a loaded record is always an AI-proxy record: lines without
`ai` are skipped by the reader).

| column | meaning |
|---|---|
| requests | model calls in the group |
| error_rate | share of them with an error (`error_type` set) |
| p50_latency_ms, p95_latency_ms | request latency percentiles (`latency_ms`) |
| p50_ttft_ms | median time to first token over successful calls that report one |
| tokens_per_s | completion tokens / upstream seconds, over successful calls |
| prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens | sums |
| reasoning_share | reasoning_tokens / completion_tokens |
| cost | sum of known costs (null when none is known) |
| unpriced | calls whose cost is unknown (null in the log) |
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

By = Literal["model", "session", "day"]
GROUP_KEYS: dict[str, tuple[str, pl.Expr]] = {
    "model": ("model", pl.coalesce("request_model", "requested_model").fill_null("(unknown)")),
    "session": ("session_id", pl.col("session_id").fill_null("(none)")),
    "day": ("day", pl.col("time").dt.date()),
}


def as_polars(frame: Any) -> pl.DataFrame:
    """A polars frame of the log schema, from either engine's frame."""
    if isinstance(frame, pl.DataFrame):
        return frame
    from claude_gw.logs.schema import to_polars

    return to_polars(frame)


def summary(frame: Any, *, by: By = "model") -> pl.DataFrame:
    """Per-group metrics (see the module docstring), sorted by the group key."""
    if by not in GROUP_KEYS:
        raise ValueError(f"by must be one of {', '.join(GROUP_KEYS)}, not {by!r}")
    name, key = GROUP_KEYS[by]
    calls = as_polars(frame).filter(pl.col("endpoint") != "count_tokens")
    ok = pl.col("error_type").is_null()
    upstream_s = pl.col("upstream_latency_ms").filter(ok).sum() / 1000
    return (
        calls.group_by(key.alias(name))
        .agg(
            requests=pl.len(),
            error_rate=(~ok).mean(),
            p50_latency_ms=pl.col("latency_ms").quantile(0.5, "linear"),
            p95_latency_ms=pl.col("latency_ms").quantile(0.95, "linear"),
            p50_ttft_ms=pl.col("ttft_ms").filter(ok & (pl.col("ttft_ms") > 0)).median(),
            tokens_per_s=pl.col("completion_tokens").filter(ok).sum() / upstream_s,
            prompt_tokens=pl.col("prompt_tokens").sum(),
            cached_tokens=pl.col("cached_tokens").sum(),
            completion_tokens=pl.col("completion_tokens").sum(),
            reasoning_tokens=pl.col("reasoning_tokens").sum(),
            cost=pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()),
            unpriced=pl.col("cost").is_null().sum(),
        )
        .with_columns(
            reasoning_share=pl.when(pl.col("completion_tokens") > 0).then(
                pl.col("reasoning_tokens") / pl.col("completion_tokens")
            ),
            tokens_per_s=pl.when(pl.col("tokens_per_s").is_finite()).then("tokens_per_s"),
        )
        .select(
            name,
            "requests",
            "error_rate",
            "p50_latency_ms",
            "p95_latency_ms",
            "p50_ttft_ms",
            "tokens_per_s",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "reasoning_share",
            "cost",
            "unpriced",
        )
        .sort(name, nulls_last=True)
    )
