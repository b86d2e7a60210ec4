"""Pure ASGI pieces: reading a bounded body, bounding the bodies of all requests in flight and
the time a body may take, sending a response while counting it, and running a handler that is
cancelled when the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import orjson

from claude_gw.errors import GatewayError, GatewayOverloaded, PromptTooLong, RequestTimeout

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


class InflightBytes:
    """The request-body bytes held by all requests in flight, against one limit.

    A request holds what it has received (or declared in `content-length`) until it ends: its
    body stays alive that long (translated, it is the upstream request). A request that would
    take the total over `limit` is refused, unless nothing else is held, so that any request
    within --max-body can be served on an idle gateway.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, amount: int) -> bool:
        if self.held and self.held + amount > self.limit:
            return False
        self.held += amount
        return True

    def give_back(self, amount: int) -> None:
        self.held -= amount


class GuardedReceive:
    """`receive` for one request, holding its body's bytes in `inflight` and giving up on a
    body still incomplete `timeout` seconds after the first call (the app asks for it right
    after the headers). Raises `GatewayOverloaded` (529) or `RequestTimeout` (408) from the
    call that breaks a limit; `release()` gives the bytes back, once the request is over."""

    __slots__ = (
        "_deadline",
        "_done",
        "_held",
        "_inflight",
        "_receive",
        "_scope",
        "_seen",
        "_timeout",
    )

    def __init__(
        self, receive: Receive, scope: Scope, inflight: InflightBytes, *, timeout: float
    ) -> None:
        self._receive = receive
        self._scope = scope
        self._inflight = inflight
        self._timeout = timeout
        self._deadline: float | None = None
        self._held = 0  # bytes this request holds in `inflight`
        self._seen = 0  # body bytes received
        self._done = False  # the whole body has come (or the client left)

    async def __call__(self) -> Message:
        if self._done:
            return await self._receive()
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self._timeout
            self._hold(declared_length(self._scope))
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            self._done = True
            raise RequestTimeout(
                f"the request body did not arrive within {self._timeout:g} s "
                "(claude-gw serve --body-timeout)",
                headers={"connection": "close"},  # the rest of the body is not awaited
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._done = True
        self._seen += len(message.get("body", b""))
        self._hold(self._seen - self._held)  # beyond the declared length only
        return message

    def _hold(self, amount: int) -> None:
        if amount <= 0:
            return
        if not self._inflight.take(amount):
            self._done = True
            raise GatewayOverloaded(
                f"claude-gw holds {self._inflight.held} bytes of request bodies in flight, "
                f"its limit is {self._inflight.limit} (claude-gw serve --max-inflight); "
                "try again shortly"
            )
        self._held += amount

    def release(self) -> None:
        self._inflight.give_back(self._held)
        self._held = 0


def declared_length(scope: Scope) -> int:
    """The request's `content-length` (0 when absent or not a number)."""
    declared = header(scope, "content-length")
    # isascii: str.isdigit() also accepts "²", which int() refuses.
    return int(declared) if declared and declared.isascii() and declared.isdigit() else 0


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
