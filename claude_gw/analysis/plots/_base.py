"""What every plot shares: the Axes to draw on, the palette, the "no data" panel, units and
their tick formatters, and when an axis goes logarithmic."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.palette import MODEL, Palette, extend_palette, frame_palette
from claude_gw.analysis.stats import model_calls

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# an axis goes logarithmic when its positive values span this factor or more
LOG_SPAN = 50.0


def new_axes(ax: Axes | None) -> Axes:
    """`ax`, or the Axes of a new pyplot figure (so a notebook shows it)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(layout="constrained").add_subplot()


def calls_with_model(frame: Any) -> pl.DataFrame:
    """The model calls of a log-schema frame (either engine) with a `model` column."""
    return model_calls(frame).with_columns(MODEL.alias("model"))


def palette_for(frame: Any, palette: Palette | None, models: Iterable[str] = ()) -> dict[str, str]:
    """The palette a plot uses: `palette` (or one built from every model of `frame`),
    extended with any of `models` it lacks."""
    base = dict(palette) if palette is not None else frame_palette(frame)
    return extend_palette(base, models)


def no_data(ax: Axes, title: str, reason: str) -> Axes:
    """Turn `ax` into a panel that says there is nothing to draw, and why."""
    ax.set_title(title)
    ax.text(
        0.5,
        0.5,
        f"no data\n{reason}",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.35",
        fontsize="large",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def usd(value: float) -> str:
    """A dollar amount with two significant digits below $1, cents from $1, none from $1000:
    `$0`, `$0.0038`, `$0.25`, `$12.34`, `$1,234`."""
    size = abs(value)
    if size == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    if size >= 1000:
        return f"{sign}${size:,.0f}"
    if size >= 1:
        return f"{sign}${size:,.2f}"
    decimals = 1 - math.floor(math.log10(size))
    return f"{sign}${size:.{decimals}f}"


def seconds(value: float) -> str:
    """A duration in seconds for a tick or a label: `0.25 s`, `3.4 s`, `75 s`."""
    size = abs(value)
    if size == 0:
        return "0 s"
    if size >= 10:
        return f"{value:,.0f} s"
    if size >= 1:
        return f"{value:.1f} s"
    return f"{value:.2g} s"


def ticker() -> Any:
    # matplotlib.ticker and .dates are untyped here: reached through importlib
    return importlib.import_module("matplotlib.ticker")


def dollar_axis(axis: Any) -> None:
    """Label the ticks of `axis` (ax.xaxis or ax.yaxis) in dollars; at most six of them on
    a linear axis, so long amounts never run into each other."""
    if axis.get_scale() == "linear":
        axis.set_major_locator(ticker().MaxNLocator(nbins=5))
    axis.set_major_formatter(ticker().FuncFormatter(lambda v, _pos: usd(v)))
    axis.set_minor_formatter(ticker().NullFormatter())


def thousands_axis(axis: Any) -> None:
    """Label the ticks of `axis` with thousands separators at whole numbers (tokens,
    requests)."""
    low, high = axis.get_view_interval()
    if high - low < 2:  # all values alike: whole-number ticks need a span of a few units
        middle = round((low + high) / 2)
        axis.set_view_interval(middle - 1, middle + 1, ignore=True)
    axis.set_major_locator(ticker().MaxNLocator(nbins=6, integer=True))
    axis.set_major_formatter(ticker().FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    axis.set_minor_formatter(ticker().NullFormatter())


def spans_orders(values: Sequence[float | None]) -> bool:
    """Whether the positive values span at least `LOG_SPAN` (a log axis reads better)."""
    positive = [v for v in values if v is not None and v > 0]
    return len(positive) > 1 and max(positive) / min(positive) >= LOG_SPAN


def log_if_spread(ax: Axes, axis: str, values: Sequence[float | None]) -> bool:
    """Make `axis` ("x" or "y") logarithmic when `values` span orders of magnitude; returns
    whether it did. Non-positive values cannot be drawn on a log axis: they keep it linear."""
    if any(v is not None and v <= 0 for v in values) or not spans_orders(values):
        return False
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    scaled = ax.xaxis if axis == "x" else ax.yaxis
    scaled.set_major_formatter(ticker().FuncFormatter(lambda v, _pos: f"{v:,g}"))
    scaled.set_minor_formatter(ticker().NullFormatter())
    return True


def concise_dates(axis: Any) -> None:
    """Date ticks on `axis` that name each unit once (`ConciseDateFormatter`), without the
    offset text in the corner (it runs into the axis label: say the day in the label)."""
    dates: Any = importlib.import_module("matplotlib.dates")
    locator = dates.AutoDateLocator(minticks=3, maxticks=8)
    axis.set_major_locator(locator)
    axis.set_major_formatter(dates.ConciseDateFormatter(locator, show_offset=False))


def legend_outside(ax: Axes, **options: Any) -> None:
    """A legend to the right of the plot, so it never hides what is drawn."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", **options)


def label_size(ax: Axes, count: int, *, largest: float = 9.0, smallest: float = 5.0) -> float:
    """A tick-label font size (points) that lets `count` labels stack along `ax`'s height
    without overlapping, between `smallest` and `largest`."""
    figure: Any = ax.figure
    height_pt = ax.get_position().height * figure.get_figheight() * 72
    return float(max(smallest, min(largest, 0.7 * height_pt / max(count, 1))))
