"""The one masking step on what leaves the gateway: every byte sent to a client, every log line,
every console line the server writes.

`masked_send(send, masker)` wraps an ASGI `send`: header values and body bytes pass through the
masker (`logs.redact.Masker`: the upstream keys, any 8+ prefix of them, URL credentials), the
body as one stream, so a key split over two writes is masked too. A response with a
`content-length` is held back until its body is masked, so that the length stays true.
`console_text` is the same for console lines, with terminal escapes made visible.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import MutableMapping
from typing import Any

from claude_gw.logs.redact import Masker, printable
from claude_gw.server.asgi import Send


def masked_send(send: Send, masker: Masker) -> Send:
    """`send` with the masker applied to every header value and body byte (see the module)."""
    if not masker:
        return send
    body = masker.stream()
    held: list[MutableMapping[str, Any]] = []

    async def masked(message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = [(name, masker.data(value)) for name, value in message.get("headers", ())]
            message = {**message, "headers": headers}
            if any(name.lower() == b"content-length" for name, _ in headers):
                held.append(message)
                return
        elif kind == "http.response.body":
            data = message.get("body", b"")
            masked_data = body.feed(data)
            if masked_data is not data:
                message = {**message, "body": masked_data}
            if held:
                await send(with_length(held.pop(), len(masked_data), len(data)))
        await send(message)

    return masked


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


def log_exception(logger: logging.Logger, masker: Masker, message: str, *args: object) -> None:
    """`logger.exception(message, *args)`, with the message and the traceback masked and
    escaped: a traceback quotes exception messages, which may quote upstream answers."""
    text = message % args if args else message
    trace = traceback.format_exc()
    logger.error("%s", console_text(masker, f"{text}\n{trace}".rstrip("\n")))
