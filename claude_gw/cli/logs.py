"""`claude-gw logs summary|convert`: tables and Parquet from claude.json files."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from claude_gw.cli.options import CliError
from claude_gw.logs.mask import printable

if TYPE_CHECKING:
    from claude_gw.logs.cost_modes import CostMode

EPILOG = """\
FILES may be files (.gz read transparently), directories or globs, from claude_gw or from Kong
(3.6 to 3.13, ai-proxy-advanced). Lines that are not records (cut off, not JSON, non-AI routes)
are skipped and counted on stderr. Input without a single record is an error (exit status 2).

Costs: every row's cost has a source (logged, computed, unpriced, none). --cost auto (the
default) keeps the log's own non-zero cost (or claude_gw's own figure) and computes the others
from the tokens with genai-prices' offline table; calculate always computes; logged shows the
log's figure as written (Kong writes 0 when no costs are configured).

examples:
  claude-gw logs summary claude.json
  claude-gw logs summary --by capture --since 2026-11-01 logs/
  claude-gw logs summary --by day --format csv 'logs/*.json.gz' > daily.csv
  claude-gw logs convert logs/ -o requests.parquet
"""

ANALYSIS_MODULES = ("polars", "pandas", "pyarrow", "tqdm")
GROUPINGS = ("model", "session", "day", "capture", "agent", "target", "cost_source", "provider")
COST_MODES = ("auto", "calculate", "logged")


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
        "summary",
        help="per-group table of requests, errors, latency, tokens and cost",
        description="One row per group of model calls (count_tokens calls left out): "
        "requests, error rate, latency, tokens per second, tokens and cost.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_files(summary)
    summary.add_argument(
        "--by",
        choices=GROUPINGS,
        default="model",
        help="group by the model sent upstream (default), the CLI session, the UTC day, the "
        "capture name, the agent (main or subagent), the replay target, the cost source or "
        "the provider",
    )
    add_window(summary)
    add_cost(summary)
    summary.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table: for reading ($, seconds, thousands separators; default); csv and json: "
        "the raw numbers (latencies in ms, costs in USD)",
    )
    summary.set_defaults(run=run_summary)
    convert = actions.add_parser(
        "convert",
        help="write the loaded records as one Parquet file",
        description="Write every record of FILES, in the documented columns, to one Parquet "
        "file (claude_gw.logs.read_parquet reads it back).",
    )
    add_files(convert)
    convert.add_argument(
        "-o", "--output", required=True, metavar="OUT.parquet", help="the Parquet file to write"
    )
    add_window(convert)
    add_cost(convert)
    convert.set_defaults(run=run_convert)


def add_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILES",
        help="claude.json files (.gz too), directories or globs",
    )


def add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        type=moment,
        metavar="WHEN",
        help="only requests from this UTC date or time on (ISO: 2026-11-25 or 2026-11-25T14:00)",
    )
    parser.add_argument(
        "--until",
        type=moment,
        metavar="WHEN",
        help="only requests before this UTC time; a bare date includes that whole day",
    )


def add_cost(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cost",
        choices=COST_MODES,
        default="auto",
        help="auto: the log's cost when it is a price, else computed from the tokens "
        "(default); calculate: always from the tokens; logged: as the log wrote it",
    )


class Moment(datetime):
    """A parsed --since/--until: a UTC datetime that remembers whether only a date was given."""

    date_only: bool = False


def moment(text: str) -> Moment:
    """An ISO date or date-time (UTC unless it names an offset), for argparse."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or time: {text!r} (try 2026-11-25 or 2026-11-25T14:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    result = Moment.fromtimestamp(parsed.timestamp(), tz=UTC)
    result.date_only = "T" not in text and " " not in text.strip() and len(text.strip()) <= 10
    return result


def window(since: Moment | None, until: Moment | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the requests to keep; a bare --until date ends after that day."""
    end: datetime | None = until
    if until is not None and until.date_only:
        end = until + timedelta(days=1)
    return since, end


def load(files: list[str], *, cost: str = "auto") -> Any:
    """The loaded frame (polars); the skipped-lines report goes to stderr. A file that cannot
    be read, or input without a single record, is a `CliError` naming the files."""
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
        frame, report = load_logs(sources, progress=sys.stderr.isatty(), cost=cost_mode(cost))
    except FileNotFoundError as exc:
        raise CliError(f"logs: {exc}") from None
    except OSError as exc:
        where = exc.filename or ", ".join(files)
        raise CliError(f"logs: cannot read {where}: {exc.strerror or exc}") from None
    except Exception as exc:  # polars' errors for a file it cannot decode (a broken gzip)
        if type(exc).__module__.split(".")[0] != "polars":
            raise
        raise CliError(f"logs: cannot read {', '.join(files)}: {_first_line(exc)}") from None
    for line in report_lines(report):
        print(printable(line), file=sys.stderr)
    if frame.height == 0:
        raise CliError(f"logs: no records in {', '.join(report.files or files)}")
    return frame


def cost_mode(text: str) -> CostMode:
    """`text` as a cost mode (argparse has already checked it is one)."""
    if text not in COST_MODES:
        raise CliError(f"logs: --cost must be one of {', '.join(COST_MODES)}, not {text!r}")
    return cast("CostMode", text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def in_window(frame: Any, files: list[str], since: Moment | None, until: Moment | None) -> Any:
    """The rows of `frame` in the --since/--until window; none left is a `CliError`."""
    import polars as pl

    start, end = window(since, until)
    if start is None and end is None:
        return frame
    time = pl.col("time")
    keep = pl.lit(True)
    if start is not None:
        keep = keep & (time >= start)
    if end is not None:
        keep = keep & (time < end)
    kept = frame.filter(keep)
    if kept.height == 0:
        span = f"from {start:%Y-%m-%d %H:%M}" if start else ""
        span += f"{' ' if span else ''}before {end:%Y-%m-%d %H:%M}" if end else ""
        raise CliError(f"logs: no records {span} UTC in {', '.join(files)}")
    return kept


def report_lines(report: Any, examples: int = 5) -> list[str]:
    """The load summary and the first few skipped lines (where, and why)."""
    shown = [issue for issue in report.examples if issue.problem.skips][:examples]
    return [report.summary(), *(f"  skipped {issue}" for issue in shown)]


def render(frame: Any, fmt: str) -> str:

    if fmt == "csv":
        return str(frame.write_csv())
    if fmt == "json":
        buffer = io.StringIO()
        frame.write_json(buffer)
        return buffer.getvalue() + "\n"
    return markdown(human(frame))


def markdown(shown: Any) -> str:
    """A frame of text cells as a right-aligned Markdown table, every row and column."""
    import polars as pl

    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        tbl_cell_alignment="RIGHT",
        fmt_str_lengths=60,
        tbl_width_chars=400,
    ):
        return f"{shown}\n"


def human(frame: Any) -> Any:
    """`frame` with every value as text for reading: costs in $, latencies in seconds,
    shares in %, counts with thousands separators; a missing value is `-`."""
    import polars as pl

    columns = {}
    for name in frame.columns:
        values = frame[name].to_list()
        label, shown = _human_column(name, values, frame[name].dtype)
        columns[label] = pl.Series(label, shown, dtype=pl.String())
    return pl.DataFrame(columns)


def _human_column(name: str, values: list[Any], dtype: Any) -> tuple[str, list[str]]:
    if name.endswith("_ms"):
        seconds = [_or_dash(v, lambda x: f"{x / 1000:,.2f}") for v in values]
        return name.removesuffix("_ms") + "_s", seconds
    if name == "cost" or name.startswith("cost_"):
        return name, [_or_dash(v, dollars) for v in values]
    if name.endswith(("_share", "_rate")):
        return name, [_or_dash(v, lambda x: f"{100 * x:.1f}%") for v in values]
    if dtype.is_integer():
        return name, [_or_dash(v, lambda x: f"{x:,}") for v in values]
    if dtype.is_float():
        return name, [_or_dash(v, lambda x: f"{x:,.1f}") for v in values]
    return name, [_or_dash(v, str) for v in values]


def _or_dash(value: Any, show: Any) -> str:
    return "-" if value is None else str(show(value))


def dollars(value: float) -> str:
    """$ with two decimals from $1, else four significant digits: $12.35, $0.007146."""
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4g}" if abs(value) >= 1e-4 else f"${value:.2e}"


def run_summary(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    # loaded first: `load` says which extra a bare install lacks (the analysis needs polars too)
    frame = in_window(load(args.files, cost=args.cost), args.files, args.since, args.until)
    from claude_gw.analysis.metrics import summary

    table = summary(frame, by=args.by)
    if table.height == 0:
        raise CliError(f"logs: no model calls in {', '.join(args.files)} (only count_tokens)")
    if args.format == "table":
        text = render_with_total(table, frame)
    else:
        text = render(table, args.format)
    if args.format == "table" or sys.stdout.isatty():  # model names come from upstreams
        text = printable(text, keep="\n")
    sys.stdout.write(text)
    return 0


def render_with_total(table: Any, frame: Any) -> str:
    """The table for reading, with an `(all)` row under several groups: the same measures over
    every call (sums equal the column sums; percentiles and shares are over all calls)."""
    import polars as pl

    from claude_gw.analysis.metrics import summary_total

    shown = human(table)
    if table.height > 1:
        key = table.columns[0]
        total = summary_total(frame).select(pl.lit("(all)").alias(key), pl.all())
        shown = pl.concat([shown, human(total)])
    return markdown(shown)


def run_convert(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    folder = Path(args.output).parent
    if not folder.is_dir():
        raise CliError(f"logs: cannot write {args.output}: no directory {str(folder)!r}")
    frame = in_window(load(args.files, cost=args.cost), args.files, args.since, args.until)
    from claude_gw.logs.read import to_parquet  # after `load`, which names a missing extra

    try:
        to_parquet(frame, args.output)
    except OSError as exc:
        raise CliError(f"logs: cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {len(frame)} records to {args.output}", file=sys.stderr)
    return 0
