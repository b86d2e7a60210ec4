"""Requests, cost and error rate over time, per model (`activity.over_time` buckets)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.activity import bucket_every, over_time, timed_calls
from claude_gw.analysis.palette import Palette
from claude_gw.analysis.plots._base import (
    concise_dates,
    dollar_axis,
    legend_outside,
    new_axes,
    no_data,
    palette_for,
    thousands_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def requests_over_time(
    frame: Any, ax: Axes | None = None, *, every: str | None = None, palette: Palette | None = None
) -> Axes:
    """Model calls per time bucket (`every`, a polars interval such as "1h"; chosen from the
    span when None), stacked by model."""
    return _stacked(new_axes(ax), frame, "requests", every, palette)


def cost_over_time(
    frame: Any, ax: Axes | None = None, *, every: str | None = None, palette: Palette | None = None
) -> Axes:
    """Known cost ($) per time bucket, stacked by model; the title counts unpriced calls."""
    return _stacked(new_axes(ax), frame, "cost", every, palette)


def error_rate_over_time(
    frame: Any, ax: Axes | None = None, *, every: str | None = None, palette: Palette | None = None
) -> Axes:
    """Share of failed calls (%) per time bucket, one line per model with a dot per bucket
    it had calls in (the line breaks over buckets without calls: there is no rate there);
    the legend gives each model's failed and total calls (lines at the same rate hide each
    other), the title the whole log's rate."""
    ax = new_axes(ax)
    table, interval = _buckets(frame, every)
    title = f"error rate per {interval}"
    if table.height == 0:
        return no_data(ax, title, "no model calls with a time")
    colours = palette_for(frame, palette, table["model"].unique().to_list())
    for model in sorted(table["model"].unique().to_list()):
        rows = table.filter(pl.col("model") == model)
        ax.plot(
            *_broken_at_gaps(rows, interval),
            marker="o",
            color=colours[model],
            label=f"{model} ({rows['errors'].sum()} of {rows['requests'].sum()} failed)",
        )
    overall = int(table["errors"].sum()) / int(table["requests"].sum())
    ax.set_title(f"{title} (whole log: {100 * overall:.1f} %)")
    ax.set_ylabel("failed calls (%)")
    ax.set_ylim(-3, 103)
    _time_axis(ax, table, interval)
    legend_outside(ax)
    return ax


def _buckets(frame: Any, every: str | None) -> tuple[pl.DataFrame, str]:
    interval = every or bucket_every(timed_calls(frame))
    return over_time(frame, every=interval), interval


def _middles(rows: pl.DataFrame, interval: str) -> list[Any]:
    middle = pl.col("bucket") + (pl.col("bucket").dt.offset_by(interval) - pl.col("bucket")) / 2
    return rows.select(middle)["bucket"].to_list()


def _broken_at_gaps(rows: pl.DataFrame, interval: str) -> tuple[list[Any], list[float]]:
    """x (bucket middles) and y (error rate, %) with a NaN point wherever the next bucket
    with calls is not the adjacent one, so the line does not bridge empty buckets."""
    xs: list[Any] = []
    ys: list[float] = []
    starts = rows["bucket"].to_list()
    ends = rows.select(pl.col("bucket").dt.offset_by(interval))["bucket"].to_list()
    rates = (rows["error_rate"] * 100).to_list()
    for index, middle in enumerate(_middles(rows, interval)):
        if index and starts[index] != ends[index - 1]:
            xs.append(ends[index - 1])
            ys.append(float("nan"))
        xs.append(middle)
        ys.append(rates[index])
    return xs, ys


def _width_days(rows: pl.DataFrame, interval: str) -> float:
    first = rows.select(pl.col("bucket").min())
    span = first.select(pl.col("bucket").dt.offset_by(interval) - pl.col("bucket")).item()
    return float(span.total_seconds()) / 86400 * 0.9


def _stacked(ax: Axes, frame: Any, column: str, every: str | None, palette: Palette | None) -> Axes:
    table, interval = _buckets(frame, every)
    title = f"{column} per {interval}"
    if table.height == 0 or (column == "cost" and table["cost"].drop_nulls().len() == 0):
        return no_data(
            ax,
            title,
            "no model calls with a time" if table.height == 0 else "no call has a known cost",
        )
    dates: Any = importlib.import_module("matplotlib.dates")
    width = _width_days(table, interval)
    colours = palette_for(frame, palette, table["model"].unique().to_list())
    buckets = table["bucket"].unique().sort()
    bottoms = dict.fromkeys(buckets.to_list(), 0.0)
    for model in sorted(table["model"].unique().to_list()):
        rows = table.filter(pl.col("model") == model)
        values = rows[column].fill_null(0).to_list()
        starts = rows["bucket"].to_list()
        middles = [dates.date2num(m) for m in _middles(rows, interval)]
        below = [bottoms[s] for s in starts]
        ax.bar(middles, values, width=width, bottom=below, color=colours[model], label=model)
        for start, value in zip(starts, values, strict=True):
            bottoms[start] += value
    unpriced = int(table["unpriced"].sum())
    if column == "cost":
        dollar_axis(ax.yaxis)
        ax.set_ylabel("cost ($)")
        title += f" ({unpriced} unpriced calls not counted)" if unpriced else ""
    else:
        thousands_axis(ax.yaxis)
        ax.set_ylabel("model calls")
    ax.set_title(title)
    ax.margins(y=0.08)
    _time_axis(ax, table, interval)
    legend_outside(ax)
    return ax


def _time_axis(ax: Axes, table: pl.DataFrame, interval: str) -> None:
    """Dates on x from the first bucket's start to the last one's end (a single bucket
    would otherwise get an axis of years); the day in the label."""
    bucket = pl.col("bucket")
    ends = table.select(bucket.min().alias("lo"), bucket.max().dt.offset_by(interval).alias("hi"))
    ax.set_xlim(*ends.row(0))
    concise_dates(ax.xaxis)
    days = table["bucket"].dt.date().unique().sort()
    on = f" on {days[0]}" if days.len() == 1 else f", {days[0]} to {days[-1]}"
    ax.set_xlabel(f"time (UTC){on}")
    ax.grid(axis="y", alpha=0.3)
