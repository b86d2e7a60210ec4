"""Pure ASGI pieces: reading a bounded body, bounding the bodies of all requests in flight and
the time a body may take, sending a response while counting it, and running a handler that is
cancelled when the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import orjson

from claude_gw.errors import GatewayError, GatewayOverloaded, PromptTooLong, RequestTimeout
from claude_gw.listener import (  # the ASGI pieces the gateway shares with the simulated backend
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    run_until_disconnect,
    wait_for_disconnect,
)

__all__ = [
    "ClientDisconnected",
    "GuardedReceive",
    "InflightBytes",
    "Message",
    "Receive",
    "Responder",
    "Scope",
    "Send",
    "declared_length",
    "header",
    "header_list",
    "read_body",
    "run_until_disconnect",
    "too_large",
    "wait_for_disconnect",
]


def header_list(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]


def header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    size = len(wanted)
    for key, value in scope.get("headers", []):
        # lengths first: a name of another length cannot match, and most are (no lower())
        if len(key) == size and key.lower() == wanted:
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
    call that breaks a limit; `release()` gives the bytes back, once the request is over.

    The timeout is one timer per request that cancels the task if it is still waiting for the
    body then (not an `asyncio.timeout` per call, which was most of the limits' cost:
    `bench/README.md`)."""

    __slots__ = (
        "_done",
        "_expired",
        "_held",
        "_inflight",
        "_receive",
        "_scope",
        "_seen",
        "_timeout",
        "_timer",
        "_waiting",
    )

    def __init__(
        self, receive: Receive, scope: Scope, inflight: InflightBytes, *, timeout: float
    ) -> None:
        self._receive = receive
        self._scope = scope
        self._inflight = inflight
        self._timeout = timeout
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: asyncio.Task[Any] | None = None  # the task awaiting the body, if any
        self._expired = False
        self._held = 0  # bytes this request holds in `inflight`
        self._seen = 0  # body bytes received
        self._done = False  # the whole body has come (or the client left)

    def __call__(self) -> Awaitable[Message]:
        # Once the body is in, `receive`'s own awaitable (the disconnect watch calls on).
        return self._receive() if self._done else self._body_part()

    async def _body_part(self) -> Message:
        first = self._timer is None
        if first:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._timeout, self._expire)
        if self._expired:
            raise self._late()
        self._waiting = asyncio.current_task()
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self._expired or self._waiting is None:
                raise
            self._waiting.uncancel()  # our own cancellation: it ends here, as a 408
            raise self._late() from None
        finally:
            self._waiting = None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._end()
        elif first:  # a body in several parts: hold what it declares before reading on
            self._hold(declared_length(self._scope))
        self._seen += len(message.get("body", b""))
        self._hold(self._seen - self._held)  # beyond the declared length only
        return message

    def _expire(self) -> None:
        self._expired = True
        if self._waiting is not None:  # waiting for the body right now: stop waiting
            self._waiting.cancel()

    def _late(self) -> RequestTimeout:
        self._end()
        return RequestTimeout(
            f"the request body did not arrive within {self._timeout:g} s "
            "(claude-gw serve --body-timeout)",
            headers={"connection": "close"},  # the rest of the body is not awaited
        )

    def _end(self) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()

    def _hold(self, amount: int) -> None:
        if amount <= 0:
            return
        if not self._inflight.take(amount):
            self._end()
            raise GatewayOverloaded(
                f"claude-gw holds {self._inflight.held} bytes of request bodies in flight, "
                f"its limit is {self._inflight.limit} (claude-gw serve --max-inflight); "
                "try again shortly"
            )
        self._held += amount

    def release(self) -> None:
        """Give back the bytes held (and stop the timer); at the end of the request."""
        self._end()
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
