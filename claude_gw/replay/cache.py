"""A content-addressed on-disk cache of successful answers, keyed by target and request.

The key is the SHA-256 of the target's fingerprint (kind, base URL, model, parameters: not its
name) and the request's content hash, so re-running a notebook sends nothing it already sent.
Each entry is one JSON file, written to a temporary name and renamed into place, so a reader
never sees half an entry. Errors are never cached.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from claude_gw.replay.send import Answer
from claude_gw.replay.targets import Target


def cache_key(target: Target, request_key: str) -> str:
    return hashlib.sha256(f"{target.fingerprint}\n{request_key}".encode()).hexdigest()


class ResponseCache:
    """`get`/`put` answers under `directory` (created on first `put`); blocking file I/O."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, target: Target, request_key: str) -> Answer | None:
        """The cached answer, or None (also for an unreadable entry)."""
        try:
            doc: Any = orjson.loads(self._path(cache_key(target, request_key)).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("message"), dict):
            return None
        return Answer(
            message=doc["message"],
            usage=doc.get("usage"),
            upstream_status=int(doc.get("upstream_status") or 200),
            t_sent=0.0,
            t_done=0.0,
            headers=doc.get("headers") or {},
        )

    def put(self, target: Target, request_key: str, answer: Answer) -> None:
        path = self._path(cache_key(target, request_key))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(
            {
                "message": answer.message,
                "usage": answer.usage,
                "upstream_status": answer.upstream_status,
                "headers": answer.headers,
            }
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
