"""What `read_logs` / `scan_logs` accept as a source, resolved into `Input`s.

A source is a path, a glob (`logs/*.json*`), a directory, an open text (or binary) stream, or
a list of these. Contracts:

- A directory means its `*.json`, `*.jsonl`, `*.ndjson` files and their `.gz` versions
  (not recursive), sorted by name; an existing directory without any is an empty source.
- A glob's matches are sorted by name; a glob that matches nothing, and a path that does not
  exist, raise `FileNotFoundError`.
- A list keeps its order; a file named twice is read once.
- gzip is recognised by its magic bytes, whatever the file is called (polars reads it); a
  gzip stream cut short gives the lines it holds.
- A stream is read whole when the load starts; it is named by its `name` attribute when that
  is a string (an open file), else `<stream>`.
- Lines are read by polars, in blocks of `BLOCK_LINES`, a few blocks ahead of the decoding.
  Bytes that are not UTF-8 make polars refuse the whole file, so from the block where that
  happens on, the file is read again in Python, with those bytes replaced by U+FFFD.
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

PATTERNS = tuple(f"*{ext}{gz}" for ext in (".json", ".jsonl", ".ndjson") for gz in ("", ".gz"))
GZIP_MAGIC = b"\x1f\x8b"
STREAM_NAME = "<stream>"
BLOCK_LINES = 4096  # lines per block: polars reads blocks ahead, workers decode them

Source = str | os.PathLike[str] | IO[str] | IO[bytes] | list[Any] | tuple[Any, ...]


@dataclass(frozen=True)
class Block:
    """Whole lines of one input: `source_line` (Int64, 1-based) and `line` (text, without
    its `\\r\\n`)."""

    lines: pl.DataFrame
    last: bool  # the block holds the input's last line
    done: float  # share of the input read so far, 0 to 1


@dataclass(frozen=True)
class Input:
    """One file or stream of NDJSON lines."""

    name: str  # the `source_file` value
    path: Path | None = None
    data: bytes | None = None  # a stream's content

    @property
    def size(self) -> int:
        """Bytes as stored (compressed size for gzip), or of the stream's content."""
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    def blocks(self, lines: int = BLOCK_LINES) -> Iterator[Block]:
        """The lines in blocks of `lines` lines (see the module docstring)."""
        total, read = max(1, self._text_size()), 0
        batches = _with_last(self._batches(lines))
        for batch, last in batches:
            read += int(batch["line"].str.len_bytes().sum() or 0) + batch.height
            yield Block(batch, last, 1.0 if last else min(1.0, read / total))

    def unterminated(self) -> bool:
        """Whether the content does not end with a newline (a partly written last line).
        Cheap for a plain file; a gzip file is decompressed to its end."""
        if self.path is not None and not self._gzipped():
            with self.path.open("rb") as file:
                end = file.seek(0, os.SEEK_END)
                file.seek(max(0, end - 1))
                return end > 0 and file.read(1) != b"\n"
        return _content(self)[-1:] not in (b"", b"\n")

    def _batches(self, lines: int) -> Iterator[pl.DataFrame]:
        delivered = 0
        source = str(self.path) if self.path is not None else (self.data or b"")
        if not source:
            return
        scan = pl.scan_lines(source, row_index_name="source_line", row_index_offset=1)
        try:
            for batch in scan.collect_batches(chunk_size=lines):
                delivered += batch.height
                yield batch.with_columns(pl.col("source_line").cast(pl.Int64()))
        except (pl.exceptions.ComputeError, OSError):
            # Not UTF-8 (a ComputeError), or a gzip stream cut short (polars: OSError).
            yield from _replaced(_content(self), lines, after=delivered)

    def _text_size(self) -> int:
        """Bytes of text: a gzip file's trailer gives it (modulo 4 GiB)."""
        if self.path is None or not self._gzipped():
            return self.size
        with self.path.open("rb") as file:
            file.seek(-4, os.SEEK_END)
            return max(self.size, int.from_bytes(file.read(4), "little"))

    def _gzipped(self) -> bool:
        if self.path is None:
            return (self.data or b"").startswith(GZIP_MAGIC)
        with self.path.open("rb") as file:
            return file.read(2) == GZIP_MAGIC


def _with_last(batches: Iterator[pl.DataFrame]) -> Iterator[tuple[pl.DataFrame, bool]]:
    """Each batch with whether it is the last one (one batch of look-ahead)."""
    previous: pl.DataFrame | None = None
    for batch in batches:
        if previous is not None:
            yield previous, False
        previous = batch
    if previous is not None:
        yield previous, True


def _content(item: Input) -> bytes:
    """All the text of `item`; of a gzip stream cut short, what could be decompressed."""
    data = item.path.read_bytes() if item.path is not None else (item.data or b"")
    if not data.startswith(GZIP_MAGIC):
        return data
    parts = []
    while data:  # one gzip member after the other
        member = zlib.decompressobj(wbits=31)
        parts.append(member.decompress(data))
        if not member.eof:
            break  # the stream ends early: keep what came out
        data = member.unused_data
    return b"".join(parts)


def _replaced(content: bytes, lines: int, *, after: int) -> Iterator[pl.DataFrame]:
    """The lines of `content` after line `after`, bytes that are not UTF-8 replaced."""
    text = content.decode("utf-8", "replace").encode("utf-8")
    if not text:
        return
    scan = pl.scan_lines(text, row_index_name="source_line", row_index_offset=1)
    rest = scan.filter(pl.col("source_line") > after)
    for batch in rest.collect_batches(chunk_size=lines):
        yield batch.with_columns(pl.col("source_line").cast(pl.Int64()))


def resolve(source: Source) -> list[Input]:
    """The inputs of a source, in order, each file once (see the module docstring)."""
    inputs: list[Input] = []
    seen: set[Path] = set()
    for item in _expand(source):
        if item.path is not None:
            key = item.path.resolve()
            if key in seen:
                continue
            seen.add(key)
        inputs.append(item)
    return inputs


def _expand(source: Source) -> Iterator[Input]:
    if isinstance(source, list | tuple):
        for item in source:
            yield from _expand(item)
    elif hasattr(source, "read"):
        yield _stream(source)
    else:
        for path in _paths(os.fspath(source)):
            yield Input(name=str(path), path=path)


def _paths(text: str) -> list[Path]:
    path = Path(text)
    if path.is_dir():
        found = {p for pattern in PATTERNS for p in path.glob(pattern) if p.is_file()}
        return sorted(found)
    if path.exists():
        return [path]
    if any(char in text for char in "*?["):
        matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if matches:
            return matches
        raise FileNotFoundError(f"no file matches {text!r}")
    raise FileNotFoundError(f"no such log file or directory: {text!r}")


def _stream(stream: Any) -> Input:
    content = stream.read()
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    name = getattr(stream, "name", None)
    return Input(name=name if isinstance(name, str) else STREAM_NAME, data=data)
