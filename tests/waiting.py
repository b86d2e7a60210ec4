"""Bounded waits for what another thread or process does (the log writer's thread, a server
starting, a stream being cancelled): one loop, one timeout message, for every test."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

LOG_TIMEOUT_S = 5.0


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, *, every: float = 0.02
) -> None:
    """Return once `condition()` is true; an AssertionError saying `what` was awaited when
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def wait_for_lines(path: Path, count: int, timeout: float = LOG_TIMEOUT_S) -> list[bytes]:
    """The lines of `path` once it holds at least `count` (the log writer runs in its own
    thread)."""
    found: list[bytes] = []

    def enough() -> bool:
        nonlocal found
        found = path.read_bytes().splitlines() if path.exists() else []
        return len(found) >= count

    wait_until(enough, timeout, f"{count} lines in {path}")
    return found
