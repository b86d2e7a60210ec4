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
The report (tables and embedded PNG plots) opens in any browser, without a server.

examples:
  claude-gw report claude.json -o report.html
  claude-gw report 'logs/*.json.gz' -o report.html \\
      --reprice gpt-5-mini --reprice claude-sonnet-4-5@anthropic
"""


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write one self-contained HTML report (tables and plots) of claude.json logs",
        description="Load claude.json logs and write per-model and per-session statistics, "
        "re-pricing and plots as one HTML file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("files", nargs="+", metavar="FILES")
    report.add_argument("-o", "--output", required=True, metavar="OUT.html")
    report.add_argument("--title", default="claude_gw report")
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


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    targets = [parse_target(text) for text in args.reprice]
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
    text = html_report(frame, title=args.title, targets=targets)
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote a report of {len(frame)} records to {args.output}", file=sys.stderr)
    return 0
