"""The result file: appended one whole line per result, and read back to resume.

Each record is written with a single `os.write` on an `O_APPEND` descriptor, so a run stopped
at any moment leaves whole lines only (a line cut by a crash of the machine is ignored when
reading back). `done_pairs` lists the (source id, target name) pairs already in the file, which
a new run skips.
"""

from __future__ import annotations

import os
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


def append_record(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one record as one line, in one write."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps(record) + b"\n"
    fd = os.open(path, FLAGS, 0o644)
    try:
        done = os.write(fd, line)
        if done != len(line):  # a short write (disk full): the reader skips the broken line
            raise OSError(f"short write to {path}: {done} of {len(line)} bytes")
    finally:
        os.close(fd)
