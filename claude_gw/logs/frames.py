"""Lines -> frames of the schema, plus the issues found: the core that `load_logs` and
`scan_logs` share, so that both give the same rows by construction.

`Pipeline.process` turns one block of lines into rows (`decode.decode_lines`, then
`shapes.normalise`); `Pipeline.run` does it for every block of every input, in parallel and in
order. Measured on 2 vCPUs (100k records of ~3.4 kB, see `read.py`): one block of 16k lines
normalises in ~40 ms; blocks of 4k lines (the default, for memory) cost ~10 % more CPU.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from claude_gw.logs.cost_modes import CostMode, resolve_costs
from claude_gw.logs.decode import Where, decode_lines
from claude_gw.logs.report import LineIssue, LoadReport, LogFormatError, Problem
from claude_gw.logs.schema import polars_schema
from claude_gw.logs.shapes import GATEWAY_SHAPES, normalise, raw_dtype
from claude_gw.logs.sources import BLOCK_LINES, Block, Input

WORKERS = max(1, min(4, os.cpu_count() or 1))  # blocks decoded at the same time

DETAILS = {
    Problem.NO_AI: "the record has no `ai` key",
    Problem.UNKNOWN_AI_SHAPE: "`ai` has none of proxy, ai-proxy, ai-proxy-advanced, meta, usage",
    Problem.UNKNOWN_GATEWAY_VERSION: f"`claude_gw.v` is not one of {sorted(GATEWAY_SHAPES)}",
}


@dataclass(frozen=True)
class Pipeline:
    """How to turn lines into rows: with or without payload columns, strict or forgiving, and
    the cost mode that sets `cost` and `cost_source` (`cost_modes.py`)."""

    payloads: bool = False
    strict: bool = False
    cost: CostMode = "auto"

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
        return resolve_costs(keep, self.cost), issues

    def run(self, inputs: list[Input], block_lines: int = BLOCK_LINES) -> Iterator[Decoded]:
        """Every block of every input, decoded, in order. Polars reads blocks ahead in the
        background; `WORKERS` threads decode them (`json_decode` runs on one core and polars
        releases the GIL), across file boundaries; memory holds a few blocks at a time."""
        blocks = (
            (index, item, block)
            for index, item in enumerate(inputs)
            for block in item.blocks(block_lines)
        )
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="claude_gw-decode") as pool:
            pending: deque[tuple[int, Block, Future[tuple[pl.DataFrame, list[LineIssue]]]]]
            pending = deque()
            try:
                for index, item, block in blocks:
                    pending.append((index, block, pool.submit(self._process, item, block)))
                    if len(pending) > WORKERS:
                        yield _decoded(*pending.popleft())
                while pending:
                    yield _decoded(*pending.popleft())
            finally:
                for _, _, future in pending:
                    future.cancel()

    def _process(self, item: Input, block: Block) -> tuple[pl.DataFrame, list[LineIssue]]:
        last = int(block.lines["source_line"][-1]) if block.last and block.lines.height else None
        return self.process(block.lines, Where(item.name, last, item.unterminated))


class Decoded(NamedTuple):
    """One block's rows and issues; `input_index` is its input's position in the list."""

    input_index: int
    block: Block
    frame: pl.DataFrame
    issues: list[LineIssue]


def _decoded(
    index: int, block: Block, future: Future[tuple[pl.DataFrame, list[LineIssue]]]
) -> Decoded:
    frame, issues = future.result()
    return Decoded(index, block, frame, issues)


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


def count(report: LoadReport, decoded: Decoded) -> None:
    """Add one decoded block's lines, records and issues to `report`."""
    report.lines_read += decoded.block.lines.height
    report.records_loaded += decoded.frame.height
    for issue in decoded.issues:
        report.add(issue)
