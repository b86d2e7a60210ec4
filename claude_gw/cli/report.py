"""`claude-gw report FILES... -o report.html`: one self-contained HTML report of logs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from claude_gw.cli.logs import ANALYSIS_MODULES, report_lines
from claude_gw.cli.options import CliError

if TYPE_CHECKING:
    from claude_gw.logs.cost_modes import CostMode

EPILOG = """\
FILES may be files (.gz read transparently), directories or globs, from claude_gw or from Kong.
The report opens with headline figures (requests, error rate, cost, latency, tokens), then a
per-model table, the plots (embedded PNGs) and the full tables; it needs no server and no
network. The directory of OUT.html must exist (it is not created, so a mistyped path fails
instead of scattering reports).

examples:
  claude-gw report claude.json -o report.html
  claude-gw report 'logs/*.json.gz' -o report.html \\
      --reprice gpt-5-mini --reprice claude-sonnet-4-5@anthropic
"""


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write one self-contained HTML report (figures, tables, plots) of claude.json logs",
        description="Load claude.json logs and write headline figures, per-model and "
        "per-session statistics, re-pricing and plots as one HTML file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "files",
        nargs="+",
        metavar="FILES",
        help="log files, directories or globs (claude_gw's or Kong's claude.json, .gz too)",
    )
    report.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.html",
        help="the HTML file to write (replaced if it exists; its directory must exist)",
    )
    report.add_argument(
        "--title", default="claude_gw report", help="the page title (default: %(default)s)"
    )
    report.add_argument(
        "--cost",
        choices=("auto", "calculate", "logged"),
        default="auto",
        help="which cost each request gets: auto (default) = the log's own cost when it is a "
        "price, else computed from its tokens; calculate = always from the tokens; logged = "
        "as written in the log",
    )
    report.add_argument(
        "--reprice",
        action="append",
        default=[],
        metavar="MODEL[@PROVIDER]",
        help="a candidate model for the re-pricing table and the whole-log cost plot "
        "(repeatable; provider defaults to openai; default: the models the log used)",
    )
    report.set_defaults(run=run)


def parse_target(text: str) -> tuple[str, str]:
    """`model[@provider]` -> (model, provider); the provider defaults to openai."""
    from claude_gw.logs.cost import find_priced

    model, _, provider = text.partition("@")
    if not model:
        raise CliError(f"report: --reprice needs a model, not {text!r}")
    provider = provider or "openai"
    if find_priced(model, provider) is None:  # what the re-pricing itself looks up
        raise CliError(
            f"report: --reprice {text}: no price known for {model!r} at {provider!r} "
            "(genai-prices); check the name, or give the provider as MODEL@PROVIDER"
        )
    return model, provider


def load_log(files: list[str], *, cost: str) -> Any:
    """The log of `files` with its payloads (the tool-call agreement of replays reads the
    logged answers) and costs resolved by `cost`; the load summary goes to stderr."""
    try:
        from claude_gw.logs.read import load_logs
    except ModuleNotFoundError as exc:
        if exc.name not in ANALYSIS_MODULES:
            raise
        raise CliError(
            f"report: needs the analysis extra ({exc.name} is missing): "
            "pip install 'claude_gw[analysis]'"
        ) from None
    sources = files[0] if len(files) == 1 else list(files)
    try:
        frame, loaded = load_logs(
            sources, payloads=True, cost=cast("CostMode", cost), progress=sys.stderr.isatty()
        )
    except FileNotFoundError as exc:
        raise CliError(f"report: {exc}") from None
    for line in report_lines(loaded):
        print(line, file=sys.stderr)
    return frame


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    targets = [parse_target(text) for text in args.reprice]
    output = Path(args.output)  # `main` has checked that its directory exists
    try:
        from claude_gw.analysis.report import html_report
    except ModuleNotFoundError as exc:
        if exc.name not in (*ANALYSIS_MODULES, "matplotlib"):
            raise
        raise CliError(
            f"report: needs the analysis extra ({exc.name} is missing): "
            "pip install 'claude_gw[analysis]'"
        ) from None
    frame = load_log(args.files, cost=args.cost)
    if len(frame) == 0:
        raise CliError(f"report: no claude.json records in {', '.join(args.files)}")
    output.write_text(html_report(frame, title=args.title, targets=targets), encoding="utf-8")
    print(f"wrote a report of {len(frame)} records to {output}", file=sys.stderr)
    return 0
