"""Cost totals: per logged model, and the whole log re-priced on candidate models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis.palette import NEUTRAL, Palette, frame_palette
from claude_gw.analysis.plots._base import (
    calls_with_model,
    dollar_axis,
    log_if_spread,
    new_axes,
    no_data,
    palette_for,
    seconds,
    usd,
)
from claude_gw.analysis.pricing import Target, request_costs, target_ref
from claude_gw.analysis.stats import OK

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LOGGED = "logged"


def cost_per_model(frame: Any, ax: Axes | None = None, *, palette: Palette | None = None) -> Axes:
    """One horizontal bar per model: the sum of its known costs ($), the amount written at
    the bar's end; a model's label says how many of its calls are unpriced, and a model with
    no known cost gets no bar but the word "unpriced"."""
    ax = new_axes(ax)
    title = "cost per model"
    calls = calls_with_model(frame)
    if calls.height == 0:
        return no_data(ax, title, "no model calls")
    table = (
        calls.group_by("model")
        .agg(
            pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()).alias("cost"),
            pl.col("cost").is_null().sum().alias("unpriced"),
        )
        .sort("model")
    )
    models = table["model"].to_list()
    colours = palette_for(frame, palette, models)
    labels = [
        f"{m} ({n} unpriced)" if n else m
        for m, n in zip(models, table["unpriced"].to_list(), strict=True)
    ]
    notes = [usd(c) if c is not None else "unpriced" for c in table["cost"].to_list()]
    _bars(ax, labels, table["cost"].to_list(), [colours[m] for m in models], notes)
    ax.set_title(title)
    ax.set_xlabel("cost ($)")
    return ax


def _bars(
    ax: Axes,
    labels: list[str],
    values: list[float | None],
    colours: list[str],
    notes: list[str],
) -> None:
    """Horizontal bars, first on top, each with `notes[i]` written past its end; a missing
    value gets no bar, only its note; the x axis in dollars, logarithmic when spread."""
    positions = list(range(len(labels)))
    heights = [v or 0.0 for v in values]
    ax.barh(positions, heights, color=colours, height=0.6)
    ax.set_yticks(positions, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    logarithmic = log_if_spread(ax, "x", [v for v in values if v])
    drawn = [v for v in values if v]
    top = max(drawn) if drawn else 1.0
    low = min(drawn) if drawn else 1.0
    if logarithmic:
        ax.set_xlim(low / 3, top * 30)  # room for the notes past the longest bar
    else:
        ax.set_xlim(0, top * 1.6)
    for position, value, note in zip(positions, values, notes, strict=True):
        at = value if value else (low / 3 if logarithmic else 0.0)
        ax.text(at, position, f"  {note}", va="center", fontsize="small")
    dollar_axis(ax.xaxis)
    ax.grid(axis="x", alpha=0.3)


def whole_log_costs(
    frame: Any,
    candidates: Sequence[Target],
    *,
    provider: str = "openai",
    latency: Any = None,
) -> pl.DataFrame:
    """The log's own cost and what its calls' token counts would cost on each candidate, one
    row each (`logged` first, then candidates in the given order):

    | column | meaning |
    |---|---|
    | name | `logged`, or the candidate's model id |
    | cost | logged: the sum of known costs; candidate: the sum over the calls with token |
    |      | counts (null when the candidate is not in the price table) |
    | priced, requests | calls counted in `cost`, and model calls in the log |
    | p50_latency_s | median latency (s) of the successful calls to that model in `latency` |
    |               | (default: the log itself); null when there are none |
    | latency_calls | how many calls that median is over |
    """
    calls = calls_with_model(frame)
    measured = calls_with_model(latency) if latency is not None else calls
    with_tokens = calls.filter(
        pl.col("prompt_tokens").is_not_null() & pl.col("completion_tokens").is_not_null()
    )
    logged = calls["cost"].drop_nulls()
    rows = [(LOGGED, logged.sum() if logged.len() else None, logged.len(), *_latency(calls))]
    for target in candidates:
        name = target_ref(target, provider)[0]
        costs = request_costs(with_tokens, target, provider=provider)
        total = costs.sum() if with_tokens.height and costs.null_count() == 0 else None
        model_rows = measured.filter(pl.col("model") == name)
        rows.append((name, total, with_tokens.height, *_latency(model_rows)))
    schema = {
        "name": pl.String,
        "cost": pl.Float64,
        "priced": pl.Int64,
        "p50_latency_s": pl.Float64,
        "latency_calls": pl.Int64,
    }
    table = pl.DataFrame(rows, schema=schema, orient="row")
    return table.with_columns(pl.lit(calls.height, pl.Int64).alias("requests")).select(
        "name", "cost", "priced", "requests", "p50_latency_s", "latency_calls"
    )


def _latency(calls: pl.DataFrame) -> tuple[float | None, int]:
    latencies = calls.filter(OK)["latency_ms"].drop_nulls()
    if latencies.len() == 0:
        return None, 0
    return float(latencies.median()) / 1000, latencies.len()  # type: ignore[arg-type]


def cost_on_models(
    frame: Any,
    candidates: Sequence[Target],
    ax: Axes | None = None,
    *,
    provider: str = "openai",
    latency: Any = None,
    palette: Palette | None = None,
) -> Axes:
    """ "What would this whole log cost on model X": a grey bar for the logged cost, then one
    bar per candidate (`whole_log_costs`), each with its amount and the median latency the
    candidate showed (in `latency`, say replay results; default: this log), or "latency not
    measured". The title names the cheapest candidate."""
    ax = new_axes(ax)
    title = "this log's cost on other models"
    table = whole_log_costs(frame, candidates, provider=provider, latency=latency)
    requests = table["requests"][0]
    if requests == 0:
        return no_data(ax, title, "no model calls")
    names = table["name"].to_list()
    colours = palette_for(frame, palette or frame_palette(frame, latency), names[1:])
    logged_priced = table["priced"][0]
    labels = [f"{LOGGED} ({logged_priced} of {requests} priced)", *names[1:]]
    notes = [_note(row) for row in table.iter_rows(named=True)]
    bar_colours = [NEUTRAL, *(colours[n] for n in names[1:])]
    _bars(ax, labels, table["cost"].to_list(), bar_colours, notes)
    priced = table.slice(1).filter(pl.col("cost").is_not_null()).sort("cost")
    if priced.height:
        title += f" (cheapest: {priced['name'][0]}, {usd(priced['cost'][0])})"
    ax.set_title(title, fontsize="medium")
    with_tokens = table["priced"][1] if len(names) > 1 else requests
    ax.set_xlabel(
        f"cost ($); candidates priced on the {with_tokens} of {requests} calls with tokens"
    )
    return ax


def _note(row: dict[str, Any]) -> str:
    cost = usd(row["cost"]) if row["cost"] is not None else "not in the price table"
    if row["p50_latency_s"] is None:
        return f"{cost} · latency not measured"
    return f"{cost} · p50 {seconds(row['p50_latency_s'])} (n={row['latency_calls']})"
