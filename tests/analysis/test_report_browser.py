"""The report of `data/` in a real browser: `claude-gw report` writes it, a loopback HTTP
server serves it, and Debian's chromium (driven by Playwright, installed by `.ci/run`) opens
it headless. The page must log no console error, fetch nothing but itself, decode every
image, and show the headline figures that this test works out from the raw JSON lines, with
the standard library only (no claude_gw reader, no statistics of claude_gw)."""

from __future__ import annotations

import functools
import json
import statistics
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from claude_gw.analysis import formats
from claude_gw.cli import main
from tests.browser import opened

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = {
    "requests": formats.count,
    "error_rate": formats.percent,
    "cost": formats.usd,
    "p50_latency": formats.seconds,
    "p95_latency": formats.seconds,
    "tokens": formats.count,
}


def raw_records(directory: Path) -> Iterator[dict[str, Any]]:
    """Every AI-proxy record of the directory's .json files: lines that parse as a JSON
    object with an `ai` key (the error-log text, arrays, numbers, the non-AI route and the
    cut-off line of kong-older.json are not)."""
    for path in sorted(directory.glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "ai" in record:
                yield record


def plugin(record: dict[str, Any], part: str) -> dict[str, Any]:
    """`ai.<part>` (Kong 3.6) or `ai.<plugin>.<part>` (every later shape) of a record."""
    ai = record["ai"]
    if part in ai:
        return dict(ai[part])
    return next(dict(entry[part]) for entry in ai.values() if part in entry)


# List prices in USD per million tokens (input, cached input, output) of the models whose log
# lines carry no price (Kong without input_cost/output_cost configured), from genai-prices'
# table for the days of those lines.
PRICES = {
    "gpt-5-mini-2025-08-07": (0.25, 0.025, 2.0),
    "gpt-4o-2024-08-06": (2.5, 1.25, 10.0),
    "gpt-4o-mini-2024-07-18": (0.15, 0.075, 0.6),
}


def request_cost(record: dict[str, Any]) -> tuple[float, bool]:
    """(cost, computed?) of one model call, by the default cost rule: the line's own cost
    when it is a price (non-zero, or any figure of claude_gw's own records, which are priced
    when written); else nothing for a failed request; else its tokens at list price."""
    usage = plugin(record, "usage")
    logged = usage.get("cost")
    if logged is not None and (logged != 0 or "claude_gw" in record):
        return float(logged), False
    if record["response"]["status"] >= 400:
        return 0.0, False
    per_input, per_cached, per_output = PRICES[plugin(record, "meta")["response_model"]]
    prompt = usage.get("prompt_tokens", usage.get("prompt_token", 0))
    cached = usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
    output = usage.get("completion_tokens", usage.get("completion_token", 0))
    cost = (prompt - cached) * per_input + cached * per_cached + output * per_output
    return cost / 1e6, True


def expected_figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures, by hand: count_tokens calls are not model calls; an error is a
    status of 400 or more; Kong 3.7 spells the token counts in the singular; the cost is the
    sum of `request_cost` (and `computed` the part of it computed from tokens)."""
    calls = [r for r in records if "count_tokens" not in r["request"]["uri"]]
    latencies = [float(r["latencies"]["request"]) for r in calls]
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    tokens = 0
    for record in calls:
        counts = plugin(record, "usage")
        tokens += counts.get("prompt_tokens", counts.get("prompt_token", 0))
        tokens += counts.get("completion_tokens", counts.get("completion_token", 0))
    costs = [request_cost(record) for record in calls]
    errors = sum(r["response"]["status"] >= 400 for r in calls)
    return {
        "requests": len(calls),
        "error_rate": errors / len(calls),
        "cost": sum(cost for cost, _ in costs),
        "p50_latency": percentiles[49],
        "p95_latency": percentiles[94],
        "tokens": tokens,
        "computed": sum(cost for cost, computed in costs if computed),
    }


@pytest.fixture
def served_report(tmp_path: Path) -> Iterator[str]:
    """The URL of the report of `data/`, written by the CLI and served on 127.0.0.1."""
    assert main(["report", str(DATA), "-o", str(tmp_path / "report.html")]) == 0

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_report_opens_in_chromium_with_every_image_and_the_right_headline(served_report):
    expected = expected_figures(list(raw_records(DATA)))
    with opened(served_report) as (page, watched):
        images = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        shown = {
            name: (
                page.locator(f'[data-figure="{name}"] .value').inner_text(),
                page.locator(f'[data-figure="{name}"]').get_attribute("data-value"),
            )
            for name in FORMATS
        }
        cost_detail = page.locator('[data-figure="cost"] .detail').inner_text()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    assert watched.problems == []
    assert [url for url in watched.requested if not url.startswith("data:")] == [served_report]
    assert len(images) >= 5
    assert [alt for alt, complete, width in images if not (complete and width > 0)] == []
    assert overflow <= 0  # wide tables scroll inside their box, the page never does
    for name, fmt in FORMATS.items():
        text, raw = shown[name]
        assert float(raw or "nan") == pytest.approx(expected[name]), name
        assert text == fmt(expected[name]), name
    assert cost_detail.startswith(f"{formats.usd(expected['computed'])} computed from tokens")


def test_the_hand_computed_figures_of_data_match_its_readme():
    # data/README.md: 13 + 20 + 7 + 21 records; 6 error statuses (Kong: 429 500 400 400,
    # older: 400 429) -> 6 / 61.
    expected = expected_figures(list(raw_records(DATA)))
    assert expected["requests"] == 13 + 20 + 7 + 21
    assert expected["error_rate"] == pytest.approx(6 / 61)


def test_a_kong_line_without_a_price_is_priced_from_its_tokens():
    # Kong 3.13, gpt-5-mini, no costs configured (`cost: 0`): 14,231 prompt tokens (none
    # cached) at $0.25/M and 612 completion tokens at $2/M = $0.00355775 + $0.001224
    line = (DATA / "kong-3.13.json").read_text(encoding="utf-8").splitlines()[1]
    cost, computed = request_cost(json.loads(line))
    assert cost == pytest.approx(0.00478175) and computed is True
