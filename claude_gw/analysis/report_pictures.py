"""The plots of the HTML report: which ones, in which group, what each needs, and how one is
drawn into an embedded PNG.

`Inputs.of(df, candidates=...)` gathers what the plots read: the log, its model calls, one
palette over every model the report names (so a model keeps its colour in every plot), the
candidate models of the re-pricing plot, and the replay pairs and tool-call agreement when
the log holds replay results (`replay_run` set) next to the originals they replay
(`replay_source_id` = an original's `request_id`).

Each `Picture` says, through `missing(inputs)`, why it has nothing to draw (None when it has):
the report then shows that sentence in a "no data" box instead of blank axes.
`picture_html(picture, inputs)` returns the `<figure>` (a base64 PNG) or that box.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis import plots
from claude_gw.analysis.compare import pair, polars_frame, tool_call_agreement
from claude_gw.analysis.palette import MODEL, frame_palette
from claude_gw.analysis.pricing import Target, target_ref
from claude_gw.analysis.stats import OK, model_calls

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDE = (7.2, 4.0)


@dataclass(frozen=True)
class Inputs:
    """What the report's plots read (see the module docstring)."""

    log: pl.DataFrame
    calls: pl.DataFrame
    palette: dict[str, str]
    candidates: tuple[Target, ...]
    pairs: pl.DataFrame | None
    agreement: pl.DataFrame | None

    @classmethod
    def of(
        cls, log: pl.DataFrame, *, candidates: Sequence[Target] = (), pairs: Any = None
    ) -> Inputs:
        """The inputs of `log`; `candidates` default to `default_candidates(log)`, `pairs`
        (a `compare.pair()` frame) to the log's own replay pairs."""
        chosen = tuple(candidates) or default_candidates(log)
        names = [target_ref(target)[0] for target in chosen]
        return cls(
            log=log,
            calls=model_calls(log),
            palette=frame_palette(log, extra=names),
            candidates=chosen,
            pairs=replay_pairs(log) if pairs is None else polars_frame(pairs),
            agreement=replay_agreement(log),
        )

    @property
    def sessions(self) -> pl.DataFrame:
        """The log's requests that belong to a session."""
        return self.log.filter(pl.col("session_id").is_not_null())


def default_candidates(log: pl.DataFrame) -> tuple[str, ...]:
    """The models the log itself used that answered at least once, in sorted order: what
    the whole log would have cost had every call gone to each of them."""
    answered = model_calls(log).filter(OK).select(MODEL.alias("model"))["model"]
    return tuple(sorted(set(answered.to_list()) - {"(unknown)"}))


def _split(log: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(originals, replay results) of a log with both, else None."""
    if "replay_run" not in log.columns:
        return None
    replayed = pl.col("replay_run").is_not_null()
    originals, replays = log.filter(~replayed), log.filter(replayed)
    if originals.is_empty() or replays.is_empty():
        return None
    return originals, replays


def replay_pairs(log: pl.DataFrame) -> pl.DataFrame | None:
    """Each replay result of the log paired with its original (`compare.pair`), or None
    when the log does not hold both."""
    parts = _split(log)
    if parts is None:
        return None
    originals, replays = parts
    return pair(model_calls(originals), model_calls(replays), replay_key="replay_source_id")


def replay_agreement(log: pl.DataFrame) -> pl.DataFrame | None:
    """`compare.tool_call_agreement` of the log's replay results against their originals,
    from the logged answers; None without replays, originals or payload columns."""
    parts = _split(log)
    if parts is None or "response_payload" not in log.columns:
        return None
    originals, replays = parts
    answers = originals.select(
        pl.col("request_id").alias("replay_source_id"),
        pl.col("response_payload").alias("original_response_payload"),
    ).unique("replay_source_id", keep="first")
    joined = replays.join(answers, on="replay_source_id", how="inner")
    return tool_call_agreement(joined) if joined.height else None


Draw = Callable[[Inputs, "Axes"], "Axes"]
Missing = Callable[[Inputs], "str | None"]


@dataclass(frozen=True)
class Picture:
    """One plot of the report: its group and caption, how it is drawn on an Axes, why it
    would be empty (`missing`), and its figure size in inches (`size(inputs)`)."""

    group: str
    caption: str
    draw: Draw
    missing: Missing
    size: Callable[[Inputs], tuple[float, float]] = lambda _inputs: WIDE


def _none_with(condition: pl.Expr, reason: str) -> Missing:
    """A `missing` rule: `reason` when no model call meets `condition`."""
    return lambda inputs: reason if inputs.calls.filter(condition).is_empty() else None


def _timeline_size(inputs: Inputs) -> tuple[float, float]:
    lanes = inputs.calls.select(pl.col("session_id").drop_nulls().n_unique()).item()
    return (7.2, min(9.0, max(3.0, 1.4 + 0.45 * min(lanes, 20))))


def _no_pairs(inputs: Inputs) -> str | None:
    if inputs.pairs is None or inputs.pairs.is_empty():
        return "the log holds no replay results next to the originals they replay"
    return None


def _no_agreement(inputs: Inputs) -> str | None:
    if inputs.agreement is None or not inputs.agreement["comparable"].any():
        return (
            "no replay result and its original both have a logged answer "
            "(log payloads to compare tool calls)"
        )
    return None


TIMED = pl.col("time").is_not_null()
PICTURES: tuple[Picture, ...] = (
    Picture(
        "Over time",
        "Requests over time, per model",
        lambda i, ax: plots.requests_over_time(i.log, ax, palette=i.palette),
        _none_with(TIMED, "no request has a timestamp"),
    ),
    Picture(
        "Over time",
        "Cost over time, per model",
        lambda i, ax: plots.cost_over_time(i.log, ax, palette=i.palette),
        _none_with(TIMED & pl.col("cost").is_not_null(), "no timed request has a known cost"),
    ),
    Picture(
        "Over time",
        "Error rate over time, per model",
        lambda i, ax: plots.error_rate_over_time(i.log, ax, palette=i.palette),
        _none_with(TIMED, "no request has a timestamp"),
    ),
    Picture(
        "Sessions",
        "Session timeline (each session on its own clock)",
        # requests without a session would share one lane spanning the whole log
        lambda i, ax: plots.session_timeline(i.sessions, ax, palette=i.palette),
        _none_with(TIMED & pl.col("session_id").is_not_null(), "no request carries a session id"),
        _timeline_size,
    ),
    Picture(
        "Sessions",
        "Main agent and subagents, over the requests of sessions",
        lambda i, ax: plots.agent_split(i.sessions, ax),
        _none_with(
            pl.col("session_id").is_not_null() | pl.col("agent_id").is_not_null(),
            "no request carries a Claude CLI session or agent id",
        ),
    ),
    Picture(
        "Distributions",
        "Latency per request, per model",
        lambda i, ax: plots.latency_distribution(i.log, ax, palette=i.palette),
        _none_with(pl.col("latency_ms").is_not_null(), "no request reports a latency"),
    ),
    Picture(
        "Distributions",
        "Time to first token, per model",
        lambda i, ax: plots.ttft_distribution(i.log, ax, palette=i.palette),
        _none_with(OK & (pl.col("ttft_ms") > 0), "no successful request reports a first token"),
    ),
    Picture(
        "Distributions",
        "Cost per request, per model",
        lambda i, ax: plots.cost_distribution(i.log, ax, palette=i.palette),
        _none_with(pl.col("cost").is_not_null(), "no request has a known cost"),
    ),
    Picture(
        "Distributions",
        "Reasoning tokens against latency",
        lambda i, ax: plots.reasoning_vs_latency(i.log, ax, palette=i.palette),
        _none_with(
            pl.col("reasoning_tokens").is_not_null() & pl.col("latency_ms").is_not_null(),
            "no request reports reasoning tokens and a latency",
        ),
    ),
    Picture(
        "Cost",
        "Cost per model",
        lambda i, ax: plots.cost_per_model(i.log, ax, palette=i.palette),
        _none_with(pl.lit(True), "no model calls"),
    ),
    Picture(
        "Cost",
        "The whole log on each candidate model",
        lambda i, ax: plots.cost_on_models(i.log, i.candidates, ax, palette=i.palette),
        lambda i: None if i.candidates and not i.calls.is_empty() else "no candidate model",
    ),
    Picture(
        "Replay",
        "Replay minus original latency, per target",
        lambda i, ax: plots.paired_deltas(i.pairs, ax, palette=i.palette),
        _no_pairs,
    ),
    Picture(
        "Replay",
        "Replay minus original cost, per target",
        lambda i, ax: plots.paired_deltas(i.pairs, ax, metric="cost", palette=i.palette),
        _no_pairs,
    ),
    Picture(
        "Replay",
        "Tool-call agreement with the original, per target",
        lambda i, ax: plots.tool_agreement(i.agreement, ax),
        _no_agreement,
    ),
)


def picture_html(picture: Picture, inputs: Inputs) -> str:
    """The picture as an embedded figure, or a "no data" box saying what is missing."""
    reason = picture.missing(inputs)
    if reason is not None:
        return no_data(picture.caption, reason)
    return figure_html(
        picture.caption, lambda ax: picture.draw(inputs, ax), size=picture.size(inputs)
    )


def no_data(caption: str, reason: str) -> str:
    return (
        f'<div class="nodata" data-nodata="{html.escape(caption)}"><strong>'
        f"{html.escape(caption)}</strong>: no data ({html.escape(reason)}).</div>"
    )


def figure_html(
    caption: str, draw: Callable[[Axes], object], size: tuple[float, float] = WIDE
) -> str:
    """One plot drawn on a fresh Agg figure, as an `<img>` with a base64 PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )
