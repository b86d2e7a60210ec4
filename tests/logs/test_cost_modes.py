"""Every row's cost and its source, by cost mode (claude_gw/logs/cost_modes.py).

Known answers are worked out by hand from genai-prices' list prices (USD per 1M tokens):
gpt-5-mini 0.25 input / 0.025 cached input / 2 output; gpt-5 1.25 / 0.125 / 10;
gpt-4o 2.5 / 1.25 / 10. The Kong lines are `../shared/fixtures/kong/claude.json` (the
tutorial's setup: no costs configured for gpt-5-mini, so Kong writes `cost: 0`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from claude_gw.logs import CostMode, read_logs, scan_logs, token_costs, with_cost_mode
from claude_gw.logs.cost import price_usage
from claude_gw.logs.schema import polars_schema, to_pandas, to_polars
from tests.logs.logfactory import KONG, KONG_VERSIONS, as_version, kong_line, kong_records

DATA = Path(__file__).resolve().parents[2] / "data"

# Fixture line -> (cost, cost_source) in the default mode, worked out by hand.
KONG_AUTO = {
    1: ((212 * 0.25 + 87 * 2) / 1e6, "computed"),  # Kong's 0: no costs configured
    2: ((14231 * 0.25 + 612 * 2) / 1e6, "computed"),  # no cost field at all
    3: (((15388 - 13824) * 0.25 + 13824 * 0.025 + 241 * 2) / 1e6, "computed"),
    4: ((25 * 0.25 + 456 * 2) / 1e6, "computed"),
    5: (0.0, "none"),  # 429: failed requests are not billed (Kong logs 0 with costs set)
    6: (0.035375, "logged"),  # Kong's own figure from the configured gpt-5 costs
    7: (0.0258075, "logged"),
    8: (0.0, "none"),  # 500
    9: (0.031066, "logged"),
    10: (0.029596, "logged"),
    11: (0.00028, "logged"),
    12: (0.0, "none"),  # 400 from Kong itself
    13: (0.0, "none"),  # 400, model unknown: nothing to price either
}


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_kong_tutorial_lines_get_computed_costs_instead_of_zero(
    engine: Literal["polars", "pandas"],
) -> None:
    frame = read_logs(KONG, engine=engine)
    if engine == "pandas":
        frame = pl.from_pandas(frame)
    pairs = zip(frame["cost"], frame["cost_source"], strict=True)
    got = dict(zip(frame["source_line"], pairs, strict=True))
    assert set(got) == set(KONG_AUTO)
    for line, (cost, source) in KONG_AUTO.items():
        assert got[line] == (pytest.approx(cost, rel=1e-12), source), line


def test_the_sample_kong_file_is_the_fixture_and_prices_the_same() -> None:
    sample = read_logs(DATA / "kong-3.13.json").select("cost", "cost_source")
    assert_frame_equal(sample, read_logs(KONG).select("cost", "cost_source"))
    gpt5_mini = read_logs(DATA / "kong-3.13.json").filter(pl.col("request_model") == "gpt-5-mini")
    assert gpt5_mini["cost"].min() > 0  # never $0 for 29,856 prompt tokens


def test_calculate_prices_every_row_from_its_tokens_cached_input_as_cached() -> None:
    frame = read_logs(KONG, cost="calculate")
    line7 = frame.filter(pl.col("source_line") == 7).row(0, named=True)
    # Kong's configured figure ignores the cache: (18102 * 1.25 + 318 * 10) / 1e6 = 0.0258075
    by_hand = ((18102 - 16896) * 1.25 + 16896 * 0.125 + 318 * 10) / 1e6
    assert (line7["cost"], line7["cost_source"]) == (pytest.approx(by_hand, rel=1e-12), "computed")
    assert line7["logged_cost"] == 0.0258075
    failed = frame.filter(pl.col("status") >= 400)
    assert failed["cost_source"].to_list() == ["none"] * failed.height


def test_logged_keeps_the_figure_as_written() -> None:
    frame = read_logs([KONG, DATA / "kong-older.json"], cost="logged")
    kong_313, kong_36 = frame.row(0, named=True), frame.row(13, named=True)
    assert (kong_313["cost"], kong_313["cost_source"]) == (0.0, "logged")  # Kong's 0 kept
    assert (kong_36["cost"], kong_36["cost_source"]) == (None, "unpriced")  # no cost field
    assert frame["cost"].to_list() == frame["logged_cost"].to_list()


CHEAP_LINES = [1, 2, 4, 5, 8, 12, 13]  # no cached tokens, and no cost Kong could configure


@pytest.mark.parametrize("version", list(KONG_VERSIONS))
def test_every_kong_version_gives_the_tutorial_lines_the_same_cost(
    tmp_path: Path, version: str
) -> None:
    # 3.6/3.7 log no cost (null), 3.8 only when configured, 3.9+ a 0: the same answer.
    records = kong_records()
    path = tmp_path / "k.json"
    path.write_bytes(b"".join(kong_line(as_version(r, version)) + b"\n" for r in records))
    frame = read_logs(path).filter(pl.col("source_line").is_in(CHEAP_LINES))
    expected = [KONG_AUTO[line] for line in CHEAP_LINES]
    got = list(zip(frame["cost"], frame["cost_source"], strict=True))
    assert got == [(pytest.approx(c, rel=1e-12), s) for c, s in expected]


def test_older_kong_shapes_price_gpt_4o_from_its_tokens() -> None:
    frame = read_logs(DATA / "kong-older.json").filter(pl.col("request_model") == "gpt-4o")
    first = frame.row(0, named=True)  # Kong 3.6: 1207 prompt, 10 completion, no cost field
    assert first["logged_cost"] is None
    assert (first["cost"], first["cost_source"]) == (
        pytest.approx((1207 * 2.5 + 10 * 10) / 1e6, rel=1e-12),
        "computed",
    )
    logged = frame.filter(pl.col("cost_source") == "logged").row(0, named=True)
    assert logged["cost"] == (1814 * 2.5 + 16 * 10) / 1e6 == 0.004695  # Kong 3.8's own figure


def test_claude_gw_records_keep_the_cost_priced_when_they_were_written() -> None:
    auto = read_logs(DATA / "claude_gw-sessions.json")
    assert auto["cost_source"].to_list() == ["logged"] * auto.height
    assert auto["cost"].to_list()[0] == (1310 * 0.25 + 1732 * 2) / 1e6  # gpt-5-mini, simulated
    calculated = read_logs(DATA / "claude_gw-sessions.json", cost="calculate")
    assert calculated["cost"].to_list() == auto["cost"].to_list()  # the same figure, exactly


def test_an_unknown_model_is_unpriced_never_free(tmp_path: Path) -> None:
    record = kong_records()[0]
    record["ai"]["proxy"]["meta"]["request_model"] = "qwen2.5-coder-local"
    record["ai"]["proxy"]["meta"]["response_model"] = "qwen2.5-coder-local"
    path = tmp_path / "k.json"
    path.write_bytes(kong_line(record) + b"\n")
    row = read_logs(path).row(0, named=True)
    assert (row["logged_cost"], row["cost"], row["cost_source"]) == (0.0, None, "unpriced")


@pytest.mark.parametrize("mode", ["auto", "calculate", "logged"])
def test_with_cost_mode_gives_what_reading_with_that_mode_gives(mode: CostMode) -> None:
    frame = read_logs([KONG, DATA / "kong-older.json"])
    expected = read_logs([KONG, DATA / "kong-older.json"], cost=mode)
    assert_frame_equal(with_cost_mode(frame, mode), expected)
    pandas = with_cost_mode(to_pandas(frame), mode)
    assert_frame_equal(to_polars(pandas), expected)
    assert_frame_equal(scan_logs(KONG, cost=mode).collect(), read_logs(KONG, cost=mode))


def test_an_unknown_cost_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="cost must be one of auto, calculate, logged"):
        read_logs(KONG, cost="free")  # type: ignore[arg-type]  # the unknown mode under test


MODELS = ["gpt-5-mini", "gpt-4.1", "gpt-4o-2024-05-13", "claude-haiku-4-5", "no-such-model"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(MODELS),
            st.integers(0, 2_000_000),
            st.integers(0, 2_000_000),
            st.integers(0, 200_000),
            st.datetimes(datetime(2024, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_costs_equal_price_usage_row_by_row(rows: list[tuple[Any, ...]]) -> None:
    schema = polars_schema()
    frame = pl.DataFrame(
        {
            "response_model": [r[0] for r in rows],
            "request_model": [r[0] for r in rows],
            "provider": ["anthropic" if "claude" in r[0] else "openai" for r in rows],
            "prompt_tokens": [r[1] for r in rows],
            "cached_tokens": [r[2] for r in rows],
            "completion_tokens": [r[3] for r in rows],
            "time": [r[4] for r in rows],
        }
    ).with_columns(pl.col("time").cast(schema["time"]))
    expected = [
        price_usage(
            model,
            provider=frame["provider"][i],
            prompt_tokens=prompt,
            cached_tokens=cached,
            completion_tokens=completion,
            at=frame["time"][i],
        ).cost
        for i, (model, prompt, cached, completion, _) in enumerate(rows)
    ]
    assert token_costs(frame).to_list() == expected  # exactly, not approximately


def test_a_target_model_prices_every_row_with_tokens_on_that_model() -> None:
    frame = read_logs(KONG)
    costs = token_costs(frame, model="gpt-4.1", provider="openai").to_list()
    assert costs[0] == (212 * 2 + 87 * 8) / 1e6
    assert costs[11] == 0.0  # 0 tokens cost 0 on a known model
