"""Bad lines: skipped and counted by reason with file and line (claude_gw/logs/decode.py,
frames.py, report.py), or refused in strict mode; repaired fields; an empty file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from claude_gw.logs import LoadReport, LogFormatError, Problem, load_logs, read_logs
from claude_gw.logs.decode import LEAF_LINES, PIECE_LINES
from claude_gw.logs.schema import SCHEMA, pandas_dtypes, polars_schema
from tests.logs.logfactory import bad_lines, kong_line, kong_records

GOOD = kong_line(kong_records()[0])
BAD = bad_lines()
BAD_CASES = [pytest.param(line, problem, id=kind) for kind, (line, problem) in BAD.items()]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def lines(*items: bytes) -> bytes:
    return b"".join(item + b"\n" for item in items)


def with_id(number: int) -> bytes:
    record = kong_records()[0]
    record["request"]["id"] = f"{number:032x}"
    return kong_line(record)


@pytest.mark.parametrize(("line", "problem"), BAD_CASES)
def test_a_bad_line_is_skipped_and_reported_with_file_and_line(
    tmp_path: Path, line: bytes, problem: Problem
) -> None:
    path = write(tmp_path / "claude.json", lines(with_id(1), line, with_id(3)))
    frame, report = load_logs(path)
    assert frame["request_id"].to_list() == [f"{1:032x}", f"{3:032x}"]
    assert frame["source_line"].to_list() == [1, 3]
    assert (report.lines_read, report.records_loaded, report.lines_skipped) == (3, 2, 1)
    assert report.skipped == {problem: 1}
    (issue,) = report.examples
    assert (issue.file, issue.line, issue.problem) == (str(path), 2, problem)
    assert line.strip()[:30].decode() not in issue.detail or not line.strip()  # no content


@pytest.mark.parametrize(("line", "problem"), BAD_CASES)
def test_strict_mode_refuses_a_bad_line_naming_file_line_and_problem(
    tmp_path: Path, line: bytes, problem: Problem
) -> None:
    path = write(tmp_path / "claude.json", lines(GOOD, GOOD, line, GOOD))
    with pytest.raises(LogFormatError) as caught:
        load_logs(path, strict=True)
    assert (caught.value.file, caught.value.line, caught.value.problem) == (str(path), 3, problem)
    assert f"{path}:3: {problem.value}" in str(caught.value)


def test_a_cut_off_last_line_without_newline_is_truncated(tmp_path: Path) -> None:
    path = write(tmp_path / "claude.json", lines(GOOD, GOOD) + GOOD[:700])
    frame, report = load_logs(path)
    assert frame.height == 2
    assert report.skipped == {Problem.TRUNCATED_LINE: 1}
    assert report.examples[0].line == 3


def test_the_same_cut_line_followed_by_a_newline_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path / "claude.json", lines(GOOD, GOOD[:700], GOOD))
    assert load_logs(path).report.skipped == {Problem.NOT_JSON: 1}


def test_a_whole_last_record_without_newline_is_loaded(tmp_path: Path) -> None:
    frame, report = load_logs(write(tmp_path / "claude.json", lines(GOOD) + GOOD))
    assert frame.height == 2 and report.lines_skipped == 0


def test_a_gzipped_truncated_last_line_is_truncated_too(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "claude.json.gz"
    path.write_bytes(gzip.compress(lines(GOOD) + GOOD[:300]))
    assert load_logs(path).report.skipped == {Problem.TRUNCATED_LINE: 1}


def test_every_line_is_either_loaded_or_counted(tmp_path: Path) -> None:
    content = lines(*[GOOD, *(line for line, _ in BAD.values()), GOOD] * 3) + GOOD[:100]
    frame, report = load_logs(write(tmp_path / "claude.json", content))
    assert report.lines_read == content.count(b"\n") + 1
    assert report.lines_read == report.records_loaded + report.lines_skipped
    assert report.records_loaded == frame.height == 6
    per_problem = {p: n for p, n in report.skipped.items()}
    assert per_problem[Problem.NOT_JSON] == 4 * 3 and per_problem[Problem.TRUNCATED_LINE] == 1
    assert len([i for i in report.examples if i.problem == Problem.NOT_JSON]) == 5  # first five
    assert "skipped" in report.summary() and str(report).count("\n") == len(report.examples)


def test_bad_lines_among_thousands_leave_every_good_line_in_place(tmp_path: Path) -> None:
    # A failing `json_decode` piece is decoded again in parts; the rows must stay aligned.
    total = PIECE_LINES * 2 + LEAF_LINES * 3
    bad_at = {7, PIECE_LINES - 1, PIECE_LINES + 5, total - 2}
    tricky = [BAD[kind][0] for kind in ("two_objects_comma", "cut_object_like", "two_objects")]
    content = [tricky[n % 3] if n in bad_at else small(n) for n in range(1, total + 1)]
    frame, report = load_logs(write(tmp_path / "claude.json", lines(*content)))
    assert report.lines_skipped == len(bad_at)
    good = [n for n in range(1, total + 1) if n not in bad_at]
    assert frame["source_line"].to_list() == good
    assert frame["request_id"].to_list() == [f"{n:032x}" for n in good]


def small(number: int) -> bytes:
    """A minimal Kong 3.9+ record with request id `number`."""
    record = {
        "request": {"id": f"{number:032x}", "uri": "/v1/messages"},
        "response": {"status": 200},
        "started_at": 1765380312418 + number,
        "ai": {"proxy": {"meta": {"request_model": "gpt-5"}, "usage": {"prompt_tokens": 1}}},
    }
    return orjson.dumps(record)


# --------------------------------------------------------------------------- repairs


def repaired(record: dict[str, Any], tmp_path: Path) -> tuple[dict[str, Any], LoadReport]:
    frame, report = load_logs(write(tmp_path / "claude.json", lines(GOOD, orjson.dumps(record))))
    assert frame.height == 2
    return frame.row(1, named=True), report


@pytest.mark.parametrize(
    ("change", "column", "value"),
    [
        pytest.param(
            {"request": {"headers": {"user-agent": ["claude-cli/2.1.331 (x)", "curl/8"]}}},
            "client_version",
            "2.1.331",
            id="repeated_header_is_a_list",
        ),
        pytest.param({"started_at": "1765380312418"}, "source_line", 2, id="number_as_text"),
        pytest.param(
            {"response": {"status": "429"}}, "error_type", "rate_limit_error", id="status_as_text"
        ),
        pytest.param({"latencies": "fast"}, "latency_ms", None, id="object_as_text"),
        pytest.param({"started_at": {"ms": 1}}, "time", None, id="number_as_object"),
    ],
)
def test_a_field_of_an_unexpected_type_is_repaired_and_the_record_loaded(
    tmp_path: Path, change: dict[str, Any], column: str, value: Any
) -> None:
    record = merge(kong_records()[0], change)
    row, report = repaired(record, tmp_path)
    assert row[column] == value
    assert report.lines_skipped == 0 and report.lines_repaired == 1
    (issue,) = report.examples
    assert (issue.line, issue.problem) == (2, Problem.REPAIRED) and "->" in issue.detail


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = merge(base[key], value)
        else:
            merged[key] = value
    return merged


def test_strict_mode_loads_a_repaired_record(tmp_path: Path) -> None:
    record = merge(kong_records()[0], {"response": {"status": "429"}})
    frame = read_logs(write(tmp_path / "claude.json", lines(orjson.dumps(record))), strict=True)
    assert frame["status"].to_list() == [429]


def test_a_number_where_kong_writes_text_needs_no_repair(tmp_path: Path) -> None:
    record = kong_records()[0] | {"upstream_status": 200}
    frame, report = load_logs(write(tmp_path / "claude.json", lines(orjson.dumps(record))))
    assert frame["upstream_status"].to_list() == [200] and report.problems == {}


def test_an_ai_subtree_that_is_not_an_object_is_an_unknown_shape(tmp_path: Path) -> None:
    record = kong_records()[0] | {"ai": "proxy"}
    _, report = load_logs(write(tmp_path / "claude.json", lines(GOOD, orjson.dumps(record))))
    assert report.skipped == {Problem.UNKNOWN_AI_SHAPE: 1} and report.lines_repaired == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lines(b"  " + GOOD + b"  "), id="surrounding_spaces"),
        pytest.param(GOOD + b"\r\n", id="crlf"),
        pytest.param(
            GOOD.replace(b"kong-local-placeholder", b"\xff\xfe-bad-utf8") + b"\n",
            id="bad_utf8_in_a_value",
        ),
    ],
)
def test_odd_but_whole_lines_load(tmp_path: Path, content: bytes) -> None:
    frame, report = load_logs(write(tmp_path / "claude.json", content))
    assert frame.height == 1 and report.lines_skipped == 0


def test_a_line_cut_inside_a_utf8_character_is_skipped_alone(tmp_path: Path) -> None:
    cut = '{"request": {"id": "é'.encode()[:-1]
    frame, report = load_logs(write(tmp_path / "claude.json", lines(GOOD, cut, GOOD)))
    assert frame.height == 2 and report.skipped == {Problem.NOT_JSON: 1}


# --------------------------------------------------------------------------- empty


@pytest.mark.parametrize(
    "content", [pytest.param(b"", id="empty"), pytest.param(b"\n\n", id="blank_lines")]
)
def test_an_empty_file_gives_an_empty_frame_with_the_full_schema(
    tmp_path: Path, content: bytes
) -> None:
    path = write(tmp_path / "claude.json", content)
    frame = read_logs(path)
    assert frame.height == 0 and frame.schema == polars_schema()
    pandas_frame = read_logs(path, engine="pandas")
    assert len(pandas_frame) == 0 and dict(pandas_frame.dtypes) == pandas_dtypes()
    assert read_logs(path, payloads=True).columns == [c.name for c in SCHEMA] + [
        "request_payload",
        "response_payload",
    ]


def test_the_report_counts_files_even_when_they_hold_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "claude.json", b"")
    report = load_logs(path).report
    assert (report.files, report.lines_read, report.records_loaded) == ([str(path)], 0, 0)
    assert report.summary() == "1 file(s), 0 line(s) read, 0 record(s) loaded"


def test_read_logs_logs_a_warning_when_lines_were_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "claude.json", lines(GOOD, b"oops"))
    with caplog.at_level("INFO", logger="claude_gw.logs.read"):
        read_logs(path)
    (record,) = caplog.records
    assert record.levelname == "WARNING" and "1 not_json" in record.getMessage()


def test_polars_frames_of_bad_and_good_files_concatenate(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", lines(GOOD))
    second = write(tmp_path / "b.json", lines(b"[]"))
    frame = read_logs([first, second])
    assert pl.concat([frame, read_logs(second)]).height == 1
