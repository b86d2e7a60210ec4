"""Requests to replay: loaded from logs (claude_gw's, Kong's with payloads) or from JSONL files
of Anthropic Messages requests, selected, and de-duplicated.

Contracts:
- A log record counts only if it carries its request payload (claude_gw with
  `--log-payloads`, Kong with `log_payloads: true`; `ai.proxy.payload.request`, or
  `ai.payload.request` for Kong 3.6) and that payload is an Anthropic Messages request (a JSON
  object with a `messages` list whose roles are only `user` and `assistant`, which leaves out
  OpenAI chat payloads); `count_tokens` calls are left out.
- A JSONL file whose first JSON line has a `messages` list (and no `request`/`ai` part) is read
  as one Anthropic Messages request per line; a directory is read file by file (`*.json`,
  `*.jsonl`, `*.ndjson` and their `.gz` versions, sorted by name: the files `read_logs` reads
  in a directory), each file detected on its own. gzip is recognised by its magic bytes.
- `ReplayRequest.source_id` is the record's `request.id` when it has one, else
  `<file>:<line>`; `key` is the content hash of the body, so identical requests (the CLI
  retries) share it and `dedupe` keeps the first.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

PATTERNS = tuple(f"*{ext}{gz}" for ext in (".json", ".jsonl", ".ndjson") for gz in ("", ".gz"))
GZIP_MAGIC = b"\x1f\x8b"
# The Claude CLI sends `role: "system"` messages inside `messages` (CLI notes, section 4).
ANTHROPIC_ROLES = {"user", "assistant", "system"}
CHAT_ONLY_ROLES = {"tool", "developer", "function"}


@dataclass(frozen=True)
class ReplayRequest:
    """One Anthropic Messages request to send again, and where it came from."""

    source_id: str
    body: dict[str, Any]
    session_id: str | None = None
    model: str | None = None
    time: datetime | None = None

    # Cached: each is needed for every target the request is replayed on, and hashing or
    # encoding a Claude CLI request (tens of KB) costs more than building its record.
    # (The body is not to be changed once the request is made.)
    @functools.cached_property
    def key(self) -> str:
        return request_key(self.body)

    @functools.cached_property
    def raw(self) -> bytes:
        """The body as JSON."""
        return orjson.dumps(self.body)


def request_key(body: dict[str, Any]) -> str:
    """The content hash of a request body (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def as_request_body(text: Any) -> dict[str, Any] | None:
    """The Anthropic Messages request in a logged payload, or None when it is not one."""
    if not isinstance(text, str | bytes):
        return None
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return None
    # A chat-completions payload (Kong with llm_format openai) is not one: it has roles only
    # chat has, assistant `tool_calls`, or no `max_tokens` (Anthropic requires it).
    messages = [m for m in doc["messages"] if isinstance(m, dict)]
    roles = {m.get("role") for m in messages}
    if not roles <= ANTHROPIC_ROLES or roles & CHAT_ONLY_ROLES:
        return None
    if any("tool_calls" in m for m in messages) or "max_tokens" not in doc:
        return None
    return doc


def files_of(source: str | os.PathLike[str]) -> list[Path]:
    """The files a source names: the file itself, or a directory's matching files, sorted."""
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if path.is_dir():
        return sorted({p for pattern in PATTERNS for p in path.glob(pattern) if p.is_file()})
    return [path]


def open_lines(path: Path) -> io.BufferedIOBase:
    """The file for reading lines, decompressed when it is gzip."""
    with path.open("rb") as file:
        gzipped = file.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def first_json_line(path: Path) -> Any:
    """The first non-blank line, decoded; None when it is not JSON (or the file is a broken
    gzip stream, which `read_logs` then reports)."""
    try:
        with open_lines(path) as file:
            line = next((line for line in file if line.strip()), b"")
    except (OSError, EOFError):
        return None
    try:
        return orjson.loads(line) if line else None
    except orjson.JSONDecodeError:
        return None


def is_request_file(path: Path) -> bool:
    """Whether the file holds raw Anthropic requests rather than log records."""
    doc = first_json_line(path)
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("messages"), list)
        and "ai" not in doc
        and "request" not in doc
    )


def requests_from_jsonl(path: Path) -> Iterator[ReplayRequest]:
    """One request per line that holds one; other lines are skipped, and a gzip stream cut
    short gives the lines before the cut."""
    with open_lines(path) as file:
        for number, line in enumerate(lines_until_cut(file), start=1):
            body = as_request_body(line) if line.strip() else None
            if body is not None:
                model = body.get("model")
                yield ReplayRequest(
                    f"{path}:{number}", body, model=model if isinstance(model, str) else None
                )


def lines_until_cut(file: Iterable[bytes]) -> Iterator[bytes]:
    """The file's lines; a gzip stream that ends early (EOFError) ends them there."""
    try:
        yield from file
    except EOFError:
        return


def requests_from_frame(frame: Any) -> list[ReplayRequest]:
    """The requests of a loaded log (`read_logs(..., payloads=True)`, polars or pandas),
    after any filter the caller applied to it."""
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_pandas(frame)
    if "request_payload" not in frame.columns:
        raise ValueError("the frame has no request_payload column: load it with payloads=True")
    found = []
    for row in frame.iter_rows(named=True):
        body = as_request_body(row["request_payload"])
        if body is None or row.get("endpoint") == "count_tokens":
            continue
        source_id = row.get("request_id") or f"{row.get('source_file')}:{row.get('source_line')}"
        found.append(
            ReplayRequest(
                source_id,
                body,
                session_id=row.get("session_id"),
                model=row.get("requested_model") or body.get("model"),
                time=row.get("time"),
            )
        )
    return found


def load_requests(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[ReplayRequest]:
    """Every request in the files a source names (a file, a directory, or a list of them)."""
    sources = [source] if isinstance(source, str | os.PathLike) else list(source)
    found: list[ReplayRequest] = []
    for path in (p for s in sources for p in files_of(s)):
        if is_request_file(path):
            found.extend(requests_from_jsonl(path))
        else:
            from claude_gw.logs.read import read_logs

            found.extend(requests_from_frame(read_logs(path, payloads=True)))
    return found


def select(
    requests: Iterable[ReplayRequest],
    *,
    session: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Callable[[ReplayRequest], bool] | None = None,
) -> list[ReplayRequest]:
    """The requests that match every criterion given (`until` is exclusive); a request
    without a time never matches a time range."""

    def keep(r: ReplayRequest) -> bool:
        if session is not None and r.session_id != session:
            return False
        if model is not None and r.model != model:
            return False
        if (since or until) and r.time is None:
            return False
        if since is not None and r.time is not None and r.time < since:
            return False
        if until is not None and r.time is not None and r.time >= until:
            return False
        return where is None or where(r)

    return [r for r in requests if keep(r)]


def dedupe(requests: Iterable[ReplayRequest]) -> list[ReplayRequest]:
    """The requests with identical bodies collapsed to the first one seen."""
    seen: set[str] = set()
    kept = []
    for request in requests:
        if request.key not in seen:
            seen.add(request.key)
            kept.append(request)
    return kept
