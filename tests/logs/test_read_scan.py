"""`scan_logs`: a LazyFrame over many files whose filters and projections reach the reader
(claude_gw/logs/read.py, frames.py), equal to `read_logs` filtered."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claude_gw.logs import LogFormatError, read_logs, scan_logs
from claude_gw.logs.frames import Pipeline
from claude_gw.logs.schema import SCHEMA, polars_schema
from claude_gw.logs.sources import resolve
from tests.logs.logfactory import write_mixed_log


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three logs of mixed shapes with bad lines; the last one gzipped and cut off."""
    folder = tmp_path_factory.mktemp("scan")
    paths = [write_mixed_log(folder / f"{n}.json", 300, seed=n) for n in range(3)]
    data = paths[2].read_bytes()
    paths[2].unlink()
    paths[2] = folder / "2.json.gz"
    paths[2].write_bytes(gzip.compress(data[:-200]))
    return paths


MODEL_AND_TIME = (pl.col("request_model") == "gpt-5") & (
    pl.col("time") >= datetime(2025, 12, 10, 15, 29, tzinfo=UTC)
)


def test_a_filter_on_model_and_time_over_several_files_equals_read_logs_filtered(
    files: list[Path],
) -> None:
    lazy = scan_logs(files).filter(MODEL_AND_TIME).select("time", "request_model", "cost")
    expected = read_logs(files).filter(MODEL_AND_TIME).select("time", "request_model", "cost")
    assert 0 < expected.height < read_logs(files).height
    assert_frame_equal(lazy.collect(), expected)
    assert_frame_equal(lazy.collect(engine="streaming"), expected)


def test_the_filter_and_the_columns_are_pushed_down_to_the_reader(files: list[Path]) -> None:
    plan = scan_logs(files).filter(MODEL_AND_TIME).select("time", "cost").explain()
    scan = plan[plan.index("SCAN") :]
    assert "SELECTION" in scan and '"gpt-5"' in scan  # the filter reaches the reader
    assert f"PROJECT 3/{len(SCHEMA)} COLUMNS" in scan  # only time, cost and the filtered model


def test_scanning_everything_equals_reading_everything(files: list[Path]) -> None:
    frame = scan_logs(files, payloads=True).collect()
    assert frame.schema == polars_schema(payloads=True)
    assert_frame_equal(frame, read_logs(files, payloads=True))


def test_head_stops_early_and_gives_the_first_rows(files: list[Path]) -> None:
    assert_frame_equal(scan_logs(files).head(5).collect(), read_logs(files).head(5))


def test_small_blocks_give_the_same_rows_as_one_read(files: list[Path]) -> None:
    blocks = pl.concat(decoded.frame for decoded in Pipeline().run(resolve(files), block_lines=7))
    assert_frame_equal(blocks, read_logs(files))


def test_strict_scanning_raises_at_the_first_bad_line(files: list[Path]) -> None:
    with pytest.raises(LogFormatError) as caught:
        scan_logs(files, strict=True).collect()
    assert caught.value.file == str(files[0])


def test_the_files_are_listed_when_the_scan_is_made(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        scan_logs(tmp_path / "missing.json")
