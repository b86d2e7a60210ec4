"""One colour per model, the same in every plot that is given the same palette.

`model_palette(models)` maps each distinct model name to a hex colour: names in sorted order
take the colours of `COLOURS` in turn (cycling after the last), so the palette depends only on
the set of names, never on the order rows arrive in. Every plot in `claude_gw.analysis.plots`
takes `palette=`; without one it builds the palette from all the models of its own frame (not
only those it draws), so two plots of one frame agree. Build one palette over every frame of a
notebook or report (`frame_palette(df, replays)`) to make plots of different frames agree too.

Grey is kept out of the model colours: plots use `NEUTRAL` for what is not a model (the
logged total, an unknown model).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

# tab10 without its grey, then the light tab20 variants of the same hues (also without grey)
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
)
NEUTRAL = "#7f7f7f"
UNKNOWN_MODEL = "(unknown)"
MODEL = pl.coalesce("request_model", "requested_model").fill_null(UNKNOWN_MODEL)

Palette = Mapping[str, str]


def model_palette(models: Iterable[str | None]) -> dict[str, str]:
    """A colour per distinct model (None counts as `(unknown)`), by sorted name."""
    names = sorted({UNKNOWN_MODEL if m is None else m for m in models})
    return {name: COLOURS[index % len(COLOURS)] for index, name in enumerate(names)}


def models_of(frame: Any) -> list[str]:
    """The distinct model names of a log-schema frame (polars or pandas): the model sent
    upstream, else the one asked for, else `(unknown)`; count_tokens calls included."""
    polars = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    names = [n for n in ("request_model", "requested_model") if n in polars.columns]
    if not names or polars.height == 0:
        return []
    values = polars.select(pl.coalesce(*names).fill_null(UNKNOWN_MODEL).unique())
    return sorted(values.to_series().to_list())


def frame_palette(*frames: Any, extra: Iterable[str] = ()) -> dict[str, str]:
    """`model_palette` over the models of every frame, plus `extra` names (say, the candidate
    models of a re-pricing plot)."""
    names = [m for frame in frames if frame is not None for m in models_of(frame)]
    return model_palette([*names, *extra])


def extend_palette(palette: Palette, models: Iterable[str]) -> dict[str, str]:
    """`palette` with a colour for each of `models` it lacks: the first colours it does not
    use yet, in sorted order of the new names (cycling when all are taken). Existing
    entries are kept as they are."""
    extended = dict(palette)
    missing = sorted({m for m in models if m not in extended})
    free = [c for c in COLOURS if c not in extended.values()] or list(COLOURS)
    for index, name in enumerate(missing):
        extended[name] = free[index % len(free)]
    return extended
