"""Paired comparison of original requests and their replays (same prompt, another target).

The pairing input is generic, so any replay engine can feed it:

- `originals`: a frame of the log schema (polars or pandas), one row per original request.
- `replays`: a frame (polars or pandas) with a column (`replay_key`, default `key`) holding the
  key of the original it replays, plus any of the metric columns; when it has the log's
  `request_model` / `requested_model` columns, they name the replay's target.

`pair(originals, replays, key="request_id")` joins them (inner: unpaired rows are dropped; an
original replayed on several targets gives one pair per replay; row order is unspecified) and
returns a polars DataFrame:

| column | meaning |
|---|---|
| key | the original's key (named as `key`) |
| model_original, model_replay | model sent upstream (`request_model`, else `requested_model`) |
| <metric>_original, <metric>_replay | the metric on each side (Float64) |
| delta_<metric> | replay - original (null when either side is null) |

for each metric of `metrics` present in both frames (by default latency, TTFT, tokens, cost,
tool calls and `answer_chars`, a column the replay engine may add).

`compare(pairs)` summarises a paired frame per replay model and metric, with a percentile
bootstrap interval of the mean delta (seeded: the same input gives the same interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

METRICS = (
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost",
    "tool_calls",
    "answer_chars",
)
SIDES = ("original", "replay")


def polars_frame(frame: Any) -> pl.DataFrame:
    """`frame` as polars, keeping every column (a pandas frame is converted as it is)."""
    return frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)


def _model(frame: pl.DataFrame) -> pl.Expr:
    names = [n for n in ("request_model", "requested_model") if n in frame.columns]
    return pl.coalesce(*names) if names else pl.lit(None, pl.String)


def _side(frame: pl.DataFrame, key: str, side: str, metrics: list[str]) -> pl.DataFrame:
    return frame.select(
        pl.col(key).cast(pl.String).alias("__key"),
        _model(frame).cast(pl.String).alias(f"model_{side}"),
        *(pl.col(m).cast(pl.Float64).alias(f"{m}_{side}") for m in metrics),
    )


def pair(
    originals: Any,
    replays: Any,
    *,
    key: str = "request_id",
    replay_key: str | None = None,
    metrics: Sequence[str] = METRICS,
) -> pl.DataFrame:
    """Originals joined with their replays (see the module docstring)."""
    left, right = polars_frame(originals), polars_frame(replays)
    right_key = replay_key or key
    present = [m for m in metrics if m in left.columns and m in right.columns]
    joined = _side(left, key, "original", present).join(
        _side(right, right_key, "replay", present), on="__key", how="inner"
    )
    deltas = [
        (pl.col(f"{m}_replay") - pl.col(f"{m}_original")).alias(f"delta_{m}") for m in present
    ]
    return joined.with_columns(deltas).rename({"__key": key})


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of `values`; None for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def compare(
    pairs: Any, *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> pl.DataFrame:
    """One row per (model_replay, metric) of a `pair()` frame, over the pairs where both sides
    have the metric: pairs, mean_original, mean_replay, mean_delta, median_delta, ci_low,
    ci_high (the bootstrap interval of mean_delta at `level`; null for fewer than two pairs).
    Sorted by model_replay, then metric in `pair()`'s order."""
    frame = polars_frame(pairs)
    metrics = [c.removeprefix("delta_") for c in frame.columns if c.startswith("delta_")]
    rows = []
    for (model,), group in frame.group_by("model_replay", maintain_order=True):
        for metric in metrics:
            rows.append(_row(group, model, metric, level, resamples, seed))
    return pl.DataFrame(rows, schema=COMPARE_SCHEMA, orient="row").sort(
        "model_replay", maintain_order=True, nulls_last=True
    )


COMPARE_SCHEMA = {
    "model_replay": pl.String,
    "metric": pl.String,
    "pairs": pl.Int64,
    "mean_original": pl.Float64,
    "mean_replay": pl.Float64,
    "mean_delta": pl.Float64,
    "median_delta": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}


def _row(
    group: pl.DataFrame, model: Any, metric: str, level: float, resamples: int, seed: int
) -> tuple[Any, ...]:
    both = group.filter(pl.col(f"delta_{metric}").is_not_null())
    deltas = both[f"delta_{metric}"]
    interval = bootstrap_ci(deltas.to_list(), level=level, resamples=resamples, seed=seed)
    low, high = interval if interval is not None else (None, None)
    return (
        model,
        metric,
        both.height,
        both[f"{metric}_original"].mean(),
        both[f"{metric}_replay"].mean(),
        deltas.mean(),
        deltas.median(),
        low,
        high,
    )
