"""The log benchmark's DuckDB contender (bench/duck.py, bench/contenders.py) reads what
`read_logs` reads, on a small generated file; nothing here is timed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bench import contenders, duck
from bench.gen_logs import generate
from claude_gw.logs import read_logs
from claude_gw.logs.schema import polars_schema

N = 3000


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N generated lines (every shape, 1 % bad lines, the last one cut), seed 5."""
    path = tmp_path_factory.mktemp("duck") / "claude.json"
    generate(path, N, seed=5)
    return path


def as_read_logs(frame: pl.DataFrame, like: pl.DataFrame) -> pl.DataFrame:
    """DuckDB's frame in read_logs' dtypes (its timestamps are microseconds in Etc/UTC)."""
    if "time" in frame.columns:
        frame = frame.with_columns(
            pl.col("time").dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
        )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in like.schema.items())


def test_duckdb_gives_read_logs_frame_column_for_column(log: Path) -> None:
    expected = read_logs(log, cost="logged")
    got = duck.read(str(log), threads=1)
    assert got.columns == expected.columns
    assert_frame_equal(as_read_logs(got, expected), expected)


def test_duckdb_gives_the_twelve_columns_of_read_logs(log: Path) -> None:
    expected = read_logs(log, columns=list(duck.COLUMNS_12), cost="logged")
    got = duck.read(str(log), duck.COLUMNS_12, threads=2)
    assert_frame_equal(as_read_logs(got, expected), expected)


def test_the_skipped_lines_are_the_bad_ones_and_the_record_without_ai(log: Path) -> None:
    kept = duck.read(str(log), ["source_line"], threads=1)["source_line"]
    assert kept.to_list() == read_logs(log, columns=["source_line"])["source_line"].to_list()
    assert N - kept.len() == round(N * 0.01)  # 1 % bad lines, the cut last line among them


def test_a_column_without_sql_is_refused() -> None:
    with pytest.raises(ValueError, match="no SQL"):
        duck.query("x.json", ["time", "price"])


@pytest.mark.parametrize(
    "name", ["duckdb_columns", "duckdb_full", "read_logs_columns", "read_logs_logged"]
)
def test_the_contenders_run_in_process_and_describe_their_frame(log: Path, name: str) -> None:
    report = contenders.measure(name, str(log))
    columns = 12 if "columns" in name else len(polars_schema())
    assert report["ok"] and (report["rows"], report["columns"]) == (N - round(N * 0.01), columns)
    assert report["cpu_s"] > 0 and report["peak_kb"] >= report["baseline_kb"]


def test_duckdb_uses_as_many_threads_as_read_logs_decodes_with() -> None:
    from claude_gw.logs.frames import WORKERS

    assert contenders.duckdb_threads() == WORKERS
    con = duck.connect(contenders.duckdb_threads())
    assert con.sql("select current_setting('threads')").fetchall() == [(WORKERS,)]
