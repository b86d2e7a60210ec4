"""Drive the gateway's ASGI app directly, without a socket, and collect what it sent.

`call(app, body, headers=...)` delivers one request and returns the `Reply` the app sent; the
client never disconnects (its `receive` blocks after the body), so the app runs to completion.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from claude_gw.config import Settings
from claude_gw.server.app import Gateway, LineSink, create_app
from claude_gw.simulated import simulated_transport
from claude_gw.testing import StrictSimulator as Simulator
from claude_gw.upstream import SIMULATED_BASE_URL, Upstream

UPSTREAM_KEY = "sk-reliability-upstream-key-0123456789"
CLIENT_KEY = "sk-ant-reliability-client-key-never-logged"
CALL_TIMEOUT_S = 20.0


class ListSink:
    """A log writer that keeps the lines in memory."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def simulated_app(sink: LineSink, **options: Any) -> tuple[Gateway, httpx.AsyncClient]:
    """The gateway in front of an instant simulated upstream (a healthy one); close the client."""
    simulator = Simulator(time_scale=0.0, api_key=UPSTREAM_KEY)
    client = httpx.AsyncClient(transport=simulated_transport(simulator))
    upstream = Upstream(
        client, base_url=SIMULATED_BASE_URL, api_key=UPSTREAM_KEY, provider="openai"
    )
    settings = Settings(upstream_url="simulated", ping_interval=5.0, **options)
    return create_app(settings, upstream=upstream, log_writer=sink), client


def http_scope(path: str, method: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "scheme": "http",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
    }


async def call(
    app: Gateway,
    body: bytes,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/v1/messages",
    method: str = "POST",
) -> Reply:
    """One request through `app`; bounded by CALL_TIMEOUT_S."""
    reply = Reply()
    delivered = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays until the app is done
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            reply.body += message.get("body", b"")

    all_headers = [(b"host", b"localhost"), (b"x-api-key", CLIENT_KEY.encode()), *(headers or [])]
    await asyncio.wait_for(
        app(http_scope(path, method, all_headers), receive, send), CALL_TIMEOUT_S
    )
    return reply
