"""Plots on the Agg backend: each draws on the Axes it is given (or a new one) and returns it;
the assertions read what was drawn back from the Axes: bars, dots, labels, units, colours,
the "no data" panel, and tick labels that do not overlap on the sample logs of `data/`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from claude_gw.analysis import plots
from claude_gw.analysis.compare import pair, tool_call_agreement
from claude_gw.analysis.palette import NEUTRAL, frame_palette
from claude_gw.logs.read import read_logs
from claude_gw.logs.schema import conform_polars, to_pandas
from claude_gw.replay.pairs import load_results, pair_with_originals

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(autouse=True)
def agg_backend() -> Iterator[None]:
    matplotlib.use("Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def hand_built() -> pl.DataFrame:
    """Three models over two sessions; one b call fails; model c has no cost."""
    rows: list[dict[str, Any]] = [
        {"model": "a", "s": "s1", "lat": 100.0, "ttft": 10.0, "cost": 0.1, "err": None},
        {"model": "a", "s": "s1", "lat": 300.0, "ttft": 30.0, "cost": 0.3, "err": None},
        {"model": "b", "s": "s2", "lat": 500.0, "ttft": 50.0, "cost": 0.5, "err": None},
        {"model": "b", "s": "s2", "lat": 20.0, "ttft": 0.0, "cost": 0.0, "err": "api_error"},
        {"model": "c", "s": None, "lat": 700.0, "ttft": 70.0, "cost": None, "err": None},
    ]
    return conform_polars(
        pl.DataFrame(
            [
                {
                    "time": T0 + timedelta(seconds=index),
                    "endpoint": "messages",
                    "request_model": row["model"],
                    "session_id": row["s"],
                    "latency_ms": row["lat"],
                    "ttft_ms": row["ttft"],
                    "prompt_tokens": 1000,
                    "completion_tokens": 500,
                    "reasoning_tokens": index * 10,
                    "cost": row["cost"],
                    "error_type": row["err"],
                }
                for index, row in enumerate(rows)
            ],
            infer_schema_length=None,
        )
    )


def axes() -> Axes:
    return Figure(layout="constrained").add_subplot()


def ytick_texts(ax: Axes) -> list[str]:
    return [tick.get_text() for tick in ax.get_yticklabels()]


def texts(ax: Axes) -> list[str]:
    return [text.get_text() for text in ax.texts]


def hexes(colours: Any) -> list[str]:
    return [to_hex(colour) for colour in colours]


def rectangles(ax: Axes) -> list[Rectangle]:
    """The bars drawn: `ax.patches` is typed as Patch, and every patch here is a bar."""
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(ax.patches)
    return bars


def legend_of(ax: Axes) -> Legend:
    legend = ax.get_legend()
    assert legend is not None
    return legend


# matplotlib types the data getters as ArrayLike; they return arrays.
def offsets(collection: Any) -> list[list[float]]:
    return list(np.asarray(collection.get_offsets()).tolist())


def xdata(line: Line2D) -> list[Any]:
    return list(np.asarray(line.get_xdata()))


def ydata(line: Line2D) -> list[Any]:
    return list(np.asarray(line.get_ydata()))


def dots_by_colour(ax: Axes) -> dict[str, list[tuple[float, float]]]:
    """Every scatter point drawn, grouped by its colour."""
    found: dict[str, list[tuple[float, float]]] = {}
    for collection in ax.collections:
        colour = to_hex(np.asarray(collection.get_facecolor())[0])
        found.setdefault(colour, []).extend((x, y) for x, y in offsets(collection))
    return found


# every plot of a log frame, drawn with its defaults
FRAME_PLOTS: dict[str, Callable[[Any, Axes], Axes]] = {
    "latency_distribution": plots.latency_distribution,
    "ttft_distribution": plots.ttft_distribution,
    "cost_distribution": plots.cost_distribution,
    "cost_per_model": plots.cost_per_model,
    "reasoning_vs_latency": plots.reasoning_vs_latency,
    "session_timeline": plots.session_timeline,
    "requests_over_time": plots.requests_over_time,
    "cost_over_time": plots.cost_over_time,
    "error_rate_over_time": plots.error_rate_over_time,
    "cost_on_models": lambda df, ax: plots.cost_on_models(df, ["gpt-4.1", "gpt-5-nano"], ax),
    "agent_split": plots.agent_split,
}
UNITS = {
    "latency_distribution": ("latency (s)", ""),
    "ttft_distribution": ("time to first token (s)", ""),
    "cost_distribution": ("cost per request ($)", ""),
    "cost_per_model": ("cost ($)", ""),
    "reasoning_vs_latency": ("reasoning tokens (tokens)", "latency (s)"),
    "session_timeline": ("time since session start (s)", ""),
    "requests_over_time": ("time (UTC) on 2026-01-05", "model calls"),
    "cost_over_time": ("time (UTC) on 2026-01-05", "cost ($)"),
    "error_rate_over_time": ("time (UTC) on 2026-01-05", "failed calls (%)"),
    "cost_on_models": ("cost ($)\ncandidates priced on the 5 of 5 calls with tokens", ""),
    "agent_split": ("share of the log's total (%)", ""),
}


@pytest.mark.parametrize("engine", ["polars", "pandas"])
@pytest.mark.parametrize("name", list(FRAME_PLOTS))
def test_every_plot_draws_on_the_given_axes_with_units_from_either_engine(name, engine):
    frame = hand_built() if engine == "polars" else to_pandas(hand_built())
    ax = axes()
    assert FRAME_PLOTS[name](frame, ax) is ax
    assert ax.patches or ax.collections or ax.lines  # something was drawn
    assert ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == UNITS[name]
    assert not any(text.startswith("no data") for text in texts(ax))


@pytest.mark.parametrize("name", list(FRAME_PLOTS))
def test_every_plot_of_an_empty_log_says_no_data_instead_of_blank_axes(name):
    ax = FRAME_PLOTS[name](hand_built().clear(), axes())
    assert [t for t in texts(ax) if t.startswith("no data\n")], texts(ax)
    assert ax.get_title()
    assert not ax.patches and not ax.collections and not ax.lines


def test_a_plot_without_an_axes_draws_on_a_new_figure():
    import matplotlib.pyplot as plt

    ax = plots.latency_distribution(hand_built())
    assert isinstance(ax, Axes)
    assert isinstance(ax.figure, Figure)
    assert plt.get_fignums() == [ax.figure.number]


def test_latency_is_drawn_in_seconds_one_box_and_one_dot_per_call():
    ax = plots.latency_distribution(hand_built(), axes())
    assert ytick_texts(ax) == ["a (n=2)", "b (n=2)", "c (n=1)"]
    palette = frame_palette(hand_built())
    assert sorted(x for x, _ in dots_by_colour(ax)[palette["a"]]) == [0.1, 0.3]  # 100, 300 ms
    assert ax.get_xscale() == "linear"  # 0.02 s to 0.7 s: 35x, under the log threshold


def test_values_spanning_orders_of_magnitude_get_a_log_axis():
    spread = hand_built().with_columns(
        pl.when(pl.col("request_model") == "c")
        .then(20000.0)
        .otherwise("latency_ms")
        .alias("latency_ms")
    )
    assert plots.latency_distribution(spread, axes()).get_xscale() == "log"  # 0.02 s to 20 s


def test_ttft_leaves_out_failed_calls_and_a_logged_zero():
    ax = plots.ttft_distribution(hand_built(), axes())
    assert ytick_texts(ax) == ["a (n=2)", "b (n=1)", "c (n=1)"]  # b's failed call is out


def test_cost_distribution_counts_each_models_unpriced_calls():
    ax = plots.cost_distribution(hand_built(), axes())
    assert ytick_texts(ax) == ["a (n=2)", "b (n=2)"]  # c: no call has a cost
    ax = plots.cost_distribution(
        pl.concat(
            [
                hand_built(),
                hand_built()
                .filter(pl.col("request_model") == "a")
                .with_columns(pl.lit(None, pl.Float64).alias("cost")),
            ]
        ),
        axes(),
    )
    assert ytick_texts(ax)[0] == "a (n=2, 2 unpriced)"


def test_cost_per_model_writes_each_total_and_says_which_model_is_unpriced():
    ax = plots.cost_per_model(hand_built(), axes())
    assert ytick_texts(ax) == ["a", "b", "c (1 unpriced)"]
    assert [p.get_width() for p in rectangles(ax)] == pytest.approx([0.4, 0.5, 0.0])
    assert [t.strip() for t in texts(ax)] == ["$0.40", "$0.50", "unpriced"]


def test_the_same_model_keeps_its_colour_in_every_plot_of_a_frame():
    frame = hand_built()
    palette = frame_palette(frame)
    cost = plots.cost_per_model(frame, axes())
    assert hexes(p.get_facecolor() for p in cost.patches) == [palette[m] for m in "abc"]
    # the TTFT plot has no dot of b's failed call, yet b keeps b's colour
    ttft = dots_by_colour(plots.ttft_distribution(frame, axes()))
    assert set(ttft) == {palette["a"], palette["b"], palette["c"]}
    timeline = plots.session_timeline(frame, axes())
    legend = {
        t.get_text(): h
        for t, h in zip(
            legend_of(timeline).get_texts(), legend_of(timeline).legend_handles, strict=True
        )
    }
    assert isinstance(legend["b"], Patch)
    assert to_hex(legend["b"].get_facecolor()) == palette["b"]


def test_a_given_palette_colours_the_plot_and_new_models_get_unused_colours():
    palette = {"b": "#000000", "zzz": "#111111"}
    ax = plots.cost_per_model(hand_built(), axes(), palette=palette)
    colours = hexes(p.get_facecolor() for p in ax.patches)
    assert colours[1] == "#000000"
    assert len(set(colours)) == 3 and "#111111" not in colours


def test_the_timeline_places_requests_relative_to_each_session_start():
    frame = hand_built().with_columns(
        pl.when(pl.col("session_id") == "s2")
        .then(pl.col("time") + timedelta(days=300))
        .otherwise("time")
        .alias("time")
    )
    ax = plots.session_timeline(frame, axes())
    # s1 starts at T0, s2 at T0 + 300 days + 2 s, the call without a session at T0 + 4 s
    assert ytick_texts(ax) == [
        "s1  2026-01-05 12:00",
        "(no session)  2026-01-05 12:00",
        "s2  2026-11-01 12:00",
    ]
    bars = sorted(
        (round(p.get_y() + p.get_height() / 2), round(p.get_x(), 6), round(p.get_width(), 6))
        for p in rectangles(ax)
    )
    assert bars == [(0, 0.0, 0.1), (0, 1.0, 0.3), (1, 0.0, 0.7), (2, 0.0, 0.5), (2, 1.0, 0.02)]
    assert ax.get_xlim()[1] < 2  # 300 days apart, yet both sessions fill the axis
    assert ax.get_title() == "session timeline (2026-01-05 to 2026-11-01 UTC)"
    errors = next(c for c in ax.collections if c.get_label() == "error")
    assert offsets(errors) == [[1.0, 2.0]]  # s2's second call, on its lane


def test_the_timeline_names_lanes_by_capture_and_reports_sessions_left_out():
    frame = hand_built().with_columns(
        pl.Series("capture", ["hello", "hello", None, None, None], dtype=pl.String)
    )
    ax = plots.session_timeline(frame, axes(), max_sessions=2)
    assert ytick_texts(ax) == ["hello  12:00:00", "s2  12:00:02"]  # 2 calls each; c's 1 is out
    assert ax.get_title() == "session timeline (2026-01-05 UTC)\nbusiest 2 of 3 sessions"
    legend = [text.get_text() for text in legend_of(ax).get_texts()]
    assert legend == ["a", "b", "error"]  # only the models drawn


def test_the_timeline_switches_to_minutes_for_long_sessions():
    frame = hand_built().with_columns(
        (pl.col("time") + pl.duration(minutes=pl.int_range(pl.len()) * 10)).alias("time")
    )
    ax = plots.session_timeline(frame, axes())
    assert ax.get_xlabel() == "time since session start (min)"
    s1_second = next(p for p in rectangles(ax) if p.get_y() < 0.5 and p.get_x() > 0)
    assert s1_second.get_x() == pytest.approx(10 + 1 / 60)  # 10 min 1 s after s1's start


def test_requests_over_time_stack_each_models_calls_per_bucket():
    ax = plots.requests_over_time(hand_built(), axes(), every="2s")
    # buckets of 2 s from T0: a a | b b | c
    bars = sorted(
        (round(p.get_x() * 86400 % 60), p.get_height(), to_hex(p.get_facecolor()))
        for p in rectangles(ax)
    )
    palette = frame_palette(hand_built())
    assert [(h, c) for _, h, c in bars] == [
        (2.0, palette["a"]),
        (2.0, palette["b"]),
        (1.0, palette["c"]),
    ]
    assert ax.get_title() == "requests per 2s"


def test_cost_over_time_sums_known_costs_and_counts_the_unpriced():
    ax = plots.cost_over_time(hand_built(), axes(), every="1m")
    assert sorted(p.get_height() for p in rectangles(ax)) == pytest.approx([0.0, 0.4, 0.5])
    assert ax.get_title() == "cost per 1m (1 unpriced calls not counted)"


def test_error_rate_over_time_draws_a_line_per_model_in_percent():
    ax = plots.error_rate_over_time(hand_built(), axes(), every="1m")
    rates = {line.get_label(): ydata(line) for line in ax.lines}
    assert rates == {
        "a (0 of 2 failed)": [0.0],
        "b (1 of 2 failed)": [50.0],
        "c (0 of 1 failed)": [0.0],
    }
    assert ax.get_title() == "error rate per 1m (whole log: 20.0 %)"  # 1 of 5


def test_error_rate_lines_break_over_buckets_without_calls():
    # Calls at 0 s, 1 s, 2 s, 3 s and 4 s in 1 s buckets: a's buckets (0 s, 1 s) are adjacent,
    # b's (2 s, 3 s) too; moving b's second call to 10 s leaves 7 empty buckets between them.
    frame = hand_built()
    moved = frame.with_columns(
        pl.when(pl.col("time") == T0 + timedelta(seconds=3))
        .then(pl.lit(T0 + timedelta(seconds=10)))
        .otherwise(pl.col("time"))
        .alias("time")
    )
    ax = plots.error_rate_over_time(moved, axes(), every="1s")
    lines = {str(line.get_label()).split(" ")[0]: line for line in ax.lines}
    assert ydata(lines["a"]) == [0.0, 0.0]
    b = ydata(lines["b"])
    assert b[0] == 0.0 and math.isnan(b[1]) and b[2] == 100.0
    assert xdata(lines["b"])[1] == T0 + timedelta(seconds=3)  # the gap starts where 2 s ends


def test_whole_log_costs_price_every_call_on_each_candidate():
    # 5 calls of 1,000 prompt and 500 completion tokens each. gpt-4.1: $2 and $8 per million,
    # 5 * (1000 * 2 + 500 * 8) / 1e6 = $0.03; gpt-4o-mini: $0.15 and $0.60 per million,
    # 5 * (1000 * 0.15 + 500 * 0.6) / 1e6 = $0.00225. Logged: 0.1 + 0.3 + 0.5 + 0 = $0.9.
    table = plots.whole_log_costs(hand_built(), ["gpt-4.1", "gpt-4o-mini", "no-such-model"])
    assert table["name"].to_list() == ["this log", "gpt-4.1", "gpt-4o-mini", "no-such-model"]
    assert table["cost"].to_list()[:3] == pytest.approx([0.9, 0.03, 0.00225])
    assert table["cost"][3] is None
    assert table["priced"].to_list() == [4, 5, 5, 5]
    assert table["requests"].to_list() == [5] * 4
    # the log's successful calls: 100, 300, 500, 700 ms -> median 0.4 s; no gpt-4.1 call
    assert table["p50_latency_s"].to_list() == [0.4, None, None, None]


def test_the_whole_log_on_other_models_shows_a_bar_each_with_its_latency():
    # gpt-4.1-mini: $0.40 and $1.60 per million, 5 * (1000 * 0.4 + 500 * 1.6) / 1e6 = $0.006
    replayed = hand_built().with_columns(pl.lit("gpt-4.1").alias("request_model"))
    candidates = ["gpt-4.1", "gpt-4.1-mini"]
    ax = plots.cost_on_models(hand_built(), candidates, axes(), latency=replayed)
    assert ytick_texts(ax) == ["this log\n(4 of 5 priced)", "gpt-4.1", "gpt-4.1-mini"]
    assert [p.get_width() for p in rectangles(ax)] == pytest.approx([0.9, 0.03, 0.006])
    assert to_hex(ax.patches[0].get_facecolor()) == NEUTRAL
    assert [t.strip() for t in texts(ax)] == [
        "$0.90 · p50 0.4 s (n=4)",
        "$0.030 · p50 0.4 s (n=4)",
        "$0.0060 · latency not measured",
    ]
    assert ax.get_title() == "this log's cost on other models\ncheapest: gpt-4.1-mini, $0.0060"
    assert ax.get_xscale() == "log"  # $0.006 to $0.90: 150x


def test_the_logs_own_bar_counts_the_costs_computed_from_tokens():
    frame = hand_built().with_columns(
        pl.Series("cost_source", ["logged", "computed", "computed", "none", "unpriced"]).cast(
            pl.Enum(["logged", "computed", "unpriced", "none"])
        )
    )
    ax = plots.cost_on_models(frame, ["gpt-4.1"], axes())
    assert ytick_texts(ax)[0] == "this log\n(4 of 5 priced, 2 computed)"


def test_agent_split_shows_the_main_agents_and_the_subagents_shares():
    frame = hand_built().with_columns(
        pl.Series("agent_id", [None, None, None, "t1", "t1"], dtype=pl.String)
    )
    ax = plots.agent_split(frame, axes())
    widths = [(round(p.get_y() + 0.3), round(p.get_width(), 6)) for p in rectangles(ax)]
    # requests 3 of 5; tokens 3 * 1500 of 5 * 1500; cost 0.9 of 0.9 (subagents: 0 + null)
    assert widths == [(0, 60.0), (0, 40.0), (1, 60.0), (1, 40.0), (2, 100.0), (2, 0.0)]
    assert ax.get_title() == "main agent and subagents: share of the log (1 subagent)"


def replay_pairs() -> pl.DataFrame:
    """x and y replayed on two targets that run the same model: never pooled."""
    originals = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [1000.0, 1000.0]})
    replays = pl.DataFrame(
        {
            "request_id": ["x", "y", "x", "y"],
            "replay_target": ["chat", "chat", "responses", "responses"],
            "request_model": ["gpt-5"] * 4,
            "latency_ms": [1500.0, 1700.0, 500.0, 900.0],
        }
    )
    return pair(originals, replays)


def test_paired_deltas_draw_one_row_per_target_with_its_mean_and_zero():
    ax = plots.paired_deltas(replay_pairs(), axes())
    assert ytick_texts(ax) == ["chat (n=2)", "responses (n=2)"]
    means = [offsets(c)[0] for c in ax.collections if len(offsets(c)) == 1]
    # chat: (0.5 + 0.7) / 2 = 0.6 s; responses: (-0.5 - 0.1) / 2 = -0.3 s
    assert [[round(x, 9), y] for x, y in means] == [[0.6, 1.0], [-0.3, 2.0]]
    assert [c.get_label() for c in ax.collections].count("mean") == 1  # in the legend once
    assert any(xdata(line) == [0, 0] for line in ax.lines)  # the line at zero
    assert ax.get_xlabel() == "replay − original (s); left of 0: the replay's is lower"


def test_paired_deltas_without_the_metric_say_no_data():
    ax = plots.paired_deltas(replay_pairs(), axes(), metric="cost")
    assert texts(ax) == ["no data\nno pair with cost on both sides"]


def test_tool_agreement_draws_both_shares_per_target():
    agreement = pl.DataFrame(
        {
            "source_id": ["x", "y", "z", "x"],
            "target": ["t1", "t1", "t1", "t2"],
            "original_tools": [["Bash"], ["Bash", "Read"], ["Read"], ["Bash"]],
            "replay_tools": [["Bash"], ["Read", "Bash"], None, []],
            "comparable": [True, True, False, True],
            "same_sequence": [True, False, None, False],
            "same_set": [True, True, None, False],
        }
    )
    ax = plots.tool_agreement(agreement, axes())
    assert [p.get_width() for p in rectangles(ax)] == pytest.approx([50.0, 0.0, 100.0, 0.0])
    assert [t.strip() for t in texts(ax)] == ["1 of 2", "0 of 1", "2 of 2", "0 of 1"]
    assert ytick_texts(ax) == ["t1 (1 of 3 without an answer)", "t2"]
    assert ax.get_xlabel() == "pairs that agree (% of pairs with both answers)"


def test_tool_agreement_of_no_pairs_says_no_data():
    empty = tool_call_agreement(
        pl.DataFrame(
            {
                "replay_source_id": [],
                "replay_target": [],
                "response_payload": [],
                "original_response_payload": [],
            },
            schema=dict.fromkeys(
                (
                    "replay_source_id",
                    "replay_target",
                    "response_payload",
                    "original_response_payload",
                ),
                pl.String,
            ),
        )
    )
    assert texts(plots.tool_agreement(empty, axes()))[0].startswith("no data")


def overlapping(labels: list[Any], renderer: Any) -> list[tuple[str, str]]:
    boxes = [
        (label.get_text(), label.get_window_extent(renderer))
        for label in labels
        if label.get_visible() and label.get_text()
    ]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.overlaps(box_b)
    ]


def sample_logs() -> dict[str, pl.DataFrame]:
    names = ("claude_gw-sessions", "kong-3.13", "kong-older")
    logs = {name: read_logs(DATA / f"{name}.json") for name in names}
    return logs | {"replay": load_results(DATA / "replay.json")}


@pytest.fixture(scope="module")
def samples() -> dict[str, pl.DataFrame]:
    return sample_logs()


@pytest.mark.parametrize("log", ["claude_gw-sessions", "kong-3.13", "kong-older", "replay"])
@pytest.mark.parametrize("name", list(FRAME_PLOTS))
def test_tick_labels_of_every_plot_of_the_sample_logs_never_overlap(samples, log, name):
    figure = Figure(figsize=(6.4, 4), layout="constrained")
    ax = FRAME_PLOTS[name](samples[log], figure.add_subplot())
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert overlapping(ax.get_xticklabels(), renderer) == []
    assert overlapping(ax.get_yticklabels(), renderer) == []
    assert not any(text.startswith("no data") for text in texts(ax)) or name == "ttft_distribution"


def test_the_sample_replay_agrees_on_every_tool_call_per_target(samples):
    originals = read_logs(DATA / "claude_gw-sessions.json", payloads=True)
    agreement = tool_call_agreement(pair_with_originals(samples["replay"], originals))
    ax = plots.tool_agreement(agreement, axes())
    assert ytick_texts(ax) == ["gpt-4.1", "gpt-5-mini-responses", "gpt-5-nano"]
    assert [t.strip() for t in texts(ax)] == ["7 of 7"] * 6


def test_a_short_session_beside_a_long_one_turns_the_time_axis_logarithmic():
    # s1: 2 calls within 20 s; s2: 3 calls over 3 hours. Linear, s1 would be 0.2 % of the axis.
    calls = [("s1", 0), ("s1", 20), ("s2", 0), ("s2", 5400), ("s2", 10800)]
    frame = conform_polars(
        pl.DataFrame(
            [
                {
                    "time": T0 + timedelta(seconds=at),
                    "session_id": sid,
                    "endpoint": "messages",
                    "request_model": "a",
                    "latency_ms": 1000.0,
                }
                for sid, at in calls
            ]
        )
    )
    figure = Figure(figsize=(6.4, 4), layout="constrained")
    ax = plots.session_timeline(frame, figure.add_subplot())
    assert ax.get_xscale() == "symlog"
    assert ax.get_xlabel() == "time since session start (logarithmic beyond 20 s)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "20 s", "10 min", "1 h"]
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    s1 = [p for p in rectangles(ax) if p.get_y() < 0.5]
    left = s1[0].get_window_extent(canvas.get_renderer()).x0
    right = s1[-1].get_window_extent(canvas.get_renderer()).x1
    assert right - left > 0.25 * ax.get_window_extent(canvas.get_renderer()).width
    assert overlapping(ax.get_xticklabels(), canvas.get_renderer()) == []
