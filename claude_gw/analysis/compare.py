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
| target | the replay's `replay_target` (`replay.load_results` adds it), else model_replay |
| model_original, model_replay | model sent upstream (`request_model`, else `requested_model`) |
| <metric>_original, <metric>_replay | the metric on each side (Float64) |
| delta_<metric> | replay - original (null when either side is null) |

for each metric of `metrics` present in both frames (by default latency, TTFT, tokens, cost,
tool calls and `answer_chars`, a column the replay engine may add).

`compare(pairs)` summarises a paired frame per target and metric, with a percentile
bootstrap interval of the mean delta (seeded: the same input gives the same interval). Targets
are never pooled: two targets serving one model (Chat Completions and Responses, say) stay
two rows.

Tool-call agreement reads the tools each answer called from the logged response payloads
(`read_logs(..., payloads=True)`): `tool_names(payload)` for one answer, then
`tool_call_agreement(paired)` per (original, replay) pair of a `replay.pair_with_originals`
frame and `agreement_by_target(agreement)` per target (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
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
    model = _model(frame).cast(pl.String)
    target = []
    if side == "replay":
        named = pl.col("replay_target") if "replay_target" in frame.columns else None
        target = [(pl.coalesce(named, model) if named is not None else model).alias("target")]
    return frame.select(
        pl.col(key).cast(pl.String).alias("__key"),
        *target,
        model.alias(f"model_{side}"),
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
    joined = joined.select("__key", "target", pl.exclude("__key", "target"))
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
    """One row per (target, metric) of a `pair()` frame, over the pairs where both sides
    have the metric: target, model_replay, pairs, mean_original, mean_replay, mean_delta,
    median_delta, ci_low, ci_high (the bootstrap interval of mean_delta at `level`; null for
    fewer than two pairs). Sorted by target, then metric in `pair()`'s order. A frame without
    a `target` column is grouped by model_replay."""
    frame = polars_frame(pairs)
    if "target" not in frame.columns:
        frame = frame.with_columns(pl.col("model_replay").alias("target"))
    metrics = [c.removeprefix("delta_") for c in frame.columns if c.startswith("delta_")]
    rows = []
    for (target,), group in frame.group_by("target", maintain_order=True):
        models = group["model_replay"].drop_nulls().unique().sort().to_list()
        model = ", ".join(models) or None
        for metric in metrics:
            rows.append((target, *_row(group, model, metric, level, resamples, seed)))
    return pl.DataFrame(rows, schema=COMPARE_SCHEMA, orient="row").sort(
        "target", maintain_order=True, nulls_last=True
    )


COMPARE_SCHEMA = {
    "target": pl.String,
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


def tool_names(payload: str | None) -> list[str] | None:
    """The names of the tools an answer called, in order, from a logged response payload:
    an Anthropic message (`tool_use` blocks), its event stream (`content_block_start` events
    of `tool_use` blocks), an OpenAI Chat Completions answer (`choices[0].message.tool_calls`)
    or a Responses answer (`function_call` output items). `[]` for an answer that called no
    tool; None when there is no answer to read: no payload, an error body, or text that is
    none of these."""
    if not payload:
        return None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return _streamed_tool_names(payload)
    return _answer_tool_names(body) if isinstance(body, dict) else None


def _answer_tool_names(body: dict[str, Any]) -> list[str] | None:
    if body.get("type") == "error" or body.get("error"):
        return None
    if isinstance(body.get("content"), list):
        return [b.get("name", "") for b in body["content"] if _is_tool_use(b)]
    if isinstance(body.get("choices"), list) and body["choices"]:
        calls = (body["choices"][0].get("message") or {}).get("tool_calls") or []
        return [(c.get("function") or {}).get("name", "") for c in calls]
    if isinstance(body.get("output"), list):
        items = body["output"]
        return [i.get("name", "") for i in items if i.get("type") == "function_call"]
    return None


def _is_tool_use(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_use"


def _streamed_tool_names(text: str) -> list[str] | None:
    names: list[str] = []
    events = 0
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = orjson.loads(line.removeprefix("data:").strip())
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        events += 1
        if event.get("type") == "error":
            return None
        block = event.get("content_block")
        if event.get("type") == "content_block_start" and isinstance(block, dict):
            names += [block.get("name", "")] if _is_tool_use(block) else []
    return names if events else None


def tool_call_agreement(paired: Any) -> pl.DataFrame:
    """Per (original, replay) pair of a `replay.pair_with_originals` frame (polars or pandas;
    it needs `response_payload`, `original_response_payload` and `replay_source_id`, and
    names the target by `replay_target`, else `request_model`), the tools each side called:

    | column | meaning |
    |---|---|
    | source_id, target | the original's request id, and the replay's target |
    | original_tools, replay_tools | tool names in call order (`tool_names`; null: no answer) |
    | comparable | both sides have an answer |
    | same_sequence | the same tools in the same order (null when not comparable) |
    | same_set | the same set of tool names, whatever the order and count (null likewise) |

    Two answers that both call no tool agree. Rows keep the frame's order."""
    frame = polars_frame(paired)
    target = "replay_target" if "replay_target" in frame.columns else "request_model"
    originals = [tool_names(p) for p in frame["original_response_payload"].to_list()]
    replays = [tool_names(p) for p in frame["response_payload"].to_list()]
    rows = [
        (
            source,
            name,
            left,
            right,
            left is not None and right is not None,
            left == right if left is not None and right is not None else None,
            set(left) == set(right) if left is not None and right is not None else None,
        )
        for source, name, left, right in zip(
            frame["replay_source_id"].to_list(),
            frame[target].to_list(),
            originals,
            replays,
            strict=True,
        )
    ]
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA, orient="row")


AGREEMENT_SCHEMA: dict[str, Any] = {
    "source_id": pl.String,
    "target": pl.String,
    "original_tools": pl.List(pl.String),
    "replay_tools": pl.List(pl.String),
    "comparable": pl.Boolean,
    "same_sequence": pl.Boolean,
    "same_set": pl.Boolean,
}


def agreement_by_target(agreement: Any) -> pl.DataFrame:
    """Per target of a `tool_call_agreement` frame, sorted by target: `pairs`, `comparable`
    (pairs with an answer on both sides), `same_sequence` and `same_set` (counts among the
    comparable pairs), and their shares `sequence_share`, `set_share` (over the comparable
    pairs; null when there are none)."""
    frame = polars_frame(agreement)
    counts = frame.group_by("target").agg(
        pl.len().cast(pl.Int64).alias("pairs"),
        pl.col("comparable").sum().cast(pl.Int64).alias("comparable"),
        pl.col("same_sequence").sum().cast(pl.Int64).alias("same_sequence"),
        pl.col("same_set").sum().cast(pl.Int64).alias("same_set"),
    )
    comparable = pl.col("comparable")
    return counts.with_columns(
        pl.when(comparable > 0).then(pl.col("same_sequence") / comparable).alias("sequence_share"),
        pl.when(comparable > 0).then(pl.col("same_set") / comparable).alias("set_share"),
    ).sort("target", nulls_last=True)
