"""Lines -> frames of the schema, plus the issues found: the core that `load_logs` and
`scan_logs` share, so that both give the same rows by construction.

`Pipeline.process_block` turns one block of bytes into rows (`decode_arrow.decode_block`, then
`shapes.normalise`), `Pipeline.process` a frame of lines (`decode.decode_lines`, then the
same); `Pipeline.run` does it for every block of every input, in parallel and in order.
Normalising costs about the same per block whatever its size (planning the ~40 expressions),
hence blocks of 32 MiB run on the in-memory engine (`bench/README.md` has the figures).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import polars as pl

from claude_gw.logs.cost_modes import CostMode, resolve_costs
from claude_gw.logs.decode import Where, decode_lines
from claude_gw.logs.decode_arrow import decode_block
from claude_gw.logs.report import LineIssue, LoadReport, LogFormatError, Problem
from claude_gw.logs.schema import polars_schema
from claude_gw.logs.shapes import GATEWAY_SHAPES, need_of, normalise, raw_dtype
from claude_gw.logs.sources import BLOCK_BYTES, BLOCK_LINES, Block, Buffers, Input

WORKERS = max(1, min(4, os.cpu_count() or 1))  # blocks decoded at the same time

COSTS = {"cost", "cost_source"}  # resolved from other columns (`cost_modes.resolve_costs`)
COST_INPUTS = (
    "time",
    "endpoint",
    "status",
    "request_model",
    "response_model",
    "provider",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "logged_cost",
    "cost",
    "cost_source",
    "error_type",
    "shape",
)
LOGGED_COST_INPUTS = ("logged_cost", "cost", "cost_source")  # `resolve_costs(..., "logged")`
DETAILS = {
    Problem.NO_AI: "the record has no `ai` key",
    Problem.UNKNOWN_AI_SHAPE: "`ai` has none of proxy, ai-proxy, ai-proxy-advanced, meta, usage",
    Problem.UNKNOWN_GATEWAY_VERSION: f"`claude_gw.v` is not one of {sorted(GATEWAY_SHAPES)}",
}


@dataclass(frozen=True)
class Pipeline:
    """How to turn lines into rows: with or without payload columns, strict or forgiving, the
    cost mode that sets `cost` and `cost_source` (`cost_modes.py`), and every column of the
    schema or only `columns` (in that order; only the fields those read are decoded)."""

    payloads: bool = False
    strict: bool = False
    cost: CostMode = "auto"
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.columns is not None:
            check_columns(self.columns, payloads=self.payloads)

    @cached_property
    def computed(self) -> tuple[str, ...] | None:
        """The columns normalised: those asked for, and what their costs are resolved from
        (in the `logged` mode, only `logged_cost`)."""
        if self.columns is None or not COSTS & set(self.columns):
            return self.columns
        inputs = LOGGED_COST_INPUTS if self.cost == "logged" else COST_INPUTS
        return self.columns + tuple(c for c in inputs if c not in self.columns)

    @property
    def schema(self) -> pl.Schema:
        schema = polars_schema(payloads=self.payloads)
        if self.columns is None:
            return schema
        return pl.Schema({name: schema[name] for name in self.columns})

    @cached_property
    def dtype(self) -> pl.Struct:
        """The decode dtype (`shapes.raw_dtype`) of these columns."""
        return raw_dtype(payloads=self.payloads, need=need_of(self.computed))

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def process(self, lines: pl.DataFrame, where: Where) -> tuple[pl.DataFrame, list[LineIssue]]:
        """The rows of the schema for `lines` (`source_line`, `line`), and the issues in line
        order. Strict: raises `LogFormatError` for the first line that would be skipped."""
        return self._rows(*decode_lines(lines, self.dtype, where), where)

    def process_block(self, block: Block, where: Where) -> tuple[pl.DataFrame, list[LineIssue]]:
        """`process(block.lines, where)`, decoded from the block's bytes (`decode_arrow`)."""
        return self._rows(*decode_block(block, self.dtype, where), where)

    def _rows(
        self, decoded: pl.DataFrame, issues: list[LineIssue], where: Where
    ) -> tuple[pl.DataFrame, list[LineIssue]]:
        staged = decoded.lazy().with_columns(source_file=pl.lit(where.file, pl.String()))
        # (in memory: the streaming engine costs ~2x the CPU on blocks of a few thousand rows)
        frame = normalise(
            staged, payloads=self.payloads, columns=self.computed, dtype=self.dtype
        ).collect(engine="in-memory")
        issues += _issues(frame, where.file)
        issues.sort(key=lambda issue: issue.line)
        if self.strict and (bad := next((i for i in issues if i.problem.skips), None)):
            raise LogFormatError(bad)
        keep = frame.filter(pl.col("_problem").is_null()).drop("_line", "_problem", "_repair")
        if self.columns is not None and not COSTS & set(self.columns):
            return keep, issues
        keep = resolve_costs(keep, self.cost)
        return (keep if self.columns is None else keep.select(self.columns)), issues

    def run(
        self,
        inputs: list[Input],
        block_lines: int = BLOCK_LINES,
        block_bytes: int = BLOCK_BYTES,
    ) -> Iterator[Decoded]:
        """Every block of every input, decoded, in order. The next block is read while
        `WORKERS` threads decode the blocks before it (pyarrow and polars release the GIL,
        and decode a block on one core), across file boundaries; memory holds a few blocks
        at a time, and their buffers are reused."""
        buffers = Buffers(keep=WORKERS + 2)  # the blocks in flight, and one being read
        blocks = (
            (index, item, block)
            for index, item in enumerate(inputs)
            for block in item.blocks(block_lines, block_bytes, buffers)
        )
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="claude_gw-decode") as pool:
            pending: deque[tuple[int, Block, Future[tuple[pl.DataFrame, list[LineIssue]]]]]
            pending = deque()
            try:
                for index, item, block in blocks:
                    work = pool.submit(self._process, item, block, buffers)
                    pending.append((index, block, work))
                    if len(pending) > WORKERS:
                        yield _decoded(*pending.popleft())
                while pending:
                    yield _decoded(*pending.popleft())
            finally:
                for _, _, future in pending:
                    future.cancel()

    def _process(
        self, item: Input, block: Block, buffers: Buffers
    ) -> tuple[pl.DataFrame, list[LineIssue]]:
        last = block.last_line if block.last else None
        result = self.process_block(block, Where(item.name, last, item.unterminated))
        buffers.give(block.data)  # (the block's bytes are not read again)
        return result


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
    for line, problem, repair in marked.select("_line", "_problem", "_repair").iter_rows():
        if problem is not None:
            issues.append(LineIssue(file, line, Problem(problem), DETAILS[Problem(problem)]))
        else:
            issues.append(LineIssue(file, line, Problem.REPAIRED, repair))
    return issues


def check_columns(columns: tuple[str, ...], *, payloads: bool) -> None:
    """Raise ValueError unless `columns` are distinct columns of the schema (payload columns
    only with `payloads`)."""
    known = polars_schema(payloads=payloads)
    unknown = [name for name in columns if name not in known]
    if unknown:
        hint = " (payload columns need payloads=True)" if not payloads else ""
        raise ValueError(f"unknown columns {unknown}{hint}; the columns are {list(known)}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns named twice in {list(columns)}")


def count(report: LoadReport, decoded: Decoded) -> None:
    """Add one decoded block's lines, records and issues to `report`."""
    report.lines_read += decoded.block.count
    report.records_loaded += decoded.frame.height
    for issue in decoded.issues:
        report.add(issue)
