"""`claude-gw logs summary|convert`: tables and Parquet from claude.json files."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Mapping
from typing import Any

from claude_gw.cli.options import CliError
from claude_gw.logs.mask import printable

EPILOG = """\
FILES may be files (.gz read transparently), directories or globs, from claude_gw or from Kong
(3.6 to 3.13, ai-proxy-advanced). Lines that are not records (cut off, not JSON, non-AI routes)
are skipped and counted on stderr.

examples:
  claude-gw logs summary claude.json
  claude-gw logs summary --by day --format csv 'logs/*.json.gz' > daily.csv
  claude-gw logs convert logs/ -o requests.parquet
"""


ANALYSIS_MODULES = ("polars", "pandas", "pyarrow", "tqdm")


def add_parser(commands: Any) -> None:
    logs = commands.add_parser(
        "logs",
        help="summarise or convert claude.json logs (ours and Kong's)",
        description="Load claude.json logs (claude_gw's and Kong's, every version) and "
        "summarise them or convert them to Parquet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = logs.add_subparsers(dest="action", metavar="ACTION", required=True)
    summary = actions.add_parser(
        "summary", help="per-model (or session, or day) table of requests, latency, tokens, cost"
    )
    summary.add_argument("files", nargs="+", metavar="FILES")
    summary.add_argument("--by", choices=("model", "session", "day"), default="model")
    summary.add_argument("--format", choices=("table", "csv", "json"), default="table")
    summary.set_defaults(run=run_summary)
    convert = actions.add_parser("convert", help="write the loaded records as one Parquet file")
    convert.add_argument("files", nargs="+", metavar="FILES")
    convert.add_argument("-o", "--output", required=True, metavar="OUT.parquet")
    convert.set_defaults(run=run_convert)


def load(files: list[str]) -> Any:
    """The loaded frame; the skipped-lines report goes to stderr."""
    try:
        from claude_gw.logs.read import load_logs
    except ModuleNotFoundError as exc:
        if exc.name not in ANALYSIS_MODULES:
            raise
        raise CliError(
            f"logs: needs the analysis extra ({exc.name} is missing): "
            "pip install 'claude_gw[analysis]'"
        ) from None
    sources = files[0] if len(files) == 1 else list(files)
    try:
        frame, report = load_logs(sources, progress=sys.stderr.isatty())
    except FileNotFoundError as exc:
        raise CliError(f"logs: {exc}") from None
    for line in report_lines(report):
        print(printable(line), file=sys.stderr)
    return frame


def report_lines(report: Any, examples: int = 5) -> list[str]:
    """The load summary and the first few skipped lines (where, and why)."""
    shown = [issue for issue in report.examples if issue.problem.skips][:examples]
    return [report.summary(), *(f"  skipped {issue}" for issue in shown)]


def render(frame: Any, fmt: str) -> str:
    import polars as pl

    if fmt == "csv":
        return str(frame.write_csv())
    if fmt == "json":
        buffer = io.StringIO()
        frame.write_json(buffer)
        return buffer.getvalue() + "\n"
    rounded = frame.with_columns(pl.selectors.float().round(4))
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        fmt_str_lengths=60,
        tbl_width_chars=400,
    ):
        return f"{rounded}\n"


def run_summary(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.analysis.metrics import summary

    table = summary(load(args.files), by=args.by)
    text = render(table, args.format)
    if args.format == "table" or sys.stdout.isatty():  # model names come from upstreams
        text = printable(text, keep="\n")
    sys.stdout.write(text)
    return 0


def run_convert(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.logs.read import to_parquet

    frame = load(args.files)
    to_parquet(frame, args.output)
    print(f"wrote {len(frame)} records to {args.output}", file=sys.stderr)
    return 0
