"""Blocks of bytes and their pyarrow decoding (claude_gw/logs/sources.py, decode_arrow.py):
the same rows, repairs and skipped-line reports as decoding the lines with `json_decode`
(`decode.decode_lines`, the path a block pyarrow refuses takes), whatever the lines hold."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claude_gw.logs import LoadReport, LogFormatError, decode_arrow, load_logs, scan_logs, sources
from claude_gw.logs.decode import decode_lines
from claude_gw.logs.frames import Pipeline
from claude_gw.logs.sources import Buffers, resolve
from tests.logs.logfactory import bad_lines, kong_line, kong_records, mixed_lines

GOOD = kong_line(kong_records()[0])
BAD = bad_lines()


@pytest.fixture
def json_decode_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block decoded as before pyarrow: its lines through `decode.decode_lines`."""
    monkeypatch.setattr(decode_arrow, "_read", lambda block, dtype, others: None)


@pytest.fixture
def pyarrow_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block pyarrow would refuse fails the test instead of going to `decode_lines`."""

    def refuse(*args: Any) -> None:
        raise AssertionError("the block went to decode_lines")

    monkeypatch.setattr(decode_arrow, "decode_lines", refuse)


def lines(*items: bytes) -> bytes:
    return b"".join(item + b"\n" for item in items)


def with_id(number: int) -> bytes:
    record = kong_records()[number % 13]
    record["request"]["id"] = f"{number:032x}"
    return kong_line(record)


def loaded(path: Path, **options: Any) -> tuple[Any, LoadReport]:
    frame, report = load_logs(path, **options)
    return frame, report


def same_load(path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> LoadReport:
    """Load `path` both ways and check the frames and the reports are equal."""
    fast, fast_report = loaded(path, **options)
    with monkeypatch.context() as patch:
        patch.setattr(decode_arrow, "_read", lambda block, dtype, others: None)
        slow, slow_report = loaded(path, **options)
    if isinstance(fast, pl.DataFrame):
        assert_frame_equal(fast, slow)
    else:
        assert fast.equals(slow) and list(fast.dtypes) == list(slow.dtypes)
    assert fast_report == slow_report
    return fast_report


# --------------------------------------------------------------------------- same as before


def every_bad_kind() -> bytes:
    body = [with_id(n) for n in range(1, 30)]
    for at, (line, _) in zip(range(2, 60, 3), BAD.values(), strict=False):
        body.insert(at, line)
    return lines(*body) + GOOD[:500]  # and a truncated last line


@pytest.mark.parametrize("engine", ["polars", "pandas"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_block_with_every_kind_of_bad_line_gives_the_rows_and_report_of_json_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, compress: bool
) -> None:
    data = every_bad_kind()
    path = tmp_path / "claude.json"
    path.write_bytes(gzip.compress(data) if compress else data)
    report = same_load(path, monkeypatch, engine=engine)
    assert report.records_loaded == 29
    assert sum(report.skipped.values()) == len(BAD) + 1 == report.lines_skipped


def test_mixed_shapes_in_many_small_blocks_give_the_rows_of_one_json_decode_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(b"".join(mixed_lines(400, seed=3, bad_fraction=0.05)))
    fast = pl.concat(d.frame for d in Pipeline().run(resolve(path), block_bytes=20_000))
    with monkeypatch.context() as patch:
        patch.setattr(decode_arrow, "_read", lambda block, dtype, others: None)
        slow = pl.concat(d.frame for d in Pipeline().run(resolve(path)))
    assert 300 < fast.height < 400
    assert_frame_equal(fast, slow)
    same_load(path, monkeypatch, payloads=True)
    same_load(path, monkeypatch, columns=["session_id", "cost", "shape"], cost="logged")


@pytest.mark.parametrize(("line", "problem"), [pytest.param(*v, id=k) for k, v in BAD.items()])
def test_strict_mode_stops_at_the_same_line_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: bytes, problem: Any
) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(lines(GOOD, line, GOOD))
    errors = []
    for patched in (False, True):
        with monkeypatch.context() as patch:
            if patched:
                patch.setattr(decode_arrow, "_read", lambda block, dtype, others: None)
            with pytest.raises(LogFormatError) as caught:
                load_logs(path, strict=True)
            errors.append((caught.value.line, caught.value.problem, str(caught.value)))
    assert errors[0] == errors[1] == (2, problem, errors[0][2])


def test_scan_logs_gives_the_same_rows_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "claude.json.gz"
    path.write_bytes(gzip.compress(every_bad_kind()))
    query = scan_logs(path).filter(pl.col("status") == 200).select("request_id", "cost")
    fast = query.collect()
    with monkeypatch.context() as patch:
        patch.setattr(decode_arrow, "_read", lambda block, dtype, others: None)
        slow = query.collect()
    assert fast.height > 0
    assert_frame_equal(fast, slow)


# ---------------------------------------------------------- what pyarrow reads, or refuses


def changed(*path: str, to: str) -> bytes:
    """The first fixture record with the value at `path` replaced by the JSON text `to`."""
    record = kong_records()[0]
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "@@value@@"
    return orjson.dumps(record).replace(b'"@@value@@"', to.encode())


USAGE = ("ai", "proxy", "usage")
META = ("ai", "proxy", "meta")
ODD_VALUES = {
    # a number of another type than its field's: json_decode converts, pyarrow refuses
    "integer_written_as_float": changed(*USAGE, "prompt_tokens", to="212.0"),
    "fractional_integer": changed(*USAGE, "completion_tokens", to="87.5"),
    "integer_in_exponent_form": changed(*USAGE, "total_tokens", to="2.99e2"),
    "boolean_for_a_number": changed(*USAGE, "time_per_token", to="true"),
    "number_for_a_text": changed(*META, "response_model", to="5"),
    "boolean_for_a_text": changed(*META, "request_model", to="false"),
    "text_for_a_number": changed("response", "status", to='"200"'),
    "integer_too_large": changed(*USAGE, "prompt_tokens_details", "cached_tokens", to="1" * 20),
    "float_out_of_range": changed(*USAGE, "cost", to="1e400"),
    "object_for_a_text": changed("request", "uri", to='{"path": "/v1/messages"}'),
    "text_for_an_object": changed("latencies", to='"fast"'),
    "list_of_headers": changed("request", "headers", "user-agent", to='["claude-cli/2", "x"]'),
    "lone_surrogate": changed(*META, "response_model", to='"gpt-5\\ud800"'),
    "key_given_twice": changed("response", "status", to='200,"status":404'),
    "unread_field_of_any_type": changed("workspace", to="[1, {}, null, 1e400]"),
    "escaped_key": changed("upstream_status", to='"200","\\u0075pstream_status":"502"'),
    "empty_objects": changed("ai", "proxy", to='{"meta": {}, "usage": {}}'),
    "null_blocks": changed("ai", "proxy", to='{"meta": null, "usage": null}'),
}


@pytest.mark.parametrize("line", [pytest.param(v, id=k) for k, v in ODD_VALUES.items()])
def test_a_value_of_an_unexpected_type_is_read_as_json_decode_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: bytes
) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(lines(with_id(1), line, with_id(3)))
    report = same_load(path, monkeypatch)
    assert report.lines_read == 3


@pytest.mark.parametrize("field", ["workspace", "response_model"], ids=["unread", "read"])
def test_bytes_that_are_not_utf8_read_as_json_decode_reads_them_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    where = ("workspace",) if field == "workspace" else (*META, field)
    line = changed(*where, to='"caf__"').replace(b"caf__", b"caf\xe9\xff")
    path = tmp_path / "claude.json"
    path.write_bytes(lines(GOOD, line, b"not json \xff", GOOD))
    report = same_load(path, monkeypatch)
    assert (report.records_loaded, report.lines_skipped) == (3, 1)
    if field == "response_model":
        assert load_logs(path).frame["response_model"][1] == "caf\ufffd\ufffd"


def test_ordinary_bad_lines_need_no_json_decode(tmp_path: Path, pyarrow_only: None) -> None:
    ordinary = [BAD[k][0] for k in ("empty_line", "error_log_text", "array", "scalar", "no_ai")]
    suspect = [BAD[k][0] for k in ("cut_object_like", "two_objects")]  # found on a retry
    path = tmp_path / "claude.json"
    path.write_bytes(lines(GOOD, *ordinary, GOOD, *suspect, b"", GOOD + b"\r") + b"  ")
    frame, report = load_logs(path)
    assert frame.height == 3 and frame["source_line"].to_list() == [1, 7, 11]
    assert report.lines_skipped == len(ordinary) + len(suspect) + 2
    assert report.examples[-1].line == 12  # the spaces after the last newline


def test_json_decode_only_fixture_really_bypasses_pyarrow(
    tmp_path: Path, json_decode_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = decode_lines

    def counted(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(decode_arrow, "decode_lines", counted)
    path = tmp_path / "claude.json"
    path.write_bytes(lines(GOOD, GOOD))
    assert load_logs(path).frame.height == 2 and calls == [1]


# --------------------------------------------------------------------------- reading bytes


SPLITS = [
    b"",
    b"\n",
    b"a",
    b"a\n",
    b"a\nb",
    b"a\r\nb\r\n",
    b"a\r\r\nb",
    b"a\rb\n",
    b"\n\n",
    b"a\n\n",
    b" \n{}\r",
    b"x" * 50 + b"\n" + b"y" * 7 + b"\n\n" + b"z" * 30,
]


def block_lines(blocks: Iterator[sources.Block]) -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    for block in blocks:
        assert block.lines["source_line"].to_list() == list(
            range(block.first_line, block.first_line + block.count)
        )
        rows += block.lines.iter_rows()
    return rows


@pytest.mark.parametrize("data", SPLITS)
@pytest.mark.parametrize(("size", "most"), [(1 << 20, 1000), (8, 1000), (8, 2), (3, 1)])
def test_blocks_split_lines_as_scan_lines_does(data: bytes, size: int, most: int) -> None:
    expected = pl.scan_lines(data, row_index_name="n", row_index_offset=1).collect()
    (item,) = resolve([_Stream(data)])
    got = block_lines(item.blocks(most, size, Buffers(3)))
    assert got == list(zip(expected["n"].cast(pl.Int64).to_list(), expected["line"], strict=True))


def test_a_gzip_file_of_several_members_read_in_small_pieces_gives_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "READ_BYTES", 64)
    first, second = (
        lines(*(with_id(n) for n in range(5))),
        lines(*(with_id(n) for n in range(5, 9))),
    )
    path = tmp_path / "claude.json.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    frame, report = load_logs(path)
    assert frame["request_id"].to_list() == [f"{n:032x}" for n in range(9)]
    assert report.lines_read == 9


def test_reused_buffers_give_the_rows_of_fresh_ones(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(b"".join(mixed_lines(120, seed=5)))
    (item,) = resolve(path)
    pool = Buffers(2)
    reused = []
    for block in item.blocks(1000, 9_000, pool):
        reused.append(block.lines)
        pool.give(block.data)
    fresh = [block.lines for block in item.blocks(1000, 9_000)]
    assert len(fresh) > 10
    assert_frame_equal(pl.concat(reused), pl.concat(fresh))


class _Stream:
    """A binary stream without a name."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data
