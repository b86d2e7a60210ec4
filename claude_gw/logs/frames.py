"""One run of lines -> one frame of the schema, plus the issues found: the core that
`load_logs` (whole files, in slices) and `scan_logs` (streamed batches) share, so both give
the same rows by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from claude_gw.logs.decode import Where, decode_lines
from claude_gw.logs.report import LineIssue, LoadReport, LogFormatError, Problem
from claude_gw.logs.schema import polars_schema
from claude_gw.logs.shapes import GATEWAY_SHAPES, normalise, raw_dtype
from claude_gw.logs.sources import Input

SLICE_LINES = 200_000  # lines decoded and normalised at a time (bounds the working memory)
BLOCK_BYTES = 64 << 20  # bytes of whole lines per block when scanning lazily

DETAILS = {
    Problem.NO_AI: "the record has no `ai` key",
    Problem.UNKNOWN_AI_SHAPE: "`ai` has none of proxy, ai-proxy, ai-proxy-advanced, meta, usage",
    Problem.UNKNOWN_GATEWAY_VERSION: f"`claude_gw.v` is not one of {sorted(GATEWAY_SHAPES)}",
}


@dataclass(frozen=True)
class Pipeline:
    """How to turn lines into rows: with or without payload columns, strict or forgiving."""

    payloads: bool = False
    strict: bool = False

    @property
    def schema(self) -> pl.Schema:
        return polars_schema(payloads=self.payloads)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def process(self, lines: pl.DataFrame, where: Where) -> tuple[pl.DataFrame, list[LineIssue]]:
        """The rows of the schema for `lines` (`source_line`, `line`), and the issues in line
        order. Strict: raises `LogFormatError` for the first line that would be skipped."""
        decoded, issues = decode_lines(lines, raw_dtype(payloads=self.payloads), where)
        staged = decoded.lazy().with_columns(source_file=pl.lit(where.file, pl.String()))
        frame = normalise(staged, payloads=self.payloads).collect()
        issues += _issues(frame, where.file)
        issues.sort(key=lambda issue: issue.line)
        if self.strict and (bad := next((i for i in issues if i.problem.skips), None)):
            raise LogFormatError(bad)
        keep = frame.filter(pl.col("_problem").is_null()).drop("_problem", "_repair")
        return keep, issues

    def load(self, item: Input, report: LoadReport) -> Iterator[tuple[pl.DataFrame, float]]:
        """The rows of one input, slice by slice, counted into `report`, each with the share
        of the input's lines done."""
        lines = item.read_lines()
        where = Where(item.name, lines.height, item.unterminated() if lines.height else False)
        for offset in range(0, lines.height, SLICE_LINES):
            part = lines.slice(offset, SLICE_LINES)
            frame, issues = self.process(part, where)
            _count(report, part.height, frame.height, issues)
            yield frame, (offset + part.height) / lines.height

    def scan(self, item: Input, block_bytes: int = BLOCK_BYTES) -> Iterator[pl.DataFrame]:
        """The rows of one input, block by block (memory holds one block at a time)."""
        for lines, unterminated in item.blocks(block_bytes):
            last = int(lines["source_line"][-1]) if unterminated else None
            yield self.process(lines, Where(item.name, last, unterminated))[0]


def _issues(frame: pl.DataFrame, file: str) -> list[LineIssue]:
    """Skipped records (`_problem`) and loaded ones that needed a repair (`_repair`)."""
    marked = frame.filter(pl.col("_problem").is_not_null() | pl.col("_repair").is_not_null())
    issues = []
    for line, problem, repair in marked.select("source_line", "_problem", "_repair").iter_rows():
        if problem is not None:
            issues.append(LineIssue(file, line, Problem(problem), DETAILS[Problem(problem)]))
        else:
            issues.append(LineIssue(file, line, Problem.REPAIRED, repair))
    return issues


def _count(report: LoadReport, read: int, loaded: int, issues: list[LineIssue]) -> None:
    report.lines_read += read
    report.records_loaded += loaded
    for issue in issues:
        report.add(issue)
