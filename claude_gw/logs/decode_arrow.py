"""Blocks of bytes -> decoded records with pyarrow's JSON reader, falling back to `decode.py`.

`decode_block(block, dtype, where)` gives what `decode.decode_lines(block.lines, dtype, where)`
gives (the same rows, `raw` values, `_repair` notes and issues), faster. Contracts:

- Lines that are not object-like (they do not start with `{` and end with `}`, one trailing
  `\\r` aside) are parsed one by one as in `decode.py` (`decode.slow`); in the block they are
  overwritten with spaces, which the reader skips, and put back afterwards.
- The rest of the block is read in one call of `pyarrow.json.read_json` with the explicit
  schema of `dtype` (`arrow_schema`), fields not in it ignored, on one thread (the pipeline
  runs blocks side by side). Its result is used only if it has one row per such line.
- pyarrow is stricter than `json_decode` and never reads a value differently when it accepts
  it: a number of another JSON type than its field's (`3.0` for an integer, `true` for a
  number, a number for a text), a key given twice, an escaped lone surrogate make it refuse
  the block, as do lines that are not JSON. It does not check that text is UTF-8, so a block
  that is not (checked first, with Arrow's validation) goes to `decode.decode_lines` (with
  the bytes replaced by U+FFFD, as `Block.lines` gives them). A block pyarrow refuses is read again
  with its suspect lines (as `decode.SUSPECT`) parsed one by one; if it still refuses, the whole
  block goes through `decode.decode_lines`, which repairs what can be repaired.
- Why pyarrow's reader and not polars' `json_decode`: it costs less CPU per block (figures in
  `bench/README.md`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from claude_gw.logs.decode import Where, decode_lines, slow
from claude_gw.logs.report import LineIssue
from claude_gw.logs.sources import Block

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

OPEN, CLOSE, CR, NL = ord("{"), ord("}"), ord("\r"), ord("\n")
Span = tuple[int, int, int]  # (index of the line in the block, start, end) in the block


def decode_block(
    block: Block, dtype: pl.Struct, where: Where
) -> tuple[pl.DataFrame, list[LineIssue]]:
    """(`source_line`, `raw`, `_repair`) for every line of `block` that holds a JSON object,
    in line order, and an issue for every other line (see the module docstring)."""
    if not _utf8(block.data):  # pyarrow does not check: polars would get broken text
        return decode_lines(block.lines, dtype, where)
    others = _not_object_like(block)
    raw = _read(block, dtype, others)
    if raw is None:
        others = sorted(others + _suspect(block, others))
        raw = _read(block, dtype, others)
    if raw is None:
        return decode_lines(block.lines, dtype, where)
    numbers = _numbers(block, others)
    good = pl.DataFrame({"source_line": numbers, "raw": raw}).with_columns(
        _repair=pl.lit(None, pl.String())
    )
    if not others:
        return good, []
    texts = [_text(block.data, start, end) for _, start, end in others]
    lines = pl.Series([block.first_line + index for index, _, _ in others], dtype=pl.Int64())
    repaired, issues = slow(lines, pl.Series(texts, dtype=pl.String()), dtype, where)
    if repaired.height:
        good = pl.concat([good, repaired]).sort("source_line")
    return good, issues


def _not_object_like(block: Block) -> list[Span]:
    """The lines that do not start with `{` and end with `}` (before a `\\r`)."""
    data, spans = block.data, []
    for index, start, end in _spans(block):
        close = end - 1 if end > start and data[end - 1] == CR else end
        if not (close > start and data[start] == OPEN and data[close - 1] == CLOSE):
            spans.append((index, start, end))
    return spans


def _spans(block: Block) -> Iterator[Span]:
    """Every line of `block`: its index, and where it starts and ends (before its `\\n`)."""
    start = 0
    for index, end in enumerate(block.ends):
        yield index, start, end
        start = end + 1


def _suspect(block: Block, others: list[Span]) -> list[Span]:
    """Object-like lines with a cheap tell of not being one JSON value (as `decode.SUSPECT`:
    unbalanced braces, or `}{`)."""
    skipped = {index for index, _, _ in others}
    spans = []
    for index, start, end in _spans(block):
        if index not in skipped:
            line = block.data[start:end]
            if line.count(b"{") != line.count(b"}") or b"}{" in line:
                spans.append((index, start, end))
    return spans


def _read(block: Block, dtype: pl.Struct, others: list[Span]) -> pl.Series | None:
    """The object-like lines other than `others` decoded, or None when pyarrow refuses them
    or gives another number of rows."""
    data = block.data
    kept = [bytes(data[start:end]) for _, start, end in others]
    for _, start, end in others:
        data[start:end] = b" " * (end - start)
    try:
        table = _read_json(data, dtype)
    except (pa.ArrowException, ValueError):
        table = None
    finally:
        for (_, start, end), text in zip(others, kept, strict=True):
            data[start:end] = text
    if table is None or table.num_rows != block.count - len(others):
        return None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    raw = frame.select(pl.struct(pl.all()).alias("raw"))["raw"]
    return raw if raw.dtype == dtype else None


def _read_json(data: bytearray, dtype: pl.Struct) -> pa.Table:
    options = pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(data) + 1))
    parse = pj.ParseOptions(explicit_schema=arrow_schema(dtype), unexpected_field_behavior="ignore")
    with pa.BufferReader(pa.py_buffer(data)) as source:
        return pj.read_json(source, read_options=options, parse_options=parse)


def _utf8(data: bytearray) -> bool:
    """Whether `data` is valid UTF-8 (Arrow's check, vectorised, without a copy)."""
    if data.isascii():
        return True
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _numbers(block: Block, others: list[Span]) -> pl.Series:
    """The line numbers of the lines not in `others`."""
    skipped = {index for index, _, _ in others}
    numbers = [block.first_line + i for i in range(block.count) if i not in skipped]
    return pl.Series(numbers, dtype=pl.Int64())


def _text(data: bytearray, start: int, end: int) -> str:
    """A line as `Block.lines` gives it: without one trailing `\\r`, bad UTF-8 replaced."""
    if end > start and data[end - 1] == CR:
        end -= 1
    return data[start:end].decode("utf-8", "replace")


@cache
def arrow_schema(dtype: pl.Struct) -> pa.Schema:
    """`dtype`'s fields as an Arrow schema of the types pyarrow's JSON reader builds (no
    large strings or lists)."""
    return pa.schema([pa.field(item.name, _arrow(item.dtype)) for item in dtype.fields])


def _arrow(dtype: PolarsDataType) -> pa.DataType:
    if isinstance(dtype, pl.Struct):
        return pa.struct([pa.field(item.name, _arrow(item.dtype)) for item in dtype.fields])
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow(dtype.inner))
    simple: dict[PolarsDataType, pa.DataType] = {
        pl.String(): pa.string(),
        pl.Int64(): pa.int64(),
        pl.Float64(): pa.float64(),
        pl.Boolean(): pa.bool_(),
        pl.Null(): pa.null(),
    }
    return simple[dtype]
