"""Server-Sent Events framing: one incremental decoder, one encoder.

The decoder follows the WHATWG `text/event-stream` parsing rules (`\\n`, `\\r\\n` and `\\r` line
ends; one optional space after the colon; comments and `id:`/`retry:` ignored) and is correct for
any split of the byte stream, including inside a multi-byte UTF-8 character and between `\\r` and
`\\n`. It does not parse JSON: `data` is handed back as text (trailing spaces included, which JSON
parsers ignore) and `data: [DONE]` is the caller's business.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: its `event:` name (None when absent) and its data lines joined."""

    event: str | None
    data: str


@dataclass
class _Pending:
    """The event being assembled from the lines seen since the last blank line."""

    event: str | None = None
    data: list[str] = field(default_factory=list)


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes)` as bytes arrive, `flush()` once at end of stream.

    An event is dispatched at the blank line that ends it, and only if it has at least one
    `data` line (so a lone `event:` line yields nothing). `flush()` dispatches an event the
    stream ended without its blank line, which the SSE spec would drop: a cut stream's last
    chunk is worth keeping.
    """

    def __init__(self) -> None:
        # utf-8-sig drops the optional byte-order mark the spec allows at the start.
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial: list[str] = []  # text of the current line, not yet ended
        self._skip_lf = False  # the previous text ended with `\r`: a leading `\n` belongs to it
        self._pending = _Pending()

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._decode_text(self._utf8.decode(data))

    def flush(self) -> list[SSEEvent]:
        events = self._decode_text(self._utf8.decode(b"", final=True))
        if self._partial:
            events.extend(self._line("".join(self._partial)))
            self._partial = []
        events.extend(self._dispatch())
        return events

    def _decode_text(self, text: str) -> list[SSEEvent]:
        if self._skip_lf and text:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if not text:
            return []
        *lines, rest = _LINE_END.split(text)
        self._skip_lf = text.endswith("\r")
        events: list[SSEEvent] = []
        for piece in lines:
            self._partial.append(piece)
            line = "".join(self._partial)
            self._partial = []
            events.extend(self._line(line))
        self._partial.append(rest)
        return events

    def _line(self, line: str) -> list[SSEEvent]:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []  # a comment, often used as a keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._pending.data.append(value)
        elif name == "event":
            # Trailing whitespace in an event name is never meaningful; tolerate it.
            self._pending.event = value.rstrip() or None
        return []

    def _dispatch(self) -> list[SSEEvent]:
        pending, self._pending = self._pending, _Pending()
        if not pending.data:
            return []
        return [SSEEvent(event=pending.event, data="\n".join(pending.data))]


def encode_event(
    event: Mapping[str, Any], *, dumps: Callable[[Mapping[str, Any]], bytes] | None = None
) -> bytes:
    """`event: <type>\\ndata: <compact JSON>\\n\\n` in UTF-8: the project's one SSE encoder.

    A lone surrogate (an upstream that split an emoji between two `\\uXXXX` escapes) cannot be
    encoded as UTF-8; it is written back as its JSON escape, so a JavaScript client that
    concatenates the two deltas still gets the emoji.

    `dumps` is a faster compact JSON encoder to use (the server passes orjson's; this module
    stays standard-library only). What it refuses (raising TypeError or ValueError: a lone
    surrogate, an integer past 64 bits) is encoded here as above.
    """
    if dumps is not None:
        try:
            return b"event: %s\ndata: %s\n\n" % (event["type"].encode(), dumps(event))
        except (TypeError, ValueError):
            pass
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode("utf-8", "backslashreplace")
