"""Plot smoke tests on the Agg backend: each plot draws on the Axes it is given (or a new one)
and returns it; the assertions read what was drawn back from the Axes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import matplotlib
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from claude_gw.analysis import plots
from claude_gw.analysis.compare import pair
from claude_gw.logs.schema import conform_polars, to_pandas

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def agg_backend() -> Iterator[None]:
    matplotlib.use("Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def hand_built() -> pl.DataFrame:
    """Three models over two sessions; one gpt-5 call fails; model c has no cost."""
    rows = [
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
                    "reasoning_tokens": index * 10,
                    "cost": row["cost"],
                    "error_type": row["err"],
                }
                for index, row in enumerate(rows)
            ],
            infer_schema_length=None,
        )
    )


def labels(ax: Axes) -> list[str]:
    return [tick.get_text() for tick in ax.get_xticklabels()]


@pytest.mark.parametrize(
    "engine", [pytest.param("polars", id="polars"), pytest.param("pandas", id="pandas")]
)
def test_latency_distribution_draws_one_box_per_model(engine):
    frame = hand_built() if engine == "polars" else to_pandas(hand_built())
    ax = Figure().add_subplot()
    assert plots.latency_distribution(frame, ax) is ax
    assert labels(ax) == ["a", "b", "c"]
    assert ax.get_ylabel() == "ms"


def test_ttft_distribution_leaves_out_failed_calls_and_zero_ttft():
    ax = plots.ttft_distribution(hand_built(), Figure().add_subplot())
    assert labels(ax) == ["a", "b", "c"]
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_color() == "C1"]
    assert sorted(medians) == [20.0, 50.0, 70.0]  # b's failed call (ttft 0) is not in its box


def test_cost_per_model_draws_a_bar_per_priced_model():
    ax = plots.cost_per_model(hand_built(), Figure().add_subplot())
    heights = [patch.get_height() for patch in ax.patches]
    assert labels(ax) == ["a", "b"]  # c has no known cost
    assert heights == pytest.approx([0.4, 0.5])


def test_reasoning_against_latency_plots_one_series_per_model():
    ax = plots.reasoning_vs_latency(hand_built(), Figure().add_subplot())
    assert [c.get_label() for c in ax.collections] == ["a", "b", "c"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 5


def test_session_timeline_has_a_lane_per_session_and_marks_errors():
    ax = plots.session_timeline(hand_built(), Figure().add_subplot())
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["(none)", "s1", "s2"]
    assert ax.get_title() == "session timeline"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["a", "b", "c", "error"]
    errors = next(c for c in ax.collections if c.get_label() == "error")
    assert len(errors.get_offsets()) == 1


def test_paired_deltas_draws_a_histogram_with_the_mean_and_zero():
    originals = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [100.0, 100.0]})
    replays = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [150.0, 170.0]})
    ax = plots.paired_deltas(pair(originals, replays), Figure().add_subplot())
    assert ax.patches  # the histogram's bars
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [0, 60.0]


def test_a_plot_without_an_axes_draws_on_a_new_figure():
    import matplotlib.pyplot as plt

    ax = plots.latency_distribution(hand_built())
    assert isinstance(ax, Axes)
    assert plt.get_fignums() == [ax.figure.number]


def test_session_timeline_keeps_only_the_busiest_sessions_when_asked():
    ax = plots.session_timeline(hand_built(), Figure().add_subplot(), max_sessions=2)
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["s1", "s2"]  # 2 calls each
    assert ax.get_title() == "session timeline (busiest 2 of 3 sessions)"
