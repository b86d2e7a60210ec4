"""Originals against their replays: paired deltas and tool-call agreement, per target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.compare import agreement_by_target, polars_frame
from claude_gw.analysis.palette import Palette, extend_palette, model_palette
from claude_gw.analysis.plots._base import (
    dollar_axis,
    legend_outside,
    new_axes,
    no_data,
    thousands_axis,
)
from claude_gw.analysis.plots.distributions import spread

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# metric -> (what it is, unit, factor from the logged unit)
METRIC_UNITS = {
    "latency_ms": ("latency", "s", 1 / 1000),
    "ttft_ms": ("time to first token", "s", 1 / 1000),
    "prompt_tokens": ("prompt tokens", "tokens", 1.0),
    "completion_tokens": ("completion tokens", "tokens", 1.0),
    "reasoning_tokens": ("reasoning tokens", "tokens", 1.0),
    "cost": ("cost", "$", 1.0),
    "tool_calls": ("tool calls", "calls", 1.0),
    "answer_chars": ("answer length", "characters", 1.0),
}


def paired_deltas(
    pairs: Any,
    ax: Axes | None = None,
    *,
    metric: str = "latency_ms",
    palette: Palette | None = None,
) -> Axes:
    """Replay minus original of one metric, one row per target (never pooled across
    targets), from `compare.pair()`'s frame (`delta_<metric>`): a box and a dot per pair,
    the mean as a white diamond, a line at zero (left of it: the replay is lower). Targets
    are coloured by the model they ran (`palette`, else one over the replayed models)."""
    ax = new_axes(ax)
    what, unit, factor = METRIC_UNITS.get(metric, (metric, "", 1.0))
    title = f"replay − original: {what}, per target"
    frame = polars_frame(pairs)
    column = f"delta_{metric}"
    if column not in frame.columns or frame[column].drop_nulls().len() == 0:
        return no_data(ax, title, f"no pair with {what} on both sides")
    if "target" not in frame.columns:
        frame = frame.with_columns(pl.col("model_replay").alias("target"))
    groups = (
        frame.filter(pl.col(column).is_not_null())
        .group_by("target")
        .agg((pl.col(column) * factor).alias("delta"), pl.col("model_replay").first())
        .sort("target")
    )
    models = [m or "(unknown)" for m in groups["model_replay"].to_list()]
    colours = extend_palette(palette or model_palette(models), models)
    _target_boxes(ax, groups, [colours[m] for m in models])
    ax.axvline(0, color="black", lw=1)
    ax.set_title(title)
    ax.set_xlabel(f"replay − original ({unit}); left of 0: the replay's is lower")
    if unit == "$":
        dollar_axis(ax.xaxis)
    elif unit == "tokens":
        thousands_axis(ax.xaxis)
    ax.grid(axis="x", alpha=0.3)
    legend_outside(ax)
    return ax


def _target_boxes(ax: Axes, groups: pl.DataFrame, colours: list[str]) -> None:
    samples = groups["delta"].to_list()
    positions = list(range(1, len(samples) + 1))
    labels = [f"{t} (n={len(s)})" for t, s in zip(groups["target"], samples, strict=True)]
    boxes = ax.boxplot(
        samples,
        positions=positions,
        orientation="horizontal",
        tick_labels=labels,
        patch_artist=True,
        showfliers=False,
        widths=0.6,
        medianprops={"color": "black"},
    )
    for box, colour in zip(boxes["boxes"], colours, strict=True):
        box.set(facecolor=colour, alpha=0.35)
    for position, sample, colour in zip(positions, samples, colours, strict=True):
        ax.scatter(sample, spread(position, len(sample)), s=14, color=colour, zorder=3)
        mean = sum(sample) / len(sample)
        label = "mean" if position == 1 else None
        ax.scatter(
            [mean],
            [position],
            marker="D",
            s=40,
            color="white",
            edgecolor="black",
            zorder=4,
            label=label,
        )
    ax.set_ylim(len(samples) + 0.5, 0.5)


def tool_agreement(agreement: Any, ax: Axes | None = None) -> Axes:
    """Per target, the share of comparable pairs whose replay called the same tools in the
    same order, and the same set of tools (`compare.tool_call_agreement`'s frame), as two
    bars labelled "k of n"; pairs missing an answer on either side are counted in the label."""
    ax = new_axes(ax)
    title = "tool-call agreement with the original, per target"
    table = agreement_by_target(agreement) if polars_frame(agreement).height else None
    if table is None or table["comparable"].sum() == 0:
        return no_data(ax, title, "no pair with an answer on both sides")
    positions = list(range(table.height))
    kinds = (
        ("same_sequence", "same tools, same order", "#1f77b4", -0.2),
        ("same_set", "same set of tools", "#aec7e8", 0.2),
    )
    for column, name, colour, shift in kinds:
        counts = table[column].to_list()
        shares = [
            100 * c / n if n else 0.0 for c, n in zip(counts, table["comparable"], strict=True)
        ]
        at = [p + shift for p in positions]
        ax.barh(at, shares, height=0.4, color=colour, label=name)
        for y, share, count, n in zip(at, shares, counts, table["comparable"], strict=True):
            ax.text(share, y, f" {count} of {n}", va="center", fontsize="small")
    labels = [
        t if p == c else f"{t} ({p - c} of {p} without an answer)"
        for t, p, c in zip(table["target"], table["pairs"], table["comparable"], strict=True)
    ]
    ax.set_yticks(positions, labels)
    ax.set_ylim(table.height - 0.5, -0.5)
    ax.set_xlim(0, 125)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("pairs that agree (% of pairs with both answers)")
    ax.set_title(title)
    legend_outside(ax)
    return ax
