"""`claude-gw report FILES... -o report.html`: one self-contained HTML report of logs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claude_gw.cli.logs import load
from claude_gw.cli.options import CliError

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
        "--reprice",
        action="append",
        default=[],
        metavar="MODEL[@PROVIDER]",
        help="also price the logged tokens on this model (repeatable; provider defaults to openai)",
    )
    report.set_defaults(run=run)


def parse_target(text: str) -> tuple[str, str]:
    """`model[@provider]` -> (model, provider); the provider defaults to openai."""
    model, _, provider = text.partition("@")
    if not model:
        raise CliError(f"report: --reprice needs a model, not {text!r}")
    return model, provider or "openai"


def check_output(path: Path) -> None:
    """Refuse, before any work, an output path that cannot be written as a file."""
    if path.is_dir():
        raise CliError(f"report: cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"report: cannot write {path}: directory {parent} does not exist")


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"report: cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    targets = [parse_target(text) for text in args.reprice]
    output = Path(args.output)
    check_output(output)
    try:
        from claude_gw.analysis.report import html_report
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise CliError(
            "report: needs the analysis extra (matplotlib is missing): "
            "pip install 'claude_gw[analysis]'"
        ) from None
    frame = load(args.files)
    if len(frame) == 0:
        raise CliError(f"report: no claude.json records in {', '.join(args.files)}")
    write_text(output, html_report(frame, title=args.title, targets=targets))
    print(f"wrote a report of {len(frame)} records to {output}", file=sys.stderr)
    return 0
