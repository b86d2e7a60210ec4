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
from typing import Any, NamedTuple

_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEEvent(NamedTuple):
    """One dispatched event: its `event:` name (None when absent) and its data lines joined."""

    event: str | None
    data: str


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes)` as bytes arrive, `flush()` once at end of stream.

    An event is dispatched at the blank line that ends it, and only if it has at least one
    `data` line (so a lone `event:` line yields nothing). `flush()` dispatches an event the
    stream ended without its blank line, which the SSE spec would drop: a cut stream's last
    chunk is worth keeping.

    Every byte of a stream passes through here, so the common case is kept short: `\n` line
    ends are split with `str.split`, `data:` lines are recognised first, and each line is
    handled inline rather than by a method call.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_start = True  # the optional byte-order mark the spec allows is dropped here
        self._partial = ""  # text of the current line, not yet ended
        self._skip_lf = False  # the previous text ended with `\r`: a leading `\n` belongs to it
        self._event: str | None = None  # the event being assembled since the last blank line
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._decode_text(self._utf8.decode(data))

    def flush(self) -> list[SSEEvent]:
        events = self._decode_text(self._utf8.decode(b"", final=True))
        if self._partial:
            line, self._partial = self._partial, ""
            self._lines([line, ""], events)  # the unfinished line, then the missing blank line
        else:
            self._lines([""], events)
        return events

    def _decode_text(self, text: str) -> list[SSEEvent]:
        if self._at_start and text:
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return []
        lines = text.split("\n") if "\r" not in text else _LINE_END.split(text)
        self._skip_lf = text[-1] == "\r"
        rest = lines.pop()
        if self._partial:
            if not lines:
                self._partial += rest
                return []
            lines[0] = self._partial + lines[0]
        self._partial = rest
        events: list[SSEEvent] = []
        if lines:
            self._lines(lines, events)
        return events

    def _lines(self, lines: list[str], events: list[SSEEvent]) -> None:
        """Apply whole lines to the pending event, appending the events they dispatch."""
        data = self._data
        for line in lines:
            if not line:  # a blank line dispatches the event, if it has data
                if data:
                    events.append(SSEEvent(self._event, "\n".join(data)))
                    data = self._data = []
                self._event = None
            elif line[:5] == "data:":
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line[0] == ":":
                continue  # a comment, often used as a keep-alive
            else:
                name, _, value = line.partition(":")
                if name == "data":  # `data` alone: an empty data line
                    data.append(value)
                elif name == "event":
                    if value[:1] == " ":
                        value = value[1:]
                    # Trailing whitespace in an event name is never meaningful; tolerate it.
                    self._event = value.rstrip() or None


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
