"""Encoding a log record as one NDJSON line, robustly."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from claude_gw.logs.record import GATEWAY_FIELDS_VERSION
from claude_gw.wire import LogRecord

logger = logging.getLogger("claude_gw.logs.encode")

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
_MAX_DEPTH = 64


def encode_record(record: LogRecord) -> bytes:
    """One NDJSON line (ends in b"\\n"); never raises, whatever the record holds.

    Values orjson cannot encode become strings; a record that still fails (cycles, lone
    surrogates, huge ints) is sanitised first, and as a last resort replaced by a stub line
    that says so, so the request is still counted.
    """
    try:
        return orjson.dumps(record, default=_fallback, option=_OPTIONS)
    except (TypeError, ValueError):
        pass
    try:
        return orjson.dumps(_sanitise(record, 0), option=_OPTIONS)
    except Exception:
        logger.exception("could not encode a log record")
        stub = {"claude_gw": {"v": GATEWAY_FIELDS_VERSION, "error_type": "log_encoding_error"}}
        return orjson.dumps(stub, option=_OPTIONS)


def _fallback(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _sanitise(value: Any, depth: int) -> Any:
    """A JSON-safe copy: str keys, valid UTF-8, 64-bit ints, no cycles (depth-capped)."""
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, Mapping):
        return {_text(k): _sanitise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_sanitise(v, depth + 1) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    return _text(value)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else _fallback(value)
    return text.encode("utf-8", errors="replace").decode("utf-8")
