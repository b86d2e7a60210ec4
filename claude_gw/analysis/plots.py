"""Plots of a loaded log: each takes a frame (polars or pandas) and an optional matplotlib Axes,
draws on it and returns it. With `ax=None` a new pyplot figure is made (so a notebook shows it);
nothing here calls `plt.show()` or saves a file.

Models are the model sent upstream (`request_model`, else `requested_model`), as in `stats`;
each model keeps its colour across plots (tab10, in sorted order). Only model calls are drawn
(count_tokens calls are left out).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.compare import polars_frame
from claude_gw.analysis.metrics import GROUP_KEYS
from claude_gw.analysis.stats import OK, model_calls, stats

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MODEL = GROUP_KEYS["model"][1].alias("model")


def new_axes(ax: Axes | None) -> Axes:
    """`ax`, or the Axes of a new pyplot figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def model_colours(models: list[str]) -> dict[str, Any]:
    """A stable colour per model: tab10 in sorted order, cycling after ten."""
    from matplotlib import colormaps

    tab10 = colormaps["tab10"]
    palette = [tab10(index) for index in range(10)]
    return {model: palette[index % len(palette)] for index, model in enumerate(sorted(models))}


def latency_distribution(frame: Any, ax: Axes | None = None, *, column: str = "latency_ms") -> Axes:
    """Box plot of `column` (a latency in ms) per model, over the calls that report it."""
    ax = new_axes(ax)
    calls = model_calls(frame).with_columns(MODEL).filter(pl.col(column).is_not_null())
    return _boxes(ax, calls, column, f"{column} per model")


def ttft_distribution(frame: Any, ax: Axes | None = None) -> Axes:
    """Box plot of the time to first token per model, over successful calls with one (> 0)."""
    ax = new_axes(ax)
    calls = model_calls(frame).with_columns(MODEL).filter(OK & (pl.col("ttft_ms") > 0))
    return _boxes(ax, calls, "ttft_ms", "time to first token per model")


def _boxes(ax: Axes, calls: pl.DataFrame, column: str, title: str) -> Axes:
    groups = calls.group_by("model").agg(pl.col(column)).sort("model")
    models = groups["model"].to_list()
    if models:
        ax.boxplot(groups[column].to_list(), tick_labels=models)
    ax.set_title(title)
    ax.set_ylabel("ms")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def cost_per_model(frame: Any, ax: Axes | None = None) -> Axes:
    """Bar chart of the logged cost per model (models without a known cost are left out)."""
    ax = new_axes(ax)
    table = stats(frame).filter(pl.col("cost").is_not_null())
    models = table["model"].to_list()
    colours = model_colours(models)
    ax.bar(models, table["cost"].to_list(), color=[colours[m] for m in models])
    ax.set_title("cost per model")
    ax.set_ylabel("cost")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def reasoning_vs_latency(frame: Any, ax: Axes | None = None) -> Axes:
    """Scatter of reasoning tokens (x) against latency (y), one colour per model; calls that
    do not report reasoning tokens are left out."""
    ax = new_axes(ax)
    calls = model_calls(frame).with_columns(MODEL)
    calls = calls.filter(
        pl.col("reasoning_tokens").is_not_null() & pl.col("latency_ms").is_not_null()
    )
    colours = model_colours(calls["model"].unique().to_list())
    for model, colour in colours.items():
        rows = calls.filter(pl.col("model") == model)
        ax.scatter(rows["reasoning_tokens"], rows["latency_ms"], color=colour, label=model)
    ax.set_title("reasoning tokens against latency")
    ax.set_xlabel("reasoning tokens")
    ax.set_ylabel("latency (ms)")
    if colours:
        ax.legend()
    return ax


def session_timeline(frame: Any, ax: Axes | None = None, *, max_sessions: int = 30) -> Axes:
    """Requests on a time axis: one lane per session (`(none)` for requests without one), a
    segment from arrival to end (`time + latency_ms`) coloured by model, errors marked with
    a black x at their arrival. Only the `max_sessions` sessions with the most requests are
    drawn (ties by id); the title says when some were left out."""
    ax = new_axes(ax)
    calls = model_calls(frame).with_columns(MODEL, pl.col("session_id").fill_null("(none)"))
    calls = calls.filter(pl.col("time").is_not_null()).with_columns(
        end=pl.col("time") + pl.duration(milliseconds=pl.col("latency_ms").fill_null(0))
    )
    sessions = calls["session_id"].n_unique()
    kept = _busiest_sessions(calls, max_sessions)
    lanes = {session: index for index, session in enumerate(kept)}
    calls = calls.filter(pl.col("session_id").is_in(kept))
    colours = model_colours(calls["model"].unique().to_list())
    for model, colour in colours.items():
        rows = calls.filter(pl.col("model") == model)
        lane = [lanes[s] for s in rows["session_id"]]
        ax.hlines(
            lane, rows["time"].to_list(), rows["end"].to_list(), colors=[colour], lw=6, label=model
        )
    _mark_errors(ax, calls.filter(~OK), lanes)
    ax.set_yticks(list(lanes.values()), list(lanes))
    _concise_dates(ax)
    left_out = f" (busiest {len(kept)} of {sessions} sessions)" if len(kept) < sessions else ""
    ax.set_title(f"session timeline{left_out}")
    ax.set_xlabel("time (UTC)")
    if colours:
        ax.legend()
    return ax


def _busiest_sessions(calls: pl.DataFrame, limit: int) -> list[str]:
    counts = (
        calls.group_by("session_id").len().sort(["len", "session_id"], descending=[True, False])
    )
    return sorted(counts.head(limit)["session_id"].to_list())


def _mark_errors(ax: Axes, errors: pl.DataFrame, lanes: dict[str, int]) -> None:
    if errors.height:
        lane = [lanes[s] for s in errors["session_id"]]
        ax.scatter(
            errors["time"].to_list(), lane, marker="x", color="black", zorder=3, label="error"
        )


def _concise_dates(ax: Axes) -> None:
    # matplotlib.dates is untyped: reached through importlib to keep mypy's checks elsewhere
    dates: Any = importlib.import_module("matplotlib.dates")
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def paired_deltas(pairs: Any, ax: Axes | None = None, *, metric: str = "latency_ms") -> Axes:
    """Histogram of one metric's replay - original deltas, from `compare.pair()`'s frame
    (column `delta_<metric>`), with a line at the mean and one at zero."""
    ax = new_axes(ax)
    column = f"delta_{metric}"
    deltas = polars_frame(pairs)
    values = deltas[column].drop_nulls().to_list()
    if values:
        ax.hist(values, bins=min(30, max(5, len(values) // 2)))
        ax.axvline(sum(values) / len(values), color="tab:red", label="mean")
    ax.axvline(0, color="black", lw=1)
    ax.set_title(f"replay - original: {metric}")
    ax.set_xlabel(metric)
    ax.set_ylabel("pairs")
    return ax
