"""The result file: appended whole lines as results arrive, and read back to resume.

Lines are written with a single `os.write` per batch on an `O_APPEND` descriptor, so a run
stopped at any moment leaves whole lines only (a line cut by a crash of the machine is ignored
when reading back). `ResultWriter` batches the lines of one run: one task writes whatever has
arrived since its last write, off the event loop, so a busy run makes few large writes and a
quiet one writes each line at once. `done_pairs` lists the (source id, target name) pairs
already in the file, which a new run skips.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


def done_pairs(path: str | os.PathLike[str]) -> set[tuple[str, str]]:
    """The (source id, target) pairs recorded in `path`; empty when it does not exist."""
    pairs: set[tuple[str, str]] = set()
    try:
        file = Path(path).open("rb")
    except FileNotFoundError:
        return pairs
    with file:
        for line in file:
            try:
                part = orjson.loads(line).get("replay")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(part, dict) and "source_id" in part and "target" in part:
                pairs.add((str(part["source_id"]), str(part["target"])))
    return pairs


def append_lines(path: str | os.PathLike[str], lines: bytes) -> None:
    """Append whole lines in one write."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, FLAGS, 0o644)
    try:
        done = os.write(fd, lines)
        if done != len(lines):  # a short write (disk full): the reader skips the broken line
            raise OSError(f"short write to {path}: {done} of {len(lines)} bytes")
    finally:
        os.close(fd)


Record = dict[str, Any]


class ResultWriter:
    """Appends the records of one run to `path` (or nowhere, with None) and then calls
    `written(record)` for each, in the order they were added.

    `add` never blocks; `run` is the writing task; `close` writes what is left, whatever
    happened to the run (cancellation included), and ends `run`. A failed write is raised
    by `close` (the records it held are not reported as written).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None, written: Callable[[Record], None]
    ) -> None:
        self.path = path
        self.written = written
        self.pending: list[tuple[bytes, Record]] = []
        self.wake = asyncio.Event()
        self.closing = False
        self.failed: BaseException | None = None

    def add(self, record: Record) -> None:
        if self.failed is not None:  # the file cannot be written: stop the run, loudly
            raise self.failed
        line = orjson.dumps(record) + b"\n" if self.path is not None else b""
        self.pending.append((line, record))
        self.wake.set()

    async def run(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                batch, self.pending = self.pending, []
                if batch:
                    await self._write(batch)
                if self.closing and not self.pending:
                    return
        except BaseException as exc:
            self.failed = exc
            raise

    async def close(self, task: asyncio.Task[None]) -> None:
        """Let `task` (this writer's `run`) write everything added, then end it. Shielded:
        a cancelled run still writes the lines of the pairs it finished."""
        self.closing = True
        self.wake.set()
        await asyncio.shield(task)

    async def _write(self, batch: list[tuple[bytes, Record]]) -> None:
        if self.path is not None:
            await asyncio.to_thread(append_lines, self.path, b"".join(line for line, _ in batch))
        for _, record in batch:
            self.written(record)
