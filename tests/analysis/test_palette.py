"""`model_palette` and friends: one colour per model, decided by the set of names only."""

from __future__ import annotations

import polars as pl

from claude_gw.analysis.palette import (
    COLOURS,
    NEUTRAL,
    extend_palette,
    frame_palette,
    model_palette,
    models_of,
)


def test_models_take_the_colours_in_sorted_order_whatever_order_they_come_in():
    palette = model_palette(["gpt-5", "claude-haiku", "gpt-4.1", "gpt-5"])
    assert palette == {"claude-haiku": COLOURS[0], "gpt-4.1": COLOURS[1], "gpt-5": COLOURS[2]}
    assert model_palette(["gpt-4.1", "gpt-5", "claude-haiku"]) == palette


def test_an_unknown_model_is_named_and_grey_is_never_a_model_colour():
    assert model_palette([None, "a"]) == {"(unknown)": COLOURS[0], "a": COLOURS[1]}
    assert NEUTRAL not in COLOURS
    assert len(set(COLOURS)) == len(COLOURS)


def test_colours_cycle_after_the_last_one():
    names = [f"m{index:02d}" for index in range(len(COLOURS) + 2)]
    palette = model_palette(names)
    assert palette["m00"] == palette[f"m{len(COLOURS):02d}"] == COLOURS[0]


def test_extending_keeps_existing_colours_and_gives_new_models_unused_ones():
    palette = {"b": COLOURS[0], "a": COLOURS[2]}
    extended = extend_palette(palette, ["a", "z", "c"])
    assert extended["a"] == COLOURS[2] and extended["b"] == COLOURS[0]
    assert (extended["c"], extended["z"]) == (COLOURS[1], COLOURS[3])  # the first free, by name


def test_a_palette_over_two_frames_covers_the_models_of_both():
    logged = pl.DataFrame({"request_model": ["gpt-5", None], "requested_model": ["x", "gpt-4.1"]})
    replayed = pl.DataFrame({"request_model": ["gpt-5-nano"]})
    assert models_of(logged) == ["gpt-4.1", "gpt-5"]  # the model sent upstream comes first
    palette = frame_palette(logged, replayed.to_pandas(), extra=["gpt-4o"])
    assert list(palette) == ["gpt-4.1", "gpt-4o", "gpt-5", "gpt-5-nano"]
