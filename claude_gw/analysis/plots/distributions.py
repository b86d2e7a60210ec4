"""Per-request distributions per model: latency, time to first token, cost; and reasoning
tokens against latency."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.palette import Palette
from claude_gw.analysis.plots._base import (
    calls_with_model,
    dollar_axis,
    legend_outside,
    log_if_spread,
    new_axes,
    no_data,
    palette_for,
    thousands_axis,
)
from claude_gw.analysis.stats import OK

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def latency_distribution(
    frame: Any,
    ax: Axes | None = None,
    *,
    column: str = "latency_ms",
    palette: Palette | None = None,
) -> Axes:
    """Per model, the latency of every call that reports one (`column`, logged in ms, drawn
    in seconds): a box (quartiles, whiskers at 1.5 IQR) with each call as a dot."""
    title = "request latency per model" if column == "latency_ms" else f"{column} per model"
    calls = calls_with_model(frame).filter(pl.col(column).is_not_null())
    values = calls.with_columns((pl.col(column) / 1000).alias("value"))
    return per_model_boxes(new_axes(ax), frame, values, palette, title, "latency (s)")


def ttft_distribution(
    frame: Any, ax: Axes | None = None, *, palette: Palette | None = None
) -> Axes:
    """Per model, the time to first token (in seconds) of the successful calls that report
    one (> 0: a logged 0 means no token came), as in `latency_distribution`."""
    calls = calls_with_model(frame).filter(OK & (pl.col("ttft_ms") > 0))
    values = calls.with_columns((pl.col("ttft_ms") / 1000).alias("value"))
    title = "time to first token per model"
    return per_model_boxes(new_axes(ax), frame, values, palette, title, "time to first token (s)")


def cost_distribution(
    frame: Any, ax: Axes | None = None, *, palette: Palette | None = None
) -> Axes:
    """Per model, the cost ($) of every call with a known cost, as in `latency_distribution`;
    the label says how many calls of the model are unpriced."""
    calls = calls_with_model(frame)
    unpriced = dict(calls.group_by("model").agg(pl.col("cost").is_null().sum()).iter_rows())
    values = calls.filter(pl.col("cost").is_not_null()).with_columns(pl.col("cost").alias("value"))

    def label(model: str, count: int) -> str:
        missing = unpriced.get(model, 0)
        return f"{model} (n={count}" + (f", {missing} unpriced)" if missing else ")")

    ax = per_model_boxes(
        new_axes(ax),
        frame,
        values,
        palette,
        "cost per request, per model",
        "cost per request ($)",
        label=label,
    )
    if values.height:
        dollar_axis(ax.xaxis)
    return ax


def per_model_boxes(
    ax: Axes,
    frame: Any,
    values: pl.DataFrame,
    palette: Palette | None,
    title: str,
    xlabel: str,
    *,
    label: Callable[[str, int], str] | None = None,
) -> Axes:
    """Horizontal boxes of `values["value"]` per `values["model"]`, one dot per row on top;
    the first model (by name) on top; a log axis when the values span orders of magnitude."""
    if values.height == 0:
        return no_data(ax, title, "no calls report it")
    groups = values.group_by("model").agg(pl.col("value")).sort("model")
    models = groups["model"].to_list()
    colours = palette_for(frame, palette, models)
    samples = groups["value"].to_list()
    name = label or (lambda model, count: f"{model} (n={count})")
    positions = list(range(1, len(models) + 1))
    boxes = ax.boxplot(
        samples,
        positions=positions,
        orientation="horizontal",
        tick_labels=[name(m, len(s)) for m, s in zip(models, samples, strict=True)],
        patch_artist=True,
        showfliers=False,
        widths=0.6,
        medianprops={"color": "black"},
    )
    for box, model in zip(boxes["boxes"], models, strict=True):
        box.set(facecolor=colours[model], alpha=0.35)
    for position, model, sample in zip(positions, models, samples, strict=True):
        ax.scatter(sample, spread(position, len(sample)), s=14, color=colours[model], zorder=3)
    ax.set_ylim(len(models) + 0.5, 0.5)
    log_if_spread(ax, "x", [v for s in samples for v in s])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def spread(centre: float, count: int, width: float = 0.36) -> list[float]:
    """`count` positions evenly over `width` around `centre` (a deterministic jitter)."""
    if count == 1:
        return [centre]
    return [centre - width / 2 + width * i / (count - 1) for i in range(count)]


def reasoning_vs_latency(
    frame: Any, ax: Axes | None = None, *, palette: Palette | None = None
) -> Axes:
    """Scatter of reasoning tokens (x) against latency in seconds (y), one colour per model,
    over the calls that report both."""
    ax = new_axes(ax)
    title = "reasoning tokens against latency"
    calls = calls_with_model(frame).filter(
        pl.col("reasoning_tokens").is_not_null() & pl.col("latency_ms").is_not_null()
    )
    if calls.height == 0:
        return no_data(ax, title, "no calls report reasoning tokens and latency")
    models = sorted(calls["model"].unique().to_list())
    colours = palette_for(frame, palette, models)
    for model in models:
        rows = calls.filter(pl.col("model") == model)
        ax.scatter(
            rows["reasoning_tokens"].to_list(),
            (rows["latency_ms"] / 1000).to_list(),
            color=colours[model],
            label=model,
            alpha=0.8,
        )
    ax.set_title(title)
    ax.set_xlabel("reasoning tokens (tokens)")
    ax.set_ylabel("latency (s)")
    thousands_axis(ax.xaxis)
    ax.grid(alpha=0.3)
    legend_outside(ax)
    return ax
