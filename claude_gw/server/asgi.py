"""Pure ASGI pieces: reading a bounded body, sending a response while counting it, and
running a handler that is cancelled when the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import orjson

from claude_gw.errors import GatewayError, PromptTooLong

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client closed the connection before the request finished."""


def header_list(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]


def header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


async def read_body(scope: Scope, receive: Receive, *, limit: int) -> bytes:
    """The whole request body; `PromptTooLong` as soon as it is known to exceed `limit`."""
    declared = header(scope, "content-length")
    # isascii: str.isdigit() also accepts "²", which int() refuses.
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit, at_least=True)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def too_large(size: int, limit: int, *, at_least: bool = False) -> GatewayError:
    # Answered as a 400 "prompt is too long", not a 413: the Claude CLI compacts on the former
    # and stops with a misleading "max 32MB" message on the latter.
    amount = f"{'over ' if at_least else ''}{size} bytes"
    return PromptTooLong(
        f"the request body is {amount}, over this gateway's limit of {limit} bytes "
        "(claude-gw serve --max-body)"
    )


class Responder:
    """Sends one HTTP response and remembers what was sent, for the log."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.headers: dict[str, str] = {}
        self.size = 0
        self.started = False
        self.finished = False

    async def start(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = dict(headers)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.size += len(f"HTTP/1.1 {status} \r\n") + sum(len(k) + len(v) + 4 for k, v in raw) + 2
        self.started = True
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, data: bytes, *, more: bool = True) -> None:
        self.size += len(data)
        self.finished = not more
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> bytes:
        data = orjson.dumps(doc)
        all_headers = {
            "content-type": "application/json",
            "content-length": str(len(data)),
            **(headers or {}),
        }
        await self.start(status, all_headers)
        await self.body(data, more=False)
        return data


async def wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def run_until_disconnect(handler: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run `handler`; if the client disconnects first, cancel it (closing whatever upstream
    request it has open) and raise `ClientDisconnected`."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(handler)
    disconnected = False

    async def watch() -> None:
        nonlocal disconnected
        await wait_for_disconnect(receive)
        if not task.done():  # a connection closed after the response ended is no disconnect
            disconnected = True
            task.cancel()

    watcher = loop.create_task(watch())
    try:
        await task  # cancelling the caller cancels the handler too
    except (Exception, asyncio.CancelledError):
        if not disconnected:
            raise
    finally:
        watcher.cancel()
    if disconnected:  # however the cancelled handler ended
        raise ClientDisconnected
