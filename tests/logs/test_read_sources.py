"""What a source can be (claude_gw/logs/sources.py): a path, gzip, a directory, a glob, a
list, an open text or binary stream."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from claude_gw.logs import Problem, load_logs, read_logs
from tests.logs.logfactory import kong_line, kong_records

RECORDS = [kong_line(record) for record in kong_records()]


def content(first: int, count: int) -> bytes:
    return b"".join(line + b"\n" for line in RECORDS[first : first + count])


def ids(first: int, count: int) -> list[str]:
    return [record["request"]["id"] for record in kong_records()[first : first + count]]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A directory: two plain logs, a gzipped one, and files a directory read ignores."""
    (tmp_path / "b.json").write_bytes(content(3, 3))
    (tmp_path / "a.jsonl").write_bytes(content(0, 3))
    (tmp_path / "c.ndjson.gz").write_bytes(gzip.compress(content(6, 4)))
    (tmp_path / "notes.txt").write_bytes(content(10, 1))
    (tmp_path / "claude.json.1").write_bytes(content(11, 1))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.json").write_bytes(content(12, 1))
    return tmp_path


def test_a_directory_reads_its_json_files_and_their_gz_sorted_by_name(logs: Path) -> None:
    frame, report = load_logs(logs)
    assert report.files == [str(logs / "a.jsonl"), str(logs / "b.json"), str(logs / "c.ndjson.gz")]
    assert frame["request_id"].to_list() == ids(0, 10)
    assert frame.group_by("source_file", maintain_order=True).len()["len"].to_list() == [3, 3, 4]


def test_a_glob_reads_its_matches_sorted_by_name(logs: Path) -> None:
    frame = read_logs(str(logs / "*.json*"))
    assert frame["source_file"].unique(maintain_order=True).to_list() == [
        str(logs / "a.jsonl"),
        str(logs / "b.json"),
        str(logs / "claude.json.1"),  # a rotated log: a glob reaches what a directory does not
    ]


def test_a_list_keeps_its_order_and_reads_a_file_once(logs: Path) -> None:
    frame = read_logs([logs / "b.json", str(logs / "a.jsonl"), logs / "b.json"])
    assert frame["request_id"].to_list() == ids(3, 3) + ids(0, 3)


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(gzip.compress(content(0, 2)))
    assert read_logs(path)["request_id"].to_list() == ids(0, 2)


def test_a_gzip_file_cut_short_gives_what_it_holds(tmp_path: Path) -> None:
    # A log copied while it was being compressed: the gzip stream ends early.
    path = tmp_path / "claude.json.gz"
    compressed = gzip.compress(content(0, 13) * 20)
    path.write_bytes(compressed[: len(compressed) // 2])
    frame, report = load_logs(path)
    assert 0 < frame.height < 13 * 20
    assert report.lines_read == frame.height + report.lines_skipped
    assert set(report.skipped) <= {Problem.TRUNCATED_LINE}


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(io.StringIO(content(0, 2).decode()), id="text"),
        pytest.param(io.BytesIO(content(0, 2)), id="binary"),
    ],
)
def test_an_open_stream_is_read_and_named_stream(stream: Any) -> None:
    frame = read_logs(stream)
    assert frame["request_id"].to_list() == ids(0, 2)
    assert set(frame["source_file"]) == {"<stream>"}


def test_an_open_file_is_named_by_its_path(logs: Path) -> None:
    with (logs / "b.json").open(encoding="utf-8") as file:
        frame = read_logs(file)
    assert set(frame["source_file"]) == {str(logs / "b.json")}


def test_an_empty_directory_is_an_empty_source(tmp_path: Path) -> None:
    frame, report = load_logs(tmp_path)
    assert frame.height == 0 and report.files == []


@pytest.mark.parametrize(
    "name",
    [pytest.param("missing.json", id="missing_file"), pytest.param("*.nothing", id="empty_glob")],
)
def test_a_source_that_names_nothing_raises_file_not_found(tmp_path: Path, name: str) -> None:
    with pytest.raises(FileNotFoundError, match=r"no file matches|no such log file"):
        read_logs(str(tmp_path / name))


def test_an_unknown_engine_is_refused(logs: Path) -> None:
    with pytest.raises(ValueError, match="engine"):
        read_logs(logs, engine="spark")  # type: ignore[arg-type]  # the unknown engine under test
