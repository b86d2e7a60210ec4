"""The HTML report, opened with the standard library's parser: every section, table and image
is there, each image a PNG embedded as base64, nothing fetched from elsewhere; and the
`claude-gw report` command writes it from Kong's fixture."""

from __future__ import annotations

import argparse
import base64
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from claude_gw.analysis.compare import pair
from claude_gw.analysis.report import PLOTS, html_report, table_html
from claude_gw.cli import report as report_command
from claude_gw.cli.options import CliError
from claude_gw.logs.read import read_logs

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The tags of a page that a report check needs: section ids, tables, image sources."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tables = 0
        self.images: list[str] = []
        self.links: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "id" in found:
            self.ids.append(str(found["id"]))
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.images.append(str(found["src"]))
        if tag in ("script", "link") or "href" in found:
            self.links.append(tag)


def png_bytes(source: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    return base64.b64decode(source[len(prefix) :], validate=True)


def test_report_holds_every_table_and_plot_as_embedded_pngs():
    page = Page(html_report(read_logs(KONG), targets=["gpt-4.1"]))
    assert page.ids == ["models", "sessions", "repricing", "plots"]
    assert page.tables == 3
    assert len(page.images) == len(PLOTS)
    assert all(png_bytes(source).startswith(PNG) for source in page.images)
    assert page.links == []  # self-contained: no script, stylesheet or link to fetch


def test_report_with_pairs_adds_the_paired_section():
    originals = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [100.0, 100.0]})
    replays = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [150.0, 170.0]})
    page = Page(html_report(read_logs(KONG), pairs=pair(originals, replays)))
    assert page.ids == ["models", "sessions", "plots", "paired"]
    assert page.tables == 3
    assert len(page.images) == len(PLOTS) + 1


def test_tables_escape_text_show_null_as_empty_and_note_cut_rows():
    table = pl.DataFrame({"model": ["<b>", None, "c"], "cost": [1 / 3, None, 2.0]})
    text = table_html(table, max_rows=2)
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert "<td>0.3333</td>" in text
    assert "<td></td><td></td>" in text
    assert "first 2 of 3 rows" in text


def run_report(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claude-gw")
    report_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.run(args, {}))


def test_report_command_writes_the_html_file(tmp_path, capsys):
    output = tmp_path / "report.html"
    status = run_report(["report", str(KONG), "-o", str(output), "--reprice", "gpt-4.1"])
    assert status == 0
    page = Page(output.read_text(encoding="utf-8"))
    assert page.ids == ["models", "sessions", "repricing", "plots"]
    assert len(page.images) == len(PLOTS)
    err = capsys.readouterr().err
    assert "13 records" in err and str(output) in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("gpt-5-mini", ("gpt-5-mini", "openai"), id="provider_defaults_to_openai"),
        pytest.param(
            "claude-sonnet-4-5@anthropic", ("claude-sonnet-4-5", "anthropic"), id="at_provider"
        ),
        pytest.param("qwen3:8b@ollama", ("qwen3:8b", "ollama"), id="colon_in_a_model_id"),
    ],
)
def test_reprice_targets_name_a_model_and_optionally_a_provider(text, expected):
    assert report_command.parse_target(text) == expected


def test_a_reprice_target_without_a_model_is_refused():
    with pytest.raises(CliError, match="needs a model"):
        report_command.parse_target("@openai")
