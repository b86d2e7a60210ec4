"""Lines of a block -> decoded records with simdjson (`cysimdjson`), reading only the fields
of the decode dtype; `decode_arrow` tries it before pyarrow's JSON reader.

`read(block, dtype, others)` gives what `decode_arrow` gets from pyarrow for the lines not in
`others` (the same `raw` Series: same values, same nulls, same dtype), or None when it refuses.
Contracts:

- Each line is parsed by simdjson (it validates the whole line: JSON syntax, UTF-8, escapes,
  numbers), and only the fields of `dtype` are looked up, object by object, in one Python
  function written for that dtype (`_plan`: its source is generated once per dtype and
  compiled; a loop over a list of fields took 1.5x its time). A key given twice reads as its
  first value, as simdjson and `json_decode` both read it (pyarrow refuses such a line, and
  `decode_lines` then reads the first value).
- It refuses (None) whenever pyarrow would refuse or read a value differently: a value of
  another JSON type than its field's (an integer field takes only integers, `3.0` and `true`
  included; a number field takes integers and numbers; a text field only text; an object or
  list field only an object, a list of objects or nulls, or null), an integer outside int64,
  and a line simdjson refuses unless it has a cheap tell of not being one JSON value
  (`decode_arrow`'s suspects: unbalanced braces, `}{`), which is then returned with `others`
  to be parsed one by one, as pyarrow's second try does.
- The values go to one Python list per field (an object or list field: the index of its
  record in the lists of its own fields), checked by type in bulk, and become Arrow arrays.
- Measured (2 vCPUs, 40,000 lines of ~3.4 kB, one thread, CPU-s): 0.35 for the dtype of 12
  columns (pyarrow 0.40-0.42), 0.55 for the whole dtype (pyarrow 0.50-0.55); of the first,
  simdjson's parse is 0.06 (~2.4 GB/s) and looking up the ~35 fields of a record from Python
  0.19. It holds the GIL, so the blocks decoded side by side take turns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import cysimdjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from claude_gw.logs.sources import Block

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

Span = tuple[int, int, int]  # (index of the line in the block, start, end), as decode_arrow's
Kind = Literal["leaf", "struct", "list"]
_NONE = type(None)
# The Python types simdjson gives that a field of each dtype accepts, as pyarrow's reader does.
ACCEPTED: dict[PolarsDataType, frozenset[type]] = {
    pl.String(): frozenset({str, _NONE}),
    pl.Int64(): frozenset({int, _NONE}),
    pl.Float64(): frozenset({int, float, _NONE}),
    pl.Boolean(): frozenset({bool, _NONE}),
    pl.Null(): frozenset({_NONE}),
}
ARROW: dict[PolarsDataType, pa.DataType] = {
    pl.String(): pa.string(),
    pl.Int64(): pa.int64(),
    pl.Float64(): pa.float64(),
    pl.Boolean(): pa.bool_(),
    pl.Null(): pa.null(),
}
# What building the arrays raises for a value Arrow cannot hold (an integer past int64).
_BUILD_ERRORS = (pa.ArrowException, OverflowError, TypeError, ValueError)
# What cysimdjson raises for a line it refuses (RuntimeError: an integer past 64 bits).
PARSE_ERRORS = (ValueError, RuntimeError)


class Refused(Exception):
    """A value of another type than its field's: the block is left to pyarrow."""


def read(
    block: Block, dtype: pl.Struct, others: list[Span], suspect: Callable[[bytes], bool]
) -> tuple[pl.Series, list[Span]] | None:
    """The lines of `block` not in `others` decoded as `raw` (dtype `dtype`), and `others`
    with the lines simdjson refused that `suspect` calls suspect; None when it refuses the
    block (see the module docstring)."""
    if not supported(dtype):
        return None
    lines = _lines(block, others)
    plan = _plan(dtype)
    sinks: list[list[Any]] = [[] for _ in range(plan.sinks)]
    try:
        unparsed = plan.run(lines, cysimdjson.JSONParser().parse, sinks)
        if any(not suspect(lines[index]) for index in unparsed):
            return None
        raw = pl.from_arrow(_struct(plan.fields, sinks, dtype))
    except (Refused, *_BUILD_ERRORS):
        return None
    assert isinstance(raw, pl.Series)
    if raw.len() != len(lines) - len(unparsed) or raw.dtype != dtype:
        return None
    return raw.alias("raw"), sorted(others + _spans(block, others, unparsed))


@cache
def supported(dtype: PolarsDataType) -> bool:
    """Whether every field of `dtype` is of a type this reader builds (lists only of objects)."""
    if isinstance(dtype, pl.Struct):
        return all(supported(item.dtype) for item in dtype.fields)
    if isinstance(dtype, pl.List):
        return isinstance(dtype.inner, pl.Struct) and supported(dtype.inner)
    return dtype in ACCEPTED


def _lines(block: Block, others: list[Span]) -> list[bytes]:
    """The lines not in `others`, each its own bytes (cysimdjson parses only bytes; copying
    line by line reuses freed memory, where one copy of the block costs page faults)."""
    skipped = {index for index, _, _ in others}
    lines, start = [], 0
    with memoryview(block.data) as data:  # (released: the buffer is resized when reused)
        for index, end in enumerate(block.ends):
            if index not in skipped:
                lines.append(bytes(data[start:end]))
            start = end + 1
    return lines


def _spans(block: Block, others: list[Span], unparsed: list[int]) -> list[Span]:
    """The spans of the lines that are `unparsed` among those not in `others`."""
    if not unparsed:
        return []
    skipped = {index for index, _, _ in others}
    kept = [index for index in range(block.count) if index not in skipped]
    lines = [kept[index] for index in unparsed]
    return [
        (index, block.ends[index - 1] + 1 if index else 0, block.ends[index]) for index in lines
    ]


# --------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class Field:
    """A field of the dtype and where its values go: `sink` holds a leaf's values, an
    object's record index (None when null or absent), a list's end offset; `items` holds a
    list's item record indexes."""

    field: pl.Field
    kind: Kind
    sink: int
    items: int = -1
    children: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The generated reader of one dtype: `run(lines, parse, sinks)` appends every line's
    values to `sinks` and returns the indexes of the lines simdjson refused."""

    run: Callable[[list[bytes], Callable[[bytes], Any], list[list[Any]]], list[int]]
    fields: tuple[Field, ...]
    sinks: int


@cache
def _plan(dtype: pl.Struct) -> Plan:
    source = _Source()
    fields = source.struct(dtype, "record", depth=2)
    head = [
        "def run(lines, parse, sinks):",
        *(f"    a{n} = sinks[{n}].append" for n in range(source.sinks)),
        *(f"    n{n} = 0" for n in source.counters),
        "    unparsed = []",
        "    for index, line in enumerate(lines):",
        "        try:",
        "            record = parse(line)",
        "        except PARSE_ERRORS:",
        "            unparsed.append(index)",
        "            continue",
        "        if type(record) is not OBJECT:",
        "            raise Refused",
    ]
    namespace: dict[str, Any] = {
        "OBJECT": cysimdjson.JSONObject,
        "ARRAY": cysimdjson.JSONArray,
        "Refused": Refused,
        "PARSE_ERRORS": PARSE_ERRORS,
    }
    code = "\n".join([*head, *source.lines, "    return unparsed", ""])
    exec(
        compile(code, f"<claude_gw.logs.decode_simd reader of {len(fields)} fields>", "exec"),
        namespace,
    )  # (the source holds only the dtype's field names, written with repr)
    return Plan(namespace["run"], fields, source.sinks)


class _Source:
    """The body of a reader: straight-line lookups, one per field, nested as the dtype."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sinks = 0
        self.counters: list[int] = []

    def sink(self) -> int:
        self.sinks += 1
        return self.sinks - 1

    def struct(self, dtype: pl.Struct, value: str, depth: int) -> tuple[Field, ...]:
        """Lines that append the fields of the object in variable `value`."""
        pad = "    " * depth
        self.lines.append(f"{pad}get = {value}.get")
        fields = []
        for item in dtype.fields:
            n = self.sink()
            if isinstance(item.dtype, pl.Struct):
                fields.append(self._object(item, n, value, depth))
            elif isinstance(item.dtype, pl.List) and isinstance(item.dtype.inner, pl.Struct):
                fields.append(self._list(item, n, value, depth))
            else:
                self.lines.append(f"{pad}a{n}(get({item.name!r}))")
                fields.append(Field(item, "leaf", n))
        return tuple(fields)

    def _object(self, item: pl.Field, n: int, parent: str, depth: int) -> Field:
        pad = "    " * depth
        self.counters.append(n)
        self.lines += [
            f"{pad}v{n} = get({item.name!r})",
            f"{pad}if type(v{n}) is OBJECT:",
            f"{pad}    a{n}(n{n})",
            f"{pad}    n{n} += 1",
        ]
        assert isinstance(item.dtype, pl.Struct)
        children = self.struct(item.dtype, f"v{n}", depth + 1)
        self.lines += [
            f"{pad}    get = {parent}.get",
            f"{pad}elif v{n} is None:",
            f"{pad}    a{n}(None)",
            f"{pad}else:",
            f"{pad}    raise Refused",
        ]
        return Field(item, "struct", n, children=children)

    def _list(self, item: pl.Field, n: int, parent: str, depth: int) -> Field:
        pad = "    " * depth
        items = self.sink()
        self.counters += [n, items]
        self.lines += [
            f"{pad}v{n} = get({item.name!r})",
            f"{pad}if type(v{n}) is ARRAY:",
            f"{pad}    for i{n} in v{n}:",
            f"{pad}        if type(i{n}) is OBJECT:",
            f"{pad}            a{items}(n{items})",
            f"{pad}            n{items} += 1",
        ]
        assert isinstance(item.dtype, pl.List) and isinstance(item.dtype.inner, pl.Struct)
        children = self.struct(item.dtype.inner, f"i{n}", depth + 3)
        self.lines += [
            f"{pad}        elif i{n} is None:",
            f"{pad}            a{items}(None)",
            f"{pad}        else:",
            f"{pad}            raise Refused",
            f"{pad}    n{n} += len(v{n})",
            f"{pad}    a{n}(n{n})",
            f"{pad}    get = {parent}.get",
            f"{pad}elif v{n} is None:",
            f"{pad}    a{n}(None)",
            f"{pad}else:",
            f"{pad}    raise Refused",
        ]
        return Field(item, "list", n, items, children)


# --------------------------------------------------------------------------- the arrays


def _struct(fields: tuple[Field, ...], sinks: list[list[Any]], dtype: pl.Struct) -> pa.Array:
    """The records of an object field, one per index its parent gave out, none null."""
    arrays = [_array(item, sinks) for item in fields]
    return pa.StructArray.from_arrays(arrays, fields=_arrow(dtype))


def _array(item: Field, sinks: list[list[Any]]) -> pa.Array:
    values = sinks[item.sink]
    dtype = item.field.dtype
    if item.kind == "leaf":
        return _leaf(values, dtype)
    if item.kind == "struct":
        assert isinstance(dtype, pl.Struct)
        return _struct(item.children, sinks, dtype).take(pa.array(values, pa.int64()))
    assert isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)
    records = _struct(item.children, sinks, dtype.inner)
    elements = records.take(pa.array(sinks[item.items], pa.int64()))
    ends = pa.array(values, pa.int32())
    offsets = pa.concat_arrays(
        [pa.array([0], pa.int32()), pc.fill_null(pc.fill_null_forward(ends), 0)]
    )
    return pa.ListArray.from_arrays(offsets, elements, mask=pc.is_null(ends))


def _leaf(values: list[Any], dtype: PolarsDataType) -> pa.Array:
    """`values` as an array of `dtype`, or Refused for a value of another type. Arrow checks
    text itself, and infers int64 for integers only (past int64 it raises); a number field
    may get integers, but not booleans, which Arrow would take as 1.0."""
    if dtype == pl.String():
        return pa.array(values, pa.string())
    if dtype == pl.Float64() and not set(map(type, values)) <= ACCEPTED[dtype]:
        raise Refused
    array = pa.array(values)
    if array.type == ARROW[dtype]:
        return array
    if array.type == pa.null() or (dtype == pl.Float64() and array.type == pa.int64()):
        return array.cast(ARROW[dtype])
    raise Refused


@cache
def _arrow(dtype: pl.Struct) -> list[pa.Field]:
    return [pa.field(item.name, _type(item.dtype)) for item in dtype.fields]


def _type(dtype: PolarsDataType) -> pa.DataType:
    if isinstance(dtype, pl.Struct):
        return pa.struct(_arrow(dtype))
    if isinstance(dtype, pl.List):
        return pa.list_(_type(dtype.inner))
    return ARROW[dtype]
