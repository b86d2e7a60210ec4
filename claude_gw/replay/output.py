"""The result file: appended whole lines as results arrive, and read back to resume.

Lines are written with a single `os.write` per batch on an `O_APPEND` descriptor, so a run
stopped at any moment leaves whole lines only (a line cut by a crash of the machine is ignored
when reading back). `ResultWriter` batches the lines of one run: one task writes whatever has
arrived since its last write, off the event loop, so a busy run makes few large writes and a
quiet one writes each line at once. `done_pairs` lists the (source id, target name) pairs
the file already answers, which a new run skips; `resume` also takes out the error rows of the
pairs a new run sends again, so the file keeps one record per pair.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


Pair = tuple[str, str]  # (source id, target name)


def pair_of(line: bytes) -> tuple[Pair, bool] | None:
    """The pair a result line records and whether it is an answer (status below 400); None
    for a line that is not a result (not JSON, cut off, no `replay` part)."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    part = doc.get("replay") if isinstance(doc, dict) else None
    if not isinstance(part, dict) or "source_id" not in part or "target" not in part:
        return None
    status = (doc.get("response") or {}).get("status")
    answered = isinstance(status, int) and status < 400
    return (str(part["source_id"]), str(part["target"])), answered


def recorded(path: str | os.PathLike[str]) -> Iterator[tuple[Pair, bool]]:
    """(pair, answered) for each result line of the file, read a line at a time; nothing
    when it does not exist."""
    try:
        file = Path(path).open("rb")
    except FileNotFoundError:
        return
    with file:
        for line in file:
            found = pair_of(line)
            if found is not None:
                yield found


def done_pairs(path: str | os.PathLike[str], *, keep_failed: bool = False) -> set[Pair]:
    """The pairs `path` holds an answer for (with `keep_failed`, an error row counts too);
    empty when it does not exist."""
    return {pair for pair, answered in recorded(path) if answered or keep_failed}


def resume(
    path: str | os.PathLike[str], wanted: set[Pair], *, keep_failed: bool = False
) -> set[Pair]:
    """The pairs of `wanted` that `path` already has (see `done_pairs`). Unless `keep_failed`,
    the error rows of the wanted pairs without an answer are taken out of the file first (it
    is rewritten, then renamed over the old one), since those pairs are sent again."""
    answered: set[Pair] = set()
    failed: set[Pair] = set()
    for pair, ok in recorded(path):
        (answered if ok else failed).add(pair)
    if keep_failed:
        return (answered | failed) & wanted
    retried = (failed & wanted) - answered
    if retried:
        drop_lines(path, lambda line: (found := pair_of(line)) is not None and found[0] in retried)
    return answered & wanted


def drop_lines(path: str | os.PathLike[str], drop: Callable[[bytes], bool]) -> None:
    """Rewrite `path` without the lines `drop` picks: into a new file beside it, renamed over
    it at the end, so a reader (or a crash) sees the old file or the new one, never half."""
    source = Path(path)
    temporary = source.with_name(f".{source.name}.{os.getpid()}.tmp")
    try:
        with source.open("rb") as old, temporary.open("wb") as new:
            new.writelines(line for line in old if not drop(line))
        os.replace(temporary, source)
    finally:
        temporary.unlink(missing_ok=True)


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
