"""The one masking step on what leaves the gateway: every byte sent to a client, every log line,
every console line the server writes.

`masked_send(send, masker)` wraps an ASGI `send`: header values and body bytes pass through the
masker (`logs.redact.Masker`: the upstream keys, any 8+ prefix of them, URL credentials), the
body as one stream, so a key split over two writes is masked too. A response with a
`content-length` is held back until its body is masked, so that the length stays true.
`console_text` is the same for console lines, with terminal escapes made visible, and
`guard_console` applies it to every record of the serving loggers (`ConsoleFilter`).
"""

from __future__ import annotations

import logging
import traceback
import weakref
from collections.abc import Awaitable, MutableMapping
from typing import Any

from claude_gw.logs.mask import Masker, printable
from claude_gw.server.asgi import Send


def masked_send(send: Send, masker: Masker) -> Send:
    """`send` with the masker applied to every header value and body byte (see the module)."""
    if not masker:
        return send
    body = masker.stream()
    held: list[MutableMapping[str, Any]] = []

    # A plain function that returns `send`'s own awaitable: no coroutine of its own per call
    # (a stream makes one call per upstream read).
    def masked(message: MutableMapping[str, Any]) -> Awaitable[None]:
        if message["type"] == "http.response.body":
            data = message.get("body", b"")
            masked_data = body.feed(data)
            if masked_data is not data:
                message = {**message, "body": masked_data}
            if held:
                start = with_length(held.pop(), len(masked_data), len(data))
                return _in_turn(send, start, message)
            return send(message)
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            # one look at all the values joined (a secret cut between two values is none)
            if masker.may_hold(b"\n".join([value for _, value in headers])):
                headers = [(name, masker.data(value)) for name, value in headers]
                message = {**message, "headers": headers}
            for name, _ in headers:
                if name.lower() == b"content-length":
                    held.append(message)
                    return _sent()
        return send(message)

    return masked


async def _in_turn(send: Send, *messages: MutableMapping[str, Any]) -> None:
    for message in messages:
        await send(message)


async def _sent() -> None:
    """What `masked` returns for a message it holds back: nothing to wait for."""


def with_length(
    start: MutableMapping[str, Any], masked: int, sent: int
) -> MutableMapping[str, Any]:
    """The held `http.response.start` with its content-length corrected for the masking (a
    response with a length has one body write)."""
    if masked == sent:
        return start
    headers = [
        (name, str(masked).encode() if name.lower() == b"content-length" else value)
        for name, value in start["headers"]
    ]
    return {**start, "headers": headers}


def console_text(masker: Masker, text: str) -> str:
    """`text` as the console may show it: secrets masked, escape sequences made visible."""
    return printable(masker.text(text), keep="\n")


# The loggers of the serving path: what they say may quote upstream answers (messages, model
# names), client strings (paths) and exception messages.
SERVING_LOGGERS = (
    "claude_gw.server",
    "claude_gw.logs.cost",
    "claude_gw.logs.encode",
    "claude_gw.logs.record",
    "claude_gw.logs.writer",
)


class ConsoleFilter(logging.Filter):
    """Masks (every live gateway's secrets) and escapes each record of the serving loggers,
    its traceback included, before any handler formats it."""

    def __init__(self) -> None:
        super().__init__()
        self.maskers: weakref.WeakSet[Masker] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._safe(record.getMessage()), ()
        if record.exc_info:
            trace = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text, record.exc_info = self._safe(trace), None
        return True

    def _safe(self, text: str) -> str:
        for masker in list(self.maskers):
            text = masker.text(text)
        return printable(text, keep="\n")


CONSOLE = ConsoleFilter()


def guard_console(masker: Masker) -> None:
    """Mask `masker`'s secrets in what the serving loggers say, for as long as it lives."""
    CONSOLE.maskers.add(masker)
    for name in SERVING_LOGGERS:
        logger = logging.getLogger(name)
        if CONSOLE not in logger.filters:
            logger.addFilter(CONSOLE)
