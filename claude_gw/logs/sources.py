"""What `read_logs` / `scan_logs` accept as a source, resolved into `Input`s.

A source is a path, a glob (`logs/*.json*`), a directory, an open text (or binary) stream, or
a list of these. Contracts:

- A directory means its `*.json`, `*.jsonl`, `*.ndjson` files and their `.gz` versions
  (not recursive), sorted by name; an existing directory without any is an empty source.
- A glob's matches are sorted by name; a glob that matches nothing, and a path that does not
  exist, raise `FileNotFoundError`.
- A list keeps its order; a file named twice is read once.
- gzip is recognised by its magic bytes, whatever the file is called (polars reads it).
- A stream is read whole when the load starts; it is named by its `name` attribute when that
  is a string (an open file), else `<stream>`.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

PATTERNS = tuple(f"*{ext}{gz}" for ext in (".json", ".jsonl", ".ndjson") for gz in ("", ".gz"))
GZIP_MAGIC = b"\x1f\x8b"
STREAM_NAME = "<stream>"

Source = str | os.PathLike[str] | IO[str] | IO[bytes] | list[Any] | tuple[Any, ...]


@dataclass(frozen=True)
class Input:
    """One file or stream of NDJSON lines."""

    name: str  # the `source_file` value
    path: Path | None = None
    data: bytes | None = None  # a stream's content

    @property
    def size(self) -> int:
        """Bytes on disk (compressed size for gzip), or of the stream's content."""
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    def read_lines(self) -> pl.DataFrame:
        """All lines: `source_line` (Int64, 1-based) and `line` (text, without `\\r\\n`).
        Bytes that are not UTF-8 become U+FFFD (the rest of their line is kept)."""
        source = str(self.path) if self.path is not None else (self.data or b"")
        try:
            return _read_lines(source)
        except pl.exceptions.ComputeError:
            content = self._content()
            if _is_utf8(content):
                raise
        return _read_lines(content.decode("utf-8", "replace").encode("utf-8"))

    def blocks(self, size: int) -> Iterator[tuple[pl.DataFrame, bool]]:
        """The lines in blocks of about `size` bytes of whole lines, read one block at a
        time, each with whether it is the input's unterminated last line (always a block of
        its own)."""
        first = 1
        with self._open() as stream:
            carry = b""
            while chunk := stream.read(size):
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                block, carry = data[:cut], data[cut:]
                if block:
                    lines = _block_lines(block, first)
                    first += lines.height
                    yield lines, False
            if carry:
                yield _block_lines(carry, first), True

    def unterminated(self) -> bool:
        """Whether the content does not end with a newline (a partly written last line)."""
        if self.path is not None and not self._gzipped():
            with self.path.open("rb") as file:
                end = file.seek(0, os.SEEK_END)
                return end > 0 and file.seek(end - 1) >= 0 and file.read(1) != b"\n"
        last = b""
        with self._open() as stream:
            while chunk := stream.read(1 << 20):
                last = chunk[-1:]
        return last not in (b"", b"\n")

    def _gzipped(self) -> bool:
        if self.path is None:
            return False
        with self.path.open("rb") as file:
            return file.read(2) == GZIP_MAGIC

    def _open(self) -> io.BufferedIOBase:
        if self.path is None:
            return io.BytesIO(self.data or b"")
        if self._gzipped():
            return gzip.GzipFile(self.path, "rb")
        return self.path.open("rb")

    def _content(self) -> bytes:
        with self._open() as stream:
            return stream.read()


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_lines(source: str | bytes) -> pl.DataFrame:
    if isinstance(source, bytes) and not source:
        return pl.DataFrame(schema={"source_line": pl.Int64(), "line": pl.String()})
    lines = pl.read_lines(source, row_index_name="source_line", row_index_offset=1)
    return lines.with_columns(pl.col("source_line").cast(pl.Int64()))


def _block_lines(block: bytes, first: int) -> pl.DataFrame:
    """The lines of a block of bytes, numbered from `first`; bytes that are not UTF-8 become
    U+FFFD."""
    try:
        lines = _read_lines(block)
    except pl.exceptions.ComputeError:
        lines = _read_lines(block.decode("utf-8", "replace").encode("utf-8"))
    return lines.with_columns(pl.col("source_line") + (first - 1))


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
