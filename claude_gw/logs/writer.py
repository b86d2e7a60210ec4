"""`LogWriter`: appends whole NDJSON lines to a file from a dedicated thread.

Contracts:
- `write()` never waits on the disk: it appends the line to a bounded queue (at most `put_timeout`
  seconds when the queue is full) and returns, so it is safe on the event loop and from any thread.
- The writer thread is woken by the first line after it went idle, then waits `linger` seconds
  (5 ms) for more before writing: one wake-up per batch, not per line (a wake-up per line
  cost the gateway far more CPU than the write itself: `bench/README.md`).
- Every line reaches the file whole: the writer thread joins the lines queued together into one
  batch and appends it with a single `os.write` on an `O_APPEND` descriptor, which the kernel
  applies atomically with respect to other appenders, so lines never interleave even with
  several processes writing the same file (like Kong's file-log).
- A log file that was moved or deleted (logrotate) is noticed before the next batch (one `stat`
  per batch) and a new file is opened at the original path; lines already written stay in the
  moved file.
- No line is lost silently: a failed write is counted in `lines_failed` and reported to
  `on_error`, and the thread keeps going.
- A write that failed part-way through a line (a full disk) leaves that line's beginning in the
  file; the next batch written to the same file starts with a newline, so the fragment stays a
  line of its own (readers skip it as a bad line) and the next record is whole.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final

logger = logging.getLogger("claude_gw.logs.writer")

FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
MODE: Final = 0o644
MAX_BATCH_BYTES: Final = 1 << 20  # one write call carries at most ~1 MiB of whole lines
LINGER_S: Final = 0.005

WriteFn = Callable[[int, bytes], int]
ErrorCallback = Callable[[Exception], None]


class LogWriter:
    """Appends lines to `path` from one background thread; see the module docstring.

    `write_fn` (default `os.write`) is the injection point for tests that slow down or break
    the disk; it must behave like `os.write(fd, data) -> bytes written`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_error: ErrorCallback | None = None,
        max_queued: int = 100_000,
        put_timeout: float = 0.1,
        write_fn: WriteFn = os.write,
        linger: float = LINGER_S,
    ) -> None:
        self.path = Path(path)
        self.on_error = on_error
        self.put_timeout = put_timeout
        self.linger = linger
        self._write_fn = write_fn
        self._max_queued = max_queued
        self._pending: deque[bytes] = deque()  # appended by write(), popped by the thread
        self._lock = threading.Lock()  # guards `_closed`, the counters and waits for room
        self._room = threading.Condition(self._lock)  # notified when the thread takes lines
        self._wake = threading.Event()  # set: lines (or the stop) are waiting
        self._closed = False
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
        self._written = 0
        self._failed = 0
        self._cut: tuple[int, int] | None = None  # the file a write left a line cut short in

    @property
    def lines_written(self) -> int:
        return self._written

    @property
    def lines_failed(self) -> int:
        return self._failed

    def start(self) -> None:
        """Open the file (creating its directory) and start the writer thread.

        Raises OSError if the file cannot be opened now, so a bad path fails at start-up.
        """
        if self._thread is not None:
            return
        self._open()
        self._thread = threading.Thread(target=self._run, name="claude_gw-log-writer", daemon=True)
        self._thread.start()

    def write(self, record_line: bytes) -> None:
        """Queue one line (a trailing newline is added if missing); returns without disk I/O.

        Waits at most `put_timeout` seconds, only when `max_queued` lines are already waiting;
        a line that cannot be queued is counted in `lines_failed` and reported.
        """
        line = record_line if record_line.endswith(b"\n") else record_line + b"\n"
        # The lock orders write() against close(): no line is queued once close() has begun.
        with self._lock:
            if self._closed:
                error = RuntimeError(f"log writer for {self.path} is closed")
            elif len(self._pending) < self._max_queued or self._room.wait_for(
                lambda: len(self._pending) < self._max_queued, self.put_timeout
            ):
                self._pending.append(line)
                error = None
            else:
                error = RuntimeError(f"log queue for {self.path} is full: the disk is too slow")
            if error is not None:
                self._failed += 1
        if error is not None:
            self._report(error, 1)
        elif not self._wake.is_set():  # the line is queued before the flag is read: none missed
            self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued so far, stop the thread and close the file; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        thread = self._thread
        if thread is not None:
            self._wake.set()
            thread.join(timeout)
            if thread.is_alive():
                logger.error(
                    "log writer for %s did not finish within %.1fs; %d lines still queued",
                    self.path,
                    timeout,
                    len(self._pending),
                )
                return
        else:  # never started: write what was queued, here
            self._drain_into_batches()
        self._close_fd()

    def __enter__(self) -> LogWriter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- writer thread

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()  # before taking lines: a line queued after this sets it again
            if not self._closed and self.linger > 0:
                time.sleep(self.linger)  # let the lines of a busy moment gather into one batch
            closing = self._closed  # read before draining: no line can follow a close
            self._drain_into_batches()
            if closing:
                return

    def _take_batch(self) -> list[bytes]:
        """Queued lines from the oldest, up to MAX_BATCH_BYTES (at least one if any)."""
        batch: list[bytes] = []
        size = 0
        pending = self._pending
        while pending and size < MAX_BATCH_BYTES:
            line = pending.popleft()
            batch.append(line)
            size += len(line)
        if batch:
            with self._lock:
                self._room.notify_all()
        return batch

    def _drain_into_batches(self) -> None:
        while batch := self._take_batch():
            self._write_batch(batch)

    def _write_batch(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        done = 0
        try:
            fd = self._current_fd()
            if self._cut is not None and self._cut == self._identity:
                data = b"\n" + data  # end the line a failed write cut short
                lines = [b"\n" + lines[0], *lines[1:]]
            while done < len(data):  # a short write (disk nearly full) continues, then fails
                done += self._write_fn(fd, data[done:])
        except Exception as exc:  # disk full, permissions, a broken write_fn: keep going
            whole = self._whole_lines(lines, done)
            if done > sum(len(line) for line in lines[:whole]):
                self._cut = self._identity  # part of a line is in the file now
            with self._lock:
                self._written += whole
                self._failed += len(lines) - whole
            self._report(exc, len(lines) - whole)
            self._close_fd()  # the next batch reopens
            return
        self._cut = None
        with self._lock:
            self._written += len(lines)

    @staticmethod
    def _whole_lines(lines: list[bytes], done: int) -> int:
        count = end = 0
        for line in lines:
            end += len(line)
            if end > done:
                break
            count += 1
        return count

    # ----------------------------------------------------------------- file handling

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, FLAGS, MODE)
        stat = os.fstat(fd)
        self._fd, self._identity = fd, (stat.st_dev, stat.st_ino)

    def _current_fd(self) -> int:
        """The descriptor to write to, reopened if the file at `path` is gone or replaced."""
        if self._fd is not None and self._identity == self._path_identity():
            return self._fd
        self._close_fd()
        self._open()
        assert self._fd is not None
        return self._fd

    def _path_identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def _close_fd(self) -> None:
        fd, self._fd, self._identity = self._fd, None, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                self._report(exc, 0)

    def _report(self, error: Exception, lost: int) -> None:
        if self.on_error is None:
            logger.error("log writer for %s: %s (%d lines lost)", self.path, error, lost)
            return
        try:
            self.on_error(error)
        except Exception:
            logger.exception("the on_error callback of the log writer failed")
