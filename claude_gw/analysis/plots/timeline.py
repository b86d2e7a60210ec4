"""The session timeline: one lane per session, time relative to each session's start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.activity import session_lanes, timed_calls
from claude_gw.analysis.palette import Palette
from claude_gw.analysis.plots._base import (
    label_size,
    legend_outside,
    new_axes,
    no_data,
    palette_for,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# (unit, seconds per unit, longest span in seconds drawn in it)
TIME_UNITS = (("s", 1.0, 180.0), ("min", 60.0, 3 * 3600.0), ("h", 3600.0, float("inf")))
TITLE = "session timeline"


def time_unit(longest_s: float) -> tuple[str, float]:
    """The unit (and its length in seconds) for an axis reaching `longest_s` seconds."""
    for unit, size, limit in TIME_UNITS:
        if longest_s <= limit:
            return unit, size
    return TIME_UNITS[-1][0], TIME_UNITS[-1][1]


def session_timeline(
    frame: Any,
    ax: Axes | None = None,
    *,
    max_sessions: int = 20,
    palette: Palette | None = None,
) -> Axes:
    """Every request of every session on one axis of time since its session's start: one lane
    per session (earliest on top), labelled by capture name or short session id and its start
    time (`activity.session_lanes`); a bar from arrival to end coloured by model, a tick at
    each arrival so instant requests still show, errors marked with a black x. Only the
    `max_sessions` busiest sessions are drawn; the title says when some were left out."""
    ax = new_axes(ax)
    lanes = session_lanes(frame, max_sessions=max_sessions)
    if lanes.height == 0:
        return no_data(ax, TITLE, "no model calls with a time")
    colours = palette_for(frame, palette, lanes["model"].unique().to_list())
    longest = float(lanes.select((pl.col("offset_s") + pl.col("duration_s")).max()).item())
    unit, size = time_unit(longest)
    for model in sorted(lanes["model"].unique().to_list()):
        rows = lanes.filter(pl.col("model") == model)
        _draw_requests(ax, rows, size, colours[model], model)
    _mark_errors(ax, lanes.filter(pl.col("error")), size)
    _label_lanes(ax, lanes)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"time since session start ({unit})")
    ax.set_title(_title(frame, lanes))
    ax.grid(axis="x", alpha=0.3)
    legend_outside(ax)
    return ax


def _draw_requests(ax: Axes, rows: pl.DataFrame, size: float, colour: str, model: str) -> None:
    starts = (rows["offset_s"] / size).to_list()
    widths = (rows["duration_s"] / size).to_list()
    lanes = rows["lane"].to_list()
    ax.barh(lanes, widths, left=starts, height=0.6, color=colour, edgecolor="white", lw=0.5)
    ax.scatter(starts, lanes, marker="|", s=60, color=colour, label=model, zorder=3)


def _mark_errors(ax: Axes, errors: pl.DataFrame, size: float) -> None:
    if errors.height:
        ax.scatter(
            (errors["offset_s"] / size).to_list(),
            errors["lane"].to_list(),
            marker="x",
            color="black",
            zorder=4,
            label="error",
        )


def _label_lanes(ax: Axes, lanes: pl.DataFrame) -> None:
    table = lanes.select("lane", "label").unique().sort("lane")
    ax.set_yticks(table["lane"].to_list(), table["label"].to_list())
    ax.tick_params(axis="y", labelsize=label_size(ax, table.height))
    ax.set_ylim(table.height - 0.5, -0.5)  # the earliest session on top


def _title(frame: Any, lanes: pl.DataFrame) -> str:
    starts = lanes["session_start"]
    first: Any = starts.min()
    last: Any = starts.max()
    days = f"{first:%Y-%m-%d}" if f"{first:%F}" == f"{last:%F}" else f"{first:%F} to {last:%F}"
    sessions = timed_calls(frame)["session_id"].n_unique()
    kept = lanes["lane"].n_unique()
    left_out = f", busiest {kept} of {sessions} sessions" if kept < sessions else ""
    return f"{TITLE} ({days} UTC{left_out})"
