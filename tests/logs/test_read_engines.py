"""One schema, two engines (claude_gw/logs/schema.py, read.py): the same frame from polars and
pandas, Parquet round trips, the documented table, and a gateway that never loads them."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import claude_gw.logs
from claude_gw.logs import load_logs, read_logs, read_parquet, schema, to_parquet
from claude_gw.logs.schema import SCHEMA, pandas_dtypes, polars_schema, to_pandas, to_polars
from tests.logs.logfactory import write_mixed_log

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 lines of every shape (claude_gw and every Kong version), 5 % bad."""
    path = tmp_path_factory.mktemp("mixed") / "claude.json"
    return write_mixed_log(path, 400, seed=7, bad_fraction=0.05)


def python_values(column: Any) -> list[Any]:
    """A pandas or polars column as plain Python values, missing values as None."""
    if isinstance(column, pl.Series):
        return column.to_list()
    values = column.astype(object).tolist()
    return [None if v is None or v is pd.NA or v is pd.NaT else _plain(v) for v in values]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


@pytest.mark.parametrize("payloads", [False, True], ids=["columns", "with_payloads"])
def test_both_engines_give_the_same_values_with_the_documented_dtypes(
    mixed: Path, payloads: bool
) -> None:
    polars_frame, polars_report = load_logs(mixed, payloads=payloads)
    pandas_frame, pandas_report = load_logs(mixed, engine="pandas", payloads=payloads)
    assert polars_frame.schema == polars_schema(payloads=payloads)
    assert dict(pandas_frame.dtypes) == pandas_dtypes(payloads=payloads)
    assert list(pandas_frame.columns) == polars_frame.columns
    assert pandas_report == polars_report
    for name in polars_frame.columns:
        assert python_values(pandas_frame[name]) == python_values(polars_frame[name]), name
    assert_frame_equal(to_polars(pandas_frame), polars_frame)


def test_every_shape_and_many_nulls_are_in_the_mixed_log(mixed: Path) -> None:
    frame = read_logs(mixed)
    assert set(frame["shape"]) == set(schema.SHAPES)  # the comparison above covers them all
    assert frame["cost"].null_count() > 0 and frame["stream"].null_count() > 0


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_parquet_round_trip_gives_the_same_frame(mixed: Path, tmp_path: Path, engine: Any) -> None:
    frame = read_logs(mixed, engine=engine, payloads=True)
    to_parquet(frame, tmp_path / "logs.parquet")
    back = read_parquet(tmp_path / "logs.parquet", engine=engine)
    if engine == "polars":
        assert_frame_equal(back, frame)
    else:
        pd.testing.assert_frame_equal(back, frame)


def test_a_parquet_file_written_by_one_engine_reads_in_the_other(
    mixed: Path, tmp_path: Path
) -> None:
    to_parquet(read_logs(mixed, engine="pandas"), tmp_path / "logs.parquet")
    assert_frame_equal(read_parquet(tmp_path / "logs.parquet"), read_logs(mixed))


@pytest.mark.parametrize("mode", ["auto", "calculate", "logged"])
@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_parquet_read_with_a_cost_mode_equals_the_log_read_with_it(
    mixed: Path, tmp_path: Path, engine: Any, mode: Any
) -> None:
    to_parquet(read_logs(mixed, cost="logged"), tmp_path / "logs.parquet")
    back = read_parquet(tmp_path / "logs.parquet", engine=engine, cost=mode)
    expected = read_logs(mixed, engine=engine, cost=mode)
    if engine == "polars":
        assert_frame_equal(back, expected)
    else:
        pd.testing.assert_frame_equal(back, expected)


def test_parquet_read_refuses_an_unknown_cost_mode(mixed: Path, tmp_path: Path) -> None:
    to_parquet(read_logs(mixed), tmp_path / "logs.parquet")
    with pytest.raises(ValueError, match="cost"):
        read_parquet(tmp_path / "logs.parquet", cost="cheapest")  # type: ignore[arg-type]  # under test


def test_pandas_and_polars_convert_into_each_other_without_loss(mixed: Path) -> None:
    frame = read_logs(mixed)
    assert_frame_equal(to_polars(to_pandas(frame)), frame)


def test_the_schema_table_in_the_docstring_is_the_schema() -> None:
    doc = schema.__doc__ or ""
    rows = re.findall(r"^\| (\w+) \| (time|str|int|float|bool|enum) \|", doc, re.MULTILINE)
    documented = [(name, kind) for name, kind in rows]
    expected = [(c.name, c.kind) for c in SCHEMA + schema.PAYLOAD_SCHEMA]
    assert documented == expected


def test_progress_reports_bytes_up_to_the_total(mixed: Path, tmp_path: Path) -> None:
    other = tmp_path / "b.json"
    other.write_bytes(mixed.read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n")
    calls: list[tuple[int, int]] = []
    read_logs([mixed, other], progress=lambda done, total: calls.append((done, total)))
    total = mixed.stat().st_size + other.stat().st_size
    assert calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_true_shows_a_bar_on_stderr(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_logs(mixed, progress=True)
    assert "100%" in capsys.readouterr().err


def test_the_package_exports_the_readers_lazily() -> None:
    assert set(claude_gw.logs.__all__) <= set(dir(claude_gw.logs)) | set(claude_gw.logs._EXPORTS)
    assert claude_gw.logs.read_logs is read_logs
    with pytest.raises(AttributeError):
        _ = claude_gw.logs.not_a_reader


def test_the_gateway_never_imports_the_analysis_libraries() -> None:
    code = (
        "import sys, claude_gw.logs, claude_gw.logs.writer, claude_gw.server.app, claude_gw.cli;"
        "loaded = {'polars', 'pandas', 'pyarrow'} & set(sys.modules);"
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
