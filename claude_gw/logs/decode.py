"""Lines -> decoded records: natively for every sound line, in Python only for the others.

`decode_lines(lines, dtype, where)` takes a frame of `source_line` (1-based) and `line` (text)
and returns the records (`source_line`, `raw`, `_repair`) plus one `LineIssue` per line it
could not decode. It reads the blocks pyarrow refuses (`decode_arrow.py` is the usual path,
and gives the same result), and is what that path is tested against. Contracts:

- The fast path is `str.json_decode` with the explicit `dtype` (`shapes.raw_dtype`) over the
  lines that start with `{` and end with `}` (a vectorised check), `PIECE_LINES` at a time.
  Nothing else is parsed per line.
- `json_decode` has two failure modes, both handled: it raises for a whole piece when one
  line is not JSON or has a field of an unexpected type, and it silently returns an extra
  row when one line holds two JSON values (`{..},{..}`: it parses the lines as one array), so
  a result is only trusted when its length equals the input's. A failing piece is decoded
  again without its suspect lines (unbalanced braces, `}{`), then in parts, recursively,
  down to runs of `LEAF_LINES` lines.
- The lines left over (not object-like, suspect, or in a failing run) are parsed one by one
  with orjson: these are the bad lines (and a few neighbours), so they are few. An object is
  conformed to `dtype` (`conform`), which converts or nulls fields of unexpected types and
  notes it in `_repair`; anything else becomes a `LineIssue`.
- `json_decode` runs on one core, hence `frames.WORKERS`; it is given the lines in pieces, as
  one rechunked column of all lines decodes several times slower.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from claude_gw.logs.report import LineIssue, Problem

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

PIECE_LINES = 4096  # lines decoded per `json_decode` call
SPLIT = 4  # a failing piece is decoded again in this many parts, recursively,
LEAF_LINES = 16  # down to this many lines, which are then parsed one by one
_LINE = pl.col("line")
OBJECT_LIKE = _LINE.str.starts_with("{") & _LINE.str.ends_with("}")
# Cheap tells of object-like lines that make a whole piece fail, checked only in a failing
# piece: a line cut short after an inner `}` has unbalanced braces; `}{` joins two records.
SUSPECT = (
    _LINE.str.count_matches("{", literal=True) != _LINE.str.count_matches("}", literal=True)
) | _LINE.str.contains("}{", literal=True)
_DECODE_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Where:
    """The input the lines came from: its name, and (asked only when that line is bad)
    whether its last line is unterminated."""

    file: str
    last_line: int | None = None  # the number of the input's last line, when known
    unterminated: Callable[[], bool] = _never  # the input does not end with a newline


def decode_lines(
    lines: pl.DataFrame, dtype: pl.Struct, where: Where
) -> tuple[pl.DataFrame, list[LineIssue]]:
    """(`source_line`, `raw`, `_repair`) for every line that holds a JSON object, in line
    order, and an issue for every other line (see the module docstring)."""
    text = lines.select(pl.when(OBJECT_LIKE).then(_LINE).alias("line"))["line"]
    pieces = range(0, text.len(), PIECE_LINES)
    parts = [part for at in pieces for part in _piece(text.slice(at, PIECE_LINES), dtype)]
    raw = pl.concat(parts).alias("raw") if parts else pl.Series("raw", [], dtype)
    # Decoded in pieces, `raw` is in many chunks, which makes every struct field access slow.
    decoded = pl.DataFrame({"source_line": lines["source_line"], "raw": raw}).rechunk()
    ok = decoded["raw"].is_not_null()
    good = decoded.filter(ok).with_columns(_repair=pl.lit(None, pl.String()))
    if ok.all():
        return good, []
    leftover = lines.filter(~ok)
    repaired, issues = slow(leftover["source_line"], leftover["line"], dtype, where)
    if repaired.height:
        good = pl.concat([good, repaired]).sort("source_line")
    return good, issues


def _piece(text: pl.Series, dtype: pl.Struct) -> Iterator[pl.Series]:
    """`text` decoded; if that fails, again without its suspect lines (if it has any), then
    in parts."""
    raw = _decoded(text, dtype)
    if raw is not None:
        yield raw
        return
    suspect = text.to_frame().select(SUSPECT.fill_null(False))["line"]
    if suspect.any():
        text = text.set(suspect, None)
        raw = _decoded(text, dtype)
        if raw is not None:
            yield raw
            return
    yield from _parts(text, dtype)


def _split(text: pl.Series, dtype: pl.Struct) -> Iterator[pl.Series]:
    """`text` decoded; where that fails, its parts decoded, down to runs of LEAF_LINES
    lines, which are left null (for the line-by-line path)."""
    raw = _decoded(text, dtype)
    if raw is not None:
        yield raw
    else:
        yield from _parts(text, dtype)


def _parts(text: pl.Series, dtype: pl.Struct) -> Iterator[pl.Series]:
    """`text`, which fails as a whole, decoded in SPLIT parts (see `_split`)."""
    if text.len() <= LEAF_LINES:
        yield pl.Series(text.name, [None] * text.len(), dtype)
        return
    step = -(-text.len() // SPLIT)
    for at in range(0, text.len(), step):
        yield from _split(text.slice(at, step), dtype)


def _decoded(text: pl.Series, dtype: pl.Struct) -> pl.Series | None:
    """`text` decoded, or None when `json_decode` fails or gives a value too many."""
    try:
        raw = text.to_frame().select(_LINE.str.json_decode(dtype))["line"]
    except _DECODE_ERRORS:
        return None
    return raw if raw.len() == text.len() else None


def slow(
    numbers: pl.Series, texts: pl.Series, dtype: pl.Struct, where: Where
) -> tuple[pl.DataFrame, list[LineIssue]]:
    """Lines (`numbers`, `texts`) parsed one by one: the records conformed to `dtype` with
    their repair notes, and an issue for every line that holds no JSON object."""
    rows: list[Any] = []
    kept: list[int] = []
    notes: list[str | None] = []
    issues: list[LineIssue] = []
    for number, text in zip(numbers.to_list(), texts.to_list(), strict=True):
        value, problem = _parse(text, number, where)
        if isinstance(problem, LineIssue):
            issues.append(problem)
            continue
        conformed, changes = conform(value, dtype)
        rows.append(conformed)
        kept.append(number)
        notes.append("; ".join(changes) or None)
    frame = pl.DataFrame(
        {
            "source_line": pl.Series(kept, dtype=pl.Int64()),
            "raw": pl.Series(rows, dtype=dtype),
            "_repair": pl.Series(notes, dtype=pl.String()),
        }
    )
    return frame, issues


def _parse(text: str | None, number: int, where: Where) -> tuple[Any, LineIssue | None]:
    def issue(problem: Problem, detail: str) -> tuple[None, LineIssue]:
        return None, LineIssue(where.file, number, problem, detail)

    stripped = (text or "").strip()
    if not stripped:
        return issue(Problem.EMPTY_LINE, "")
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        if number == where.last_line and where.unterminated():
            return issue(Problem.TRUNCATED_LINE, f"{len(stripped)} characters, no final newline")
        return issue(Problem.NOT_JSON, str(exc))
    if not isinstance(value, dict):
        return issue(Problem.NOT_AN_OBJECT, f"a JSON {_json_type(value)}")
    return value, None


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def conform(value: Any, dtype: PolarsDataType, path: str = "") -> tuple[Any, list[str]]:
    """`value` (parsed JSON) shaped to `dtype` as `json_decode` would read it, and the list
    of changes made where a value had another JSON type: a list where text is expected gives
    its first element (a repeated header), text where a number is expected is parsed, a
    non-object where an object is expected becomes `{}`, anything else unusable is null."""
    if value is None:
        return None, []
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, dict):
            return {}, [f"{path or 'record'}: {_json_type(value)} -> object"]
        fields: dict[str, Any] = {}
        changes: list[str] = []
        for item in dtype.fields:
            fields[item.name], more = conform(value.get(item.name), item.dtype, _join(path, item))
            changes += more
        return fields, changes
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            return None, [f"{path}: {_json_type(value)} -> null"]
        items = [conform(v, dtype.inner, f"{path}[]") for v in value]
        return [v for v, _ in items], [c for _, more in items for c in more]
    return _scalar(value, dtype, path)


def _join(path: str, item: pl.Field) -> str:
    return f"{path}.{item.name}" if path else item.name


def _scalar(value: Any, dtype: PolarsDataType, path: str) -> tuple[Any, list[str]]:
    if isinstance(value, list) and value:
        converted, _ = _scalar(value[0], dtype, path)
        return converted, [f"{path}: array -> first element"]
    result: str | float | bool | None
    if dtype == pl.Boolean():
        result, same = (value if isinstance(value, bool) else None), isinstance(value, bool)
    elif dtype == pl.String():
        result, same = _as_text(value), isinstance(value, str)
    else:
        result, same = _as_number(value, dtype), _is_number(value)
    if same:
        return result, []
    became = "null" if result is None else "text" if dtype == pl.String() else "number"
    # (a Boolean field only ever keeps a JSON boolean: anything else is null)
    return result, [f"{path}: {_json_type(value)} -> {became}"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if _is_number(value) else None


def _as_number(value: Any, dtype: PolarsDataType) -> int | float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if dtype == pl.Float64():
        return float(value)
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None
