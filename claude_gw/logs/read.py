"""Read claude.json logs (claude_gw's and Kong's, every version) into DataFrames.

    df = read_logs("claude.json")                     # polars, the schema of `schema.py`
    df = read_logs("logs/", engine="pandas")          # the same columns as pandas dtypes
    df, report = load_logs("logs/*.json*")            # ... and what was skipped, and why
    lf = scan_logs("logs/").filter(pl.col("requested_model") == "gpt-5")  # larger than memory

Design (one for both engines): `load_logs` returns `LoadResult(frame, report)`; `read_logs`
returns only the frame and logs the report's summary (WARNING when lines were skipped, INFO
otherwise) on the `claude_gw.logs.read` logger. `scan_logs` returns a polars LazyFrame
(a polars IO source) that reads the files only when collected, block by block; lines it skips
are not reported (load the files eagerly to see them), but `strict=True` still raises.

How (`frames.py`, `sources.py`, `decode_arrow.py`): each file is read as bytes, in blocks of
32 MiB of whole lines (gzip decompressed as it is read) into reused buffers; two threads decode
blocks while the next is read: the lines that are not object-like are parsed one by one in
Python (the bad lines), the others in one call of pyarrow's JSON reader with one explicit
schema listing the fields of every shape (the rest of each record is skipped), and the records
are normalised with polars expressions (`shapes.py`). A block pyarrow refuses (a value of an
unexpected type, text that is not UTF-8) is decoded line by line with polars' `json_decode`
instead (`decode.py`), which repairs what it can; both give the same rows. Memory holds a few
blocks and the result, never a whole file. The pandas engine is the same frame converted
column by column from Arrow to the documented pandas dtypes (`schema.to_pandas`).

How fast, against pandas, polars' own reader and DuckDB: `bench/README.md` (the log benchmark).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
from polars.io.plugins import register_io_source

from claude_gw.logs.cost_modes import CostMode, check_cost_mode, resolve_costs
from claude_gw.logs.frames import Pipeline, count
from claude_gw.logs.report import LoadReport
from claude_gw.logs.schema import conform_polars, to_pandas
from claude_gw.logs.sources import Input, Source, resolve

logger = logging.getLogger("claude_gw.logs.read")

Engine = Literal["polars", "pandas"]
Frame = Any  # a polars or a pandas DataFrame, as the engine says
Progress = Callable[[int, int], None]  # (bytes done, bytes in all) after each slice


@dataclass(frozen=True)
class LoadResult:
    """A loaded log: `frame` (polars or pandas) and the `report`; unpacks as a pair."""

    frame: Frame
    report: LoadReport

    def __iter__(self) -> Iterator[Any]:
        return iter((self.frame, self.report))


def load_logs(
    source: Source,
    *,
    engine: Engine = "polars",
    payloads: bool = False,
    strict: bool = False,
    progress: bool | Progress | None = None,
    cost: CostMode = "auto",
    columns: Sequence[str] | None = None,
) -> LoadResult:
    """Every record of `source` (see `sources.py` for what a source can be) as one frame of
    the documented schema, and the report of what was read and skipped.

    `payloads=True` adds the request/response payload columns. `strict=True` raises
    `LogFormatError` (file, line, problem) at the first line that would be skipped.
    `progress=True` shows a tqdm bar; a callable gets (bytes done, bytes in all).
    `cost` is the cost mode that sets the `cost` and `cost_source` columns: `"auto"` (the log's
    figure when it is a price, else computed from the tokens), `"calculate"` (always from the
    tokens) or `"logged"` (as written); see `claude_gw.logs.cost_modes`.
    `columns=[...]` gives only those columns of the schema, in that order, and decodes only
    the fields they read (faster); the rows, and the lines skipped, are the same as without
    it (a field of an unexpected type is repaired, and reported, only if it is decoded).
    Unknown or repeated names raise ValueError.
    """
    _check_engine(engine)
    check_cost_mode(cost)
    pipeline = Pipeline(payloads=payloads, strict=strict, cost=cost, columns=_columns(columns))
    inputs = resolve(source)
    report = LoadReport(files=[item.name for item in inputs])
    frames = list(_load_all(pipeline, inputs, report, _progress(progress, inputs)))
    frame = pl.concat(frames) if frames else pipeline.empty()
    return LoadResult(to_pandas(frame) if engine == "pandas" else frame, report)


def read_logs(
    source: Source,
    *,
    engine: Engine = "polars",
    payloads: bool = False,
    strict: bool = False,
    progress: bool | Progress | None = None,
    cost: CostMode = "auto",
    columns: Sequence[str] | None = None,
) -> Frame:
    """`load_logs(...).frame`; the report's summary goes to the log (WARNING if lines were
    skipped). Use `load_logs` to get the report itself."""
    result = load_logs(
        source,
        engine=engine,
        payloads=payloads,
        strict=strict,
        progress=progress,
        cost=cost,
        columns=columns,
    )
    level = logging.WARNING if result.report.lines_skipped else logging.INFO
    logger.log(level, "read_logs: %s", result.report.summary())
    return result.frame


def scan_logs(
    source: Source, *, payloads: bool = False, strict: bool = False, cost: CostMode = "auto"
) -> pl.LazyFrame:
    """A LazyFrame of the documented schema over `source`, for data larger than memory.

    The files are listed now and read when the frame is collected, in batches of lines; a
    filter is applied to each batch as it is normalised and only the selected columns (and
    those the filter reads) are decoded and computed, so memory holds one batch plus the
    result. Rows equal `read_logs`'s (with the same `cost` mode).
    """
    check_cost_mode(cost)
    inputs = resolve(source)
    pipeline = Pipeline(payloads=payloads, strict=strict, cost=cost)

    def batches(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        remaining = n_rows
        for decoded in _projected(pipeline, with_columns, predicate).run(inputs):
            frame = decoded.frame
            if predicate is not None:
                frame = frame.filter(predicate)
            if with_columns is not None:
                frame = frame.select(with_columns)
            if remaining is not None:
                frame = frame.head(remaining)
                remaining -= frame.height
            yield frame
            if remaining == 0:
                return

    return register_io_source(batches, schema=pipeline.schema, explain_name="claude.json")


def to_parquet(frame: Frame, path: str | os.PathLike[str]) -> None:
    """Write a loaded log (polars or pandas) to Parquet; `read_parquet` gives it back equal."""
    if not isinstance(frame, pl.DataFrame):
        from claude_gw.logs.schema import to_polars

        frame = to_polars(frame)
    frame.write_parquet(Path(path))


def read_parquet(
    path: str | os.PathLike[str], *, engine: Engine = "polars", cost: CostMode | None = None
) -> Frame:
    """A log written by `to_parquet`, with the documented dtypes for `engine`; `cost` (a
    cost mode, as for `read_logs`) re-resolves `cost` and `cost_source` from the stored
    columns, None keeps them as written."""
    _check_engine(engine)
    if cost is not None:
        check_cost_mode(cost)
    frame = conform_polars(pl.read_parquet(Path(path)))
    if cost is not None:
        frame = resolve_costs(frame, cost)
    return to_pandas(frame) if engine == "pandas" else frame


def _columns(columns: Sequence[str] | None) -> tuple[str, ...] | None:
    if isinstance(columns, str):
        raise TypeError("columns must be a list of column names, not one string")
    return None if columns is None else tuple(columns)


def _projected(
    pipeline: Pipeline, with_columns: list[str] | None, predicate: pl.Expr | None
) -> Pipeline:
    """`pipeline` computing only what a scan selects and filters on (all when it selects all)."""
    if not with_columns:
        return pipeline
    needed = list(with_columns)
    if predicate is not None:
        needed += [name for name in predicate.meta.root_names() if name not in needed]
    return replace(pipeline, columns=tuple(needed))


def _check_engine(engine: str) -> None:
    if engine not in ("polars", "pandas"):
        raise ValueError(f"engine must be 'polars' or 'pandas', not {engine!r}")


def _load_all(
    pipeline: Pipeline, inputs: list[Input], report: LoadReport, progress: Progress | None
) -> Iterator[pl.DataFrame]:
    sizes = [item.size for item in inputs]
    before = [sum(sizes[:index]) for index in range(len(sizes))]
    for decoded in pipeline.run(inputs):
        count(report, decoded)
        yield decoded.frame
        if progress is not None:
            done = before[decoded.input_index] + int(
                sizes[decoded.input_index] * decoded.block.done
            )
            progress(done, sum(sizes))
    if progress is not None:
        progress(sum(sizes), sum(sizes))


def _progress(progress: bool | Progress | None, inputs: list[Input]) -> Progress | None:
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    tqdm = importlib.import_module("tqdm.auto").tqdm
    bar = tqdm(total=sum(item.size for item in inputs), unit="B", unit_scale=True)

    def advance(done: int, total: int) -> None:
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return advance
