"""The HTML report, opened with the standard library's parser: the headline figures worked
out by hand, the per-model table with its totals row, the simulated banner, "no data" in
place of blank plots, every image a PNG embedded as base64 and nothing fetched from
elsewhere; and the `claude-gw report` command, its output and its one-line refusals."""

from __future__ import annotations

import argparse
import base64
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from claude_gw.analysis.compare import pair
from claude_gw.analysis.report import (
    TOTAL,
    headline,
    headline_html,
    html_report,
    model_table,
    simulated_rows,
    table_html,
)
from claude_gw.analysis.report_pictures import PICTURES
from claude_gw.cli import main
from claude_gw.cli import report as report_command
from claude_gw.logs.read import read_logs
from claude_gw.logs.schema import conform_polars

ROOT = Path(__file__).resolve().parents[2]
KONG = ROOT / ".." / "shared" / "fixtures" / "kong" / "claude.json"
PNG = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Page(HTMLParser):
    """What a report check needs from a page: ids, tables, images, every reference to
    another resource, the headline figures (`data-figure` -> its `.value` text) and the
    "no data" sections."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tables = 0
        self.images: list[str] = []
        self.references: list[str] = []
        self.scripts = 0
        self.figures: dict[str, str] = {}
        self.no_data: list[str] = []
        self._figure: str | None = None
        self._in_value = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.append(found["id"])
        self.tables += tag == "table"
        self.scripts += tag == "script"
        if tag == "img":
            self.images.append(found["src"])
        self.references += [found[name] for name in ("href", "src") if name in found]
        if "data-figure" in found:
            self._figure = found["data-figure"]
        if "data-nodata" in found:
            self.no_data.append(found["data-nodata"])
        self._in_value = self._figure is not None and found.get("class") == "value"

    def handle_data(self, data: str) -> None:
        if self._in_value and self._figure is not None:
            self.figures[self._figure] = data
            self._figure, self._in_value = None, False


@pytest.fixture(scope="module")
def kong_page() -> Page:
    """The report of Kong's fixture with a re-pricing target (each report draws every plot,
    so the tests of one log share it)."""
    return Page(html_report(read_logs(KONG), targets=["gpt-4.1"]))


@pytest.fixture(scope="module")
def data_report() -> str:
    """The report of `data/` (sessions, their replays, Kong's logs), answers included."""
    return html_report(read_logs(ROOT / "data", payloads=True))


def png_bytes(source: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    return base64.b64decode(source[len(prefix) :], validate=True)


def call(model: str, latency: float, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"time": T0, "endpoint": "messages", "request_model": model}
    return row | {"latency_ms": latency, "upstream_latency_ms": 1000.0} | fields


def priced_log() -> pl.DataFrame:
    """Three model calls (one cost logged, one computed, one unpriced, the last an error)
    and a count_tokens call, which every figure leaves out."""
    rows = [
        call("a", 100, prompt_tokens=1000, cached_tokens=200, completion_tokens=50,
             reasoning_tokens=10, cost=0.10, session_id="s1"),
        call("a", 300, prompt_tokens=2000, cached_tokens=0, completion_tokens=70,
             reasoning_tokens=0, cost=0.02, session_id="s1"),
        call("b", 500, prompt_tokens=400, cached_tokens=0, completion_tokens=0,
             reasoning_tokens=0, cost=None, session_id="s2", error_type="api_error"),
        call("b", 1, endpoint="count_tokens", prompt_tokens=999, cost=0.5),
    ]  # fmt: skip
    sources = ["logged", "computed", "unpriced", "logged"]
    frame = conform_polars(pl.DataFrame(rows, infer_schema_length=None))
    usage = ["upstream", "estimated", None, "estimated"]  # the count_tokens call is left out
    return frame.with_columns(cost_source=pl.Series(sources), usage_source=pl.Series(usage))


def test_headline_figures_of_a_hand_built_log():
    figures = headline(priced_log())
    assert figures.requests == 3  # the count_tokens call is not a model call
    assert figures.errors == 1 and figures.error_rate == pytest.approx(1 / 3)
    assert figures.cost == pytest.approx(0.10 + 0.02)  # the unpriced call adds nothing
    assert figures.computed_cost == pytest.approx(0.02)
    assert figures.unpriced == 1
    # latencies 100, 300, 500: the median is 300; p95 at rank 0.95 * 2 = 1.9 -> 300 + 0.9 * 200
    assert figures.p50_latency_ms == 300
    assert figures.p95_latency_ms == pytest.approx(480)
    assert (figures.prompt_tokens, figures.cached_tokens) == (3400, 200)
    assert (figures.completion_tokens, figures.reasoning_tokens) == (120, 10)
    assert figures.tokens == 3400 + 120
    assert figures.sessions == 2
    assert figures.estimated == 1
    assert "counted locally for 1 request(s)" in headline_html(figures)
    assert "counted locally" not in headline_html(headline(read_logs(KONG)))  # Kong: none


def test_headline_figures_of_kongs_fixture_read_on_the_page(kong_page):
    page = kong_page
    # 13 lines, statuses 429, 500, 400 and 400 are errors: 4 / 13 = 30.8 %.
    # Latencies sorted (ms): 2 27 393 691 1846 1903 2216 4412 5123 6790 9219 12495 31880;
    # the median is the 7th, 2216; p95 at rank 0.95 * 12 = 11.4: 12495 + 0.4 * (31880 - 12495)
    # = 20249 ms. Prompt tokens 116,264, completion tokens 3,610 (summed by hand from the
    # fixture's README table), 119,874 in all.
    assert page.figures["requests"] == "13"
    assert page.figures["error_rate"] == "30.8%"
    assert page.figures["p50_latency"] == "2.22 s"
    assert page.figures["p95_latency"] == "20.2 s"
    assert page.figures["tokens"] == "119,874"


KONG_NO_DATA = [
    # Kong's log has no Claude CLI session ids and no replay results
    "Session timeline (each session on its own clock)",
    "Main agent and subagents, over the requests of sessions",
    "Replay minus original latency, per target",
    "Replay minus original cost, per target",
    "Tool-call agreement with the original, per target",
]


def test_report_parts_come_in_order_and_every_image_is_an_embedded_png(kong_page):
    page = kong_page
    assert page.ids == ["headline", "models", "plots", "tables"]
    # per model, and folded away: every statistic per model, per session, the whole log on
    # each candidate, re-pricing
    assert page.tables == 5
    assert page.no_data == KONG_NO_DATA
    assert len(page.images) == len(PICTURES) - len(KONG_NO_DATA)
    assert all(png_bytes(source).startswith(PNG) for source in page.images)
    assert page.scripts == 0
    assert all(ref.startswith("data:") for ref in page.references)  # nothing to fetch


def test_report_with_pairs_draws_the_replay_deltas_and_their_table():
    originals = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [100.0, 100.0]})
    replays = pl.DataFrame(
        {"request_id": ["x", "y"], "latency_ms": [150.0, 170.0], "cost": [0.1, 0.2]}
    )
    page = Page(html_report(read_logs(KONG), pairs=pair(originals, replays)))
    assert page.tables == 5  # the paired comparison joins the folded tables
    drawn = [caption for caption in KONG_NO_DATA if caption not in page.no_data]
    assert drawn == [
        "Replay minus original latency, per target",
        "Replay minus original cost, per target",
    ]


def test_replay_results_in_the_log_are_paired_with_their_originals(data_report):
    page = Page(data_report)
    # data/ holds the sessions and their replay on three targets, answers logged: every
    # picture has something to draw, and the folded tables add the paired comparison and
    # the tool-call agreement per target
    assert page.no_data == []
    assert len(page.images) == len(PICTURES)
    assert page.tables == 1 + 3 + 2


def test_model_table_totals_are_the_sums_of_its_rows():
    table = model_table(read_logs(ROOT / "data"))
    rows, total = table.filter(pl.col("model") != TOTAL), table.filter(pl.col("model") == TOTAL)
    assert total.height == 1
    for column in ("requests", "errors", "prompt_tokens", "completion_tokens", "unpriced"):
        assert total[column].item() == rows[column].sum(), column
    assert total["cost"].item() == pytest.approx(rows["cost"].sum())
    # the totals row's percentiles are over every call, as in the headline
    assert total["p50_latency_ms"].item() == headline(read_logs(ROOT / "data")).p50_latency_ms


def test_model_table_reads_in_human_formats(data_report):
    text = data_report
    models = text[text.index('id="models"') : text.index('id="plots"')]
    assert "e+0" not in models  # no 1.25e+04 ms
    # gpt-4.1 in data/: Kong 3.13 0.031066 + 0.029596 + 0.00028, older Kong 0.013588 +
    # 0.028554 + 0.038404, the replay 0.002838 + 0.002792 + 0.002834 + 0.002762 + 0.002828 +
    # 0.002812 + 0.0029 (its failed calls cost nothing): $0.161254
    assert "<td>$0.161</td>" in models
    assert "<th>p95 latency</th>" in models and " s</td>" in models


def test_simulated_rows_are_recognised_by_provider_model_suffix_or_column():
    frame = conform_polars(
        pl.DataFrame(
            {
                "provider": ["simulated", "openai", "openai", "openai"],
                "response_model": ["x", "gpt-5-mini-simulated", "gpt-5-mini", None],
            }
        )
    )
    assert simulated_rows(frame) == 2
    flagged = frame.with_columns(simulated=pl.Series([False, False, True, None]))
    assert simulated_rows(flagged) == 3


def test_a_banner_says_so_when_rows_are_simulated(data_report, kong_page):
    # data/: the 7 captured session requests and their 21 replays were simulated
    assert Page(data_report).ids[0] == "simulated"
    assert "28 of 61 records were answered by a simulated backend" in data_report
    assert "simulated" not in kong_page.ids


def test_an_empty_log_gives_no_data_sections_instead_of_blank_axes():
    page = Page(html_report(read_logs(KONG).clear()))
    assert page.images == []
    assert page.no_data == [picture.caption for picture in PICTURES]
    assert page.figures["requests"] == "0"
    assert page.figures["error_rate"] == "–" and page.figures["cost"] == "–"


def test_tables_escape_text_show_null_as_a_dash_and_note_cut_rows():
    table = pl.DataFrame({"model": ["<b>", None, "c"], "cost": [1 / 3, None, 2.0]})
    text = table_html(table, max_rows=2)
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert "<td>$0.333</td>" in text
    assert "<td>–</td><td>–</td>" in text
    assert "first 2 of 3 rows" in text


def test_a_long_comparison_table_formats_each_row_as_its_metric():
    table = pl.DataFrame(
        {
            "metric": ["latency_ms", "cost", "completion_tokens"],
            "pairs": [7, 7, 7],
            "mean_delta": [-5656.9, 0.00137, -1033.14],
        }
    )
    text = table_html(table)
    assert "<td>latency_ms</td><td>7</td><td>-5.66 s</td>" in text
    assert "<td>cost</td><td>7</td><td>$0.00137</td>" in text
    assert "<td>completion_tokens</td><td>7</td><td>-1,033</td>" in text


def test_report_command_writes_the_html_file(tmp_path, capsys):
    output = tmp_path / "report.html"
    status = main(["report", str(KONG), "-o", str(output), "--reprice", "gpt-4.1"])
    assert status == 0
    page = Page(output.read_text(encoding="utf-8"))
    assert page.ids == ["headline", "models", "plots", "tables"]
    assert page.figures["requests"] == "13"
    err = capsys.readouterr().err
    assert "13 records" in err and str(output) in err


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line `claude-gw` prints when it refuses `argv` with exit status 2."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


def test_report_into_a_missing_directory_is_refused_before_loading(tmp_path, capsys):
    output = tmp_path / "no-such-dir" / "report.html"
    line = refusal(["report", str(KONG), "-o", str(output)], capsys)
    assert line == f"claude-gw: report: cannot write {output}: no directory '{output.parent}'"
    assert not output.parent.exists()  # not created


def test_report_onto_a_directory_is_refused(tmp_path, capsys):
    line = refusal(["report", str(KONG), "-o", str(tmp_path)], capsys)
    assert line == f"claude-gw: report: cannot write {tmp_path}: it is a directory"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("", id="empty_file"),
        pytest.param("# Title\n\nsome prose, not a log\n", id="markdown"),
    ],
)
def test_input_without_records_is_refused_naming_the_file(tmp_path, capsys, content):
    log = tmp_path / "notes.md"
    log.write_text(content, encoding="utf-8")
    output = tmp_path / "report.html"
    line = refusal(["report", str(log), "-o", str(output)], capsys)
    assert line == f"claude-gw: report: no claude.json records in {log}"
    assert not output.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("gpt-5-mini", ("gpt-5-mini", "openai"), id="provider_defaults_to_openai"),
        pytest.param(
            "claude-sonnet-4-5@anthropic", ("claude-sonnet-4-5", "anthropic"), id="at_provider"
        ),
        pytest.param(
            "amazon.nova-lite-v1:0@aws", ("amazon.nova-lite-v1:0", "aws"), id="colon_in_a_model_id"
        ),
    ],
)
def test_reprice_targets_name_a_model_and_optionally_a_provider(text, expected):
    assert report_command.parse_target(text) == expected


def test_a_reprice_target_without_a_model_is_refused(tmp_path, capsys):
    argv = ["report", str(KONG), "-o", str(tmp_path / "r.html"), "--reprice", "@openai"]
    assert refusal(argv, capsys) == "claude-gw: report: --reprice needs a model, not '@openai'"


def test_a_reprice_target_without_a_known_price_is_refused(tmp_path, capsys):
    argv = ["report", str(KONG), "-o", str(tmp_path / "r.html"), "--reprice", "gpt-5-mni"]
    assert refusal(argv, capsys) == (
        "claude-gw: report: --reprice gpt-5-mni: no price known for 'gpt-5-mni' at 'openai' "
        "(genai-prices); check the name, or give the provider as MODEL@PROVIDER"
    )
    assert not (tmp_path / "r.html").exists()


def test_every_report_option_has_help():
    parser = argparse.ArgumentParser(prog="claude-gw")
    commands = parser.add_subparsers(dest="command")
    report_command.add_parser(commands)
    actions = commands.choices["report"]._actions
    assert all(action.help for action in actions), [a.dest for a in actions if not a.help]
