"""A captured session, turn by turn: what Claude Code sent, what came back, what each turn cost,
and what changed since the turn before.

Invariant: the page shows what the log holds and nothing else: no request is sent, a record
it cannot read is skipped (never guessed at), and every text from the log reaches the page
escaped, in its HTML or in the JSON document its script reads.

- `turns.sessions(records)`: the log's sessions as `Turn`s (tokens, cost, latency, tools,
  the request and answer when the log has payloads, changes since the agent's previous turn,
  replays beside the turn they replayed);
- `page.render(sessions)`: one self-contained HTML page of them;
- `session_view(paths, session=...)` and `write_view(...)`: both from log files, as
  `claude-gw view LOG -o session.html` does; `show(...)` for a notebook.

Reads claude_gw's and Kong's claude.json lines (`.gz` too) with the standard library and
orjson: no DataFrame engine needed.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from claude_gw.view.page import render
from claude_gw.view.turns import Session, Turn, sessions

__all__ = ["Session", "Turn", "read_records", "render", "session_view", "sessions", "show"]

SUFFIXES = (".json", ".jsonl", ".ndjson")


def log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the claude.json files (`.gz` too) of directories named, in order;
    `FileNotFoundError` for a path that does not exist."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.name.removesuffix(".gz").endswith(SUFFIXES)
            )
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {given}")
    return list(dict.fromkeys(found))


def read_records(paths: Iterable[str | Path]) -> tuple[list[dict[str, Any]], int]:
    """(the records of the files, lines skipped: not JSON, or not a request record)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    for path in log_files(paths):
        for line in _lines(path):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                skipped += 1
                continue
            if isinstance(record, dict) and isinstance(record.get("request"), dict):
                records.append(record)
            else:
                skipped += 1
    return records, skipped


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rb") as stream:
        try:
            yield from stream
        except EOFError:  # a gzip file cut short: the lines it held
            return


def session_view(
    paths: Sequence[str | Path] | str | Path, *, session: str | None = None
) -> list[Session]:
    """The sessions of the logs at `paths`; with `session`, the one whose id (or capture name)
    is or starts with it (`LookupError` naming the sessions there are, when none is)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    records, _ = read_records(paths)
    found = sessions(records)
    if session is None:
        return found
    chosen = [s for s in found if s.capture == session or s.id.startswith(session)]
    if not chosen:
        known = ", ".join(f"{s.id} ({s.capture})" if s.capture else s.id for s in found)
        raise LookupError(f"no session {session!r} in the log; it has: {known or 'none'}")
    return chosen


def write_view(
    paths: Sequence[str | Path] | str | Path,
    output: str | Path,
    *,
    session: str | None = None,
    title: str = "claude_gw session view",
) -> list[Session]:
    """Write the view of the logs at `paths` to `output`; the sessions shown."""
    shown = session_view(paths, session=session)
    Path(output).write_text(render(shown, title=title), encoding="utf-8")
    return shown


def show(paths: Sequence[str | Path] | str | Path, *, session: str | None = None) -> Any:
    """The view for a notebook cell: an `IPython.display.HTML` of the page (its script runs
    in Jupyter; the table reads without it)."""
    from IPython.display import HTML

    return HTML(render(session_view(paths, session=session)))  # type: ignore[no-untyped-call]
