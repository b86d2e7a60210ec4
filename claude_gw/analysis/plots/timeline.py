"""The session timeline: one lane per session, time relative to each session's start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.activity import session_lanes, timed_calls
from claude_gw.analysis.palette import Palette
from claude_gw.analysis.plots._base import (
    label_size,
    new_axes,
    no_data,
    palette_for,
    ticker,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# (unit, seconds per unit, longest span in seconds drawn in it)
TIME_UNITS = (("s", 1.0, 180.0), ("min", 60.0, 3 * 3600.0), ("h", 3600.0, float("inf")))
TITLE = "session timeline"
# a session shorter than this share of the longest one turns the time axis logarithmic
SHORT_SHARE = 0.05
THRESHOLDS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
NICE_TICKS = (10, 60, 600, 3600, 4 * 3600, 86400, 7 * 86400)


def time_unit(longest_s: float) -> tuple[str, float]:
    """The unit (and its length in seconds) for an axis reaching `longest_s` seconds."""
    for unit, size, limit in TIME_UNITS:
        if longest_s <= limit:
            return unit, size
    return TIME_UNITS[-1][0], TIME_UNITS[-1][1]


def session_spans(lanes: pl.DataFrame) -> list[tuple[float, int]]:
    """Each lane's length in seconds (from its first arrival to its last end) and its number
    of requests."""
    ends = lanes.group_by("lane").agg(
        (pl.col("offset_s") + pl.col("duration_s")).max().alias("span"), pl.len()
    )
    return [(float(span), int(count)) for span, count in ends.select("span", "len").rows()]


def log_threshold(spans: list[tuple[float, int]]) -> float | None:
    """None when every session fits a linear axis readably; else, when a session of two or
    more requests is under `SHORT_SHARE` of the longest session (a 25-second session beside
    a 3-hour one), the span (s) up to which the axis stays linear before it turns
    logarithmic: the longest of `THRESHOLDS` that session reaches (1 s at least). A session
    of one request shows as one bar on any axis, so it never turns the axis."""
    longest = max(span for span, _ in spans)
    several = [span for span, count in spans if count > 1]
    shortest = min(several, default=longest)
    if longest <= 60 or shortest >= SHORT_SHARE * longest:
        return None
    return max([t for t in THRESHOLDS if t <= shortest], default=THRESHOLDS[0])


def duration(value: float) -> str:
    """A tick label for a time since start: `0`, `10 s`, `10 min`, `3 h`, `2 d`."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if value >= size:
            return f"{value / size:g} {unit}"
    return f"{value:g} s" if value else "0"


def _log_time_axis(ax: Axes, threshold: float, longest: float) -> None:
    ax.set_xscale("symlog", linthresh=threshold, linscale=1.0)
    ticks = [0.0, threshold, *(t for t in NICE_TICKS if 5 * threshold <= t <= longest * 1.03)]
    ax.set_xticks(ticks, [duration(t) for t in ticks])
    ax.xaxis.set_minor_locator(ticker().NullLocator())
    ax.set_xlabel(f"time since session start (logarithmic beyond {duration(threshold)})")


def session_timeline(
    frame: Any,
    ax: Axes | None = None,
    *,
    max_sessions: int = 20,
    palette: Palette | None = None,
) -> Axes:
    """Every request of every session on one axis of time since its session's start: one lane
    per session (earliest on top), labelled by capture name or short session id and its start
    time (`activity.session_lanes`); a bar from arrival to end coloured by model (requests
    that overlap in time on separate tracks of the lane), a tick at each arrival so instant
    requests still show, errors marked with a black x. Only the
    `max_sessions` busiest sessions are drawn; the title says when some were left out. When
    short sessions sit beside much longer ones the time axis turns logarithmic past the
    shortest session's length (`log_threshold`), so every session stays readable."""
    ax = new_axes(ax)
    lanes = session_lanes(frame, max_sessions=max_sessions)
    if lanes.height == 0:
        return no_data(ax, TITLE, "no model calls with a time")
    colours = palette_for(frame, palette, lanes["model"].unique().to_list())
    spans = session_spans(lanes)
    longest = max(span for span, _ in spans)
    threshold = log_threshold(spans)
    unit, size = ("s", 1.0) if threshold else time_unit(longest)
    for model in sorted(lanes["model"].unique().to_list()):
        rows = lanes.filter(pl.col("model") == model)
        _draw_requests(ax, rows, size, colours[model], model)
    _mark_errors(ax, lanes.filter(pl.col("error")), size)
    _label_lanes(ax, lanes)
    ax.set_xlim(0, longest / size * 1.03 or 1.0)
    if threshold:
        _log_time_axis(ax, threshold, longest)
    else:
        ax.set_xlabel(f"time since session start ({unit})")
    ax.set_title(_title(frame, lanes), fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    _legend(
        ax,
        [m for m in sorted(colours) if m in set(lanes["model"])],
        colours,
        errors=bool(lanes["error"].any()),
    )
    return ax


def _legend(ax: Axes, models: list[str], colours: dict[str, str], *, errors: bool) -> None:
    """Legend patches in each model's colour (the drawn ticks are too small to read), and
    the error mark when there are errors."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=colours[m], label=m) for m in models]
    if errors:
        handles.append(Line2D([], [], marker="x", color="black", lw=0, label="error"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")


LANE_HEIGHT = 0.7


def track_positions(rows: pl.DataFrame) -> list[float]:
    """The y of each request: its lane, split evenly among the lane's tracks."""
    share = LANE_HEIGHT / rows["tracks"]
    return (rows["lane"] - LANE_HEIGHT / 2 + share * (rows["track"] + 0.5)).to_list()


def _draw_requests(ax: Axes, rows: pl.DataFrame, size: float, colour: str, model: str) -> None:
    starts = (rows["offset_s"] / size).to_list()
    widths = (rows["duration_s"] / size).to_list()
    y = track_positions(rows)
    heights = ((LANE_HEIGHT / rows["tracks"]) * 0.85).to_list()
    ax.barh(y, widths, left=starts, height=heights, color=colour, edgecolor="white", lw=0.3)
    ax.scatter(
        starts, y, marker="|", s=[40 * h for h in heights], color=colour, label=model, zorder=3
    )


def _mark_errors(ax: Axes, errors: pl.DataFrame, size: float) -> None:
    if errors.height:
        ax.scatter(
            (errors["offset_s"] / size).to_list(),
            track_positions(errors),
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
    left_out = f"\nbusiest {kept} of {sessions} sessions" if kept < sessions else ""
    return f"{TITLE} ({days} UTC){left_out}"
