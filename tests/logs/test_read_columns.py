"""`columns=` (claude_gw/logs/read.py, frames.py, shapes.py `NEEDS`): only the columns asked
for, computed from only the fields they read, equal to the same columns of a full read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claude_gw.logs import CostMode, load_logs, read_logs, scan_logs
from claude_gw.logs.schema import polars_schema
from claude_gw.logs.shapes import NEEDS, need_of, raw_dtype
from tests.logs.logfactory import write_mixed_log

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
ANALYSIS = ["time", "session_id", "status", "requested_model", "response_model", "cost"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 lines of every shape (claude_gw and every Kong version), 5 % bad."""
    path = tmp_path_factory.mktemp("mixed") / "claude.json"
    return write_mixed_log(path, 400, seed=11, bad_fraction=0.05)


@pytest.mark.parametrize("column", list(polars_schema(payloads=True)))
def test_each_column_alone_equals_that_column_of_a_full_read(mixed: Path, column: str) -> None:
    full, report = load_logs([mixed, KONG], payloads=True)
    alone, alone_report = load_logs([mixed, KONG], payloads=True, columns=[column])
    assert_frame_equal(alone, full.select(column))
    assert alone_report.skipped == report.skipped and alone_report.lines_read == report.lines_read


def test_columns_come_in_the_order_asked(mixed: Path) -> None:
    frame = read_logs(mixed, columns=["cost", "time", "shape"])
    assert frame.columns == ["cost", "time", "shape"]
    assert_frame_equal(frame, read_logs(mixed).select("cost", "time", "shape"))


def test_the_pandas_engine_gives_the_same_columns(mixed: Path) -> None:
    frame = read_logs(mixed, engine="pandas", columns=ANALYSIS)
    expected = read_logs(mixed, engine="pandas")[ANALYSIS]
    pd.testing.assert_frame_equal(frame, expected)


def struct_fields(dtype: object) -> dict[str, Any]:
    assert isinstance(dtype, pl.Struct), dtype
    return dtype.to_schema()


def test_only_the_fields_the_columns_read_are_decoded() -> None:
    fields = raw_dtype(need=need_of(["time", "logged_cost"])).to_schema()
    assert set(fields) == {"started_at", "ai", "claude_gw"}  # no headers, request, latencies
    usage = struct_fields(struct_fields(struct_fields(fields["ai"])["proxy"])["usage"])
    assert "cost" in usage and "total_tokens" not in usage


@pytest.mark.parametrize("mode", ["auto", "calculate", "logged"])
def test_cost_columns_alone_are_resolved_as_in_a_full_read(mixed: Path, mode: CostMode) -> None:
    full = read_logs([mixed, KONG], cost=mode)
    alone = read_logs([mixed, KONG], cost=mode, columns=["cost_source", "cost"])
    assert_frame_equal(alone, full.select("cost_source", "cost"))


def test_every_column_of_the_schema_says_what_it_reads() -> None:
    assert set(NEEDS) == set(polars_schema(payloads=True))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(["cost", "price"], "unknown columns \\['price'\\]", id="unknown"),
        pytest.param(["cost", "cost"], "named twice", id="repeated"),
        pytest.param(["request_payload"], "payloads=True", id="payload_without_payloads"),
    ],
)
def test_bad_column_names_are_refused_before_reading(
    columns: list[str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        read_logs(tmp_path / "missing.json", columns=columns)


def test_one_string_instead_of_a_list_is_refused(mixed: Path) -> None:
    with pytest.raises(TypeError, match="list of column names"):
        read_logs(mixed, columns="cost")  # a str is a Sequence[str]: refused when it runs


def test_a_scan_decodes_only_what_it_selects_and_filters_on(mixed: Path) -> None:
    lazy = scan_logs(mixed).filter(pl.col("status") >= 400).select("time", "cost")
    expected = read_logs(mixed).filter(pl.col("status") >= 400).select("time", "cost")
    assert_frame_equal(lazy.collect(), expected)
