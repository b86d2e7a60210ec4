"""What `read_logs` / `scan_logs` accept as a source, resolved into `Input`s.

A source is a path, a glob (`logs/*.json*`), a directory, an open text (or binary) stream, or
a list of these. Contracts:

- A directory means its `*.json`, `*.jsonl`, `*.ndjson` files and their `.gz` versions
  (not recursive), sorted by name; an existing directory without any is an empty source.
- A glob's matches are sorted by name; a glob that matches nothing, and a path that does not
  exist, raise `FileNotFoundError`.
- A list keeps its order; a file named twice is read once.
- gzip is recognised by its magic bytes, whatever the file is called; its members are
  decompressed one after the other; a gzip stream cut short gives the lines it holds.
- A stream is read whole when the load starts; it is named by its `name` attribute when that
  is a string (an open file), else `<stream>`.
- Lines are read as bytes, in blocks of whole lines (`BLOCK_BYTES`, at most `BLOCK_LINES`
  lines), one block ahead of the decoding; gzip is decompressed as it is read. A block's
  `lines` frame splits them as `pl.scan_lines` does (on `\n`, one trailing `\r` dropped, no
  empty line after a final newline), bytes that are not UTF-8 replaced by U+FFFD.
"""

from __future__ import annotations

import glob
import io
import os
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, BinaryIO

import polars as pl

PATTERNS = tuple(f"*{ext}{gz}" for ext in (".json", ".jsonl", ".ndjson") for gz in ("", ".gz"))
GZIP_MAGIC = b"\x1f\x8b"
STREAM_NAME = "<stream>"
BLOCK_BYTES = 32 << 20  # bytes per block (more when one line is longer): workers decode blocks
BLOCK_LINES = 65536  # lines per block at most
READ_BYTES = 1 << 20  # compressed bytes read at a time from a gzip file

Source = str | os.PathLike[str] | IO[str] | IO[bytes] | list[Any] | tuple[Any, ...]


@dataclass(frozen=True)
class Block:
    """Whole lines of one input, numbered from `first_line` (1-based), as the bytes read:
    each line ends with `\\n` but the input's last may not; `ends[i]` is where line i ends
    (its `\\n`, or the end of `data`). `data` is the block's own buffer (a decoder may change
    it in place and restore it), given back for reuse once the block is decoded."""

    data: bytearray
    first_line: int
    ends: list[int]
    last: bool  # the block holds the input's last line
    done: float  # share of the input read so far, 0 to 1

    @property
    def count(self) -> int:
        return len(self.ends)

    @property
    def last_line(self) -> int:
        return self.first_line + self.count - 1

    @cached_property
    def lines(self) -> pl.DataFrame:
        """`source_line` (Int64) and `line` (text, without its `\\r\\n`; see the module
        docstring)."""
        text = self.data.decode("utf-8", "replace")
        parts = text.split("\n")
        if text.endswith("\n"):
            parts.pop()
        stripped = [part[:-1] if part.endswith("\r") else part for part in parts]
        numbers = range(self.first_line, self.first_line + len(stripped))
        return pl.DataFrame(
            {
                "source_line": pl.Series(numbers, dtype=pl.Int64()),
                "line": pl.Series(stripped, dtype=pl.String()),
            }
        )


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

    def blocks(
        self, lines: int = BLOCK_LINES, size: int = BLOCK_BYTES, buffers: Buffers | None = None
    ) -> Iterator[Block]:
        """The lines in blocks of `size` bytes (more for a longer line) and at most `lines`
        lines (see the module docstring), read into buffers taken from `buffers`."""
        total, read, first = max(1, self._text_size()), 0, 1
        pool = buffers if buffers is not None else Buffers(0)
        with self._reader() as reader:
            for data, ends, last in _with_last(_split(_buffers(reader, size, pool), lines)):
                read += len(data)
                yield Block(data, first, ends, last, 1.0 if last else min(1.0, read / total))
                first += len(ends)

    def unterminated(self) -> bool:
        """Whether the content does not end with a newline (a partly written last line).
        Cheap for a plain file; a gzip file is decompressed to its end."""
        if self.path is not None and not self._gzipped():
            with self.path.open("rb") as file:
                end = file.seek(0, os.SEEK_END)
                file.seek(max(0, end - 1))
                return end > 0 and file.read(1) != b"\n"
        return _content(self)[-1:] not in (b"", b"\n")

    def _reader(self) -> BinaryIO:
        """The input's text as a binary file, decompressed if it is gzip."""
        raw: BinaryIO
        raw = self.path.open("rb") if self.path is not None else io.BytesIO(self.data or b"")
        return _Gunzip(raw) if self._gzipped() else raw  # type: ignore[return-value]

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


def _with_last(
    blocks: Iterator[tuple[bytearray, list[int]]],
) -> Iterator[tuple[bytearray, list[int], bool]]:
    """Each block with whether it is the last one (one block of look-ahead)."""
    previous: tuple[bytearray, list[int]] | None = None
    for block in blocks:
        if previous is not None:
            yield *previous, False
        previous = block
    if previous is not None:
        yield *previous, True


class Buffers:
    """Buffers for blocks, given back once a block is decoded and taken again for the next:
    reading into fresh memory costs a page fault every 4 kB (~3x the CPU of the copy)."""

    def __init__(self, keep: int) -> None:
        self._free: deque[bytearray] = deque(maxlen=keep) if keep else deque(maxlen=1)
        self._keep = keep

    def take(self, size: int) -> bytearray:
        """A buffer of `size` bytes, of unspecified content."""
        while self._keep and self._free:
            buffer = self._free.pop()
            missing = size - len(buffer)
            if missing > size // 8:
                continue  # much smaller: growing it would fault as much as a new one
            try:
                if missing > 0:
                    buffer.extend(bytes(missing))
                else:
                    del buffer[size:]
            except BufferError:  # still exported somewhere: leave it
                continue
            return buffer
        return bytearray(size)

    def give(self, buffer: bytearray) -> None:
        """`buffer` is no longer read: the next block may be read into it."""
        if self._keep:
            self._free.append(buffer)


def _buffers(reader: BinaryIO, size: int, pool: Buffers) -> Iterator[bytearray]:
    """The reader's bytes in buffers of about `size` bytes, each cut after a newline (the
    last one after the last byte), each read straight into a buffer of its own."""
    carry = b""
    while True:
        buffer = pool.take(max(size, 2 * len(carry)))
        buffer[: len(carry)] = carry
        with memoryview(buffer) as view:
            filled = len(carry) + _fill(reader, view[len(carry) :])
        if filled < len(buffer):  # the end of the input
            del buffer[filled:]
            if buffer:
                yield buffer
            return
        cut = buffer.rfind(b"\n") + 1
        carry = bytes(buffer[cut:]) if cut else bytes(buffer)
        if cut:
            del buffer[cut:]
            yield buffer


def _fill(reader: BinaryIO, view: memoryview) -> int:
    """Read into `view` until it is full or the input ends; the number of bytes read."""
    filled = 0
    while filled < len(view):
        got = reader.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled


def _split(buffers: Iterator[bytearray], lines: int) -> Iterator[tuple[bytearray, list[int]]]:
    """Each buffer with where its lines end, cut in parts of at most `lines` lines."""
    for buffer in buffers:
        ends = _line_ends(buffer)
        while len(ends) > lines:
            cut = ends[lines - 1] + 1
            yield buffer[:cut], ends[:lines]
            del buffer[:cut]
            ends = [end - cut for end in ends[lines:]]
        yield buffer, ends


def _line_ends(data: bytearray) -> list[int]:
    """Where each line of `data` ends: its `\\n`, or the end of `data` for a last line
    without one. (A loop of `find` takes a fourth of the time of `data.count`.)"""
    ends, find = [], data.find
    at = find(b"\n")
    while at >= 0:
        ends.append(at)
        at = find(b"\n", at + 1)
    if data and data[-1:] != b"\n":
        ends.append(len(data))
    return ends


class _Gunzip(io.RawIOBase):
    """A gzip file's text (one member after the other), read as it is decompressed. A stream
    cut short gives what could be decompressed (as `_content` does)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._member = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed bytes not yet given to the decompressor
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._ended:
            if not self._pending:
                self._pending = self._raw.read(READ_BYTES)
                if not self._pending:  # the compressed data ends (early, if mid-member)
                    self._ended = True
                    break
            out = self._member.decompress(self._pending, len(view))
            self._pending = self._member.unconsumed_tail
            if self._member.eof:
                self._pending = self._member.unused_data + self._pending
                self._member = zlib.decompressobj(wbits=31)
                if not self._pending:
                    self._pending = self._raw.read(READ_BYTES)
                    self._ended = not self._pending
            if out:
                view[: len(out)] = out
                return len(out)
        return 0

    def close(self) -> None:
        self._raw.close()
        super().close()


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
