"""CPU cost of the client limits per request, in one process, A/B on the same machine state:

    python -m bench.limits_overhead [--requests 20000] [--rounds 7]

Feeds the same keep-alive HTTP request (the Claude CLI's headers, a 40 KB body) to uvicorn's
`HttpToolsProtocol` and to the gateway's `GuardedProtocol`, over a transport that drops what is
written, with an ASGI app that reads the body (through `GuardedReceive` for the guarded side, as
the gateway does) and answers a small JSON. Rounds alternate between the two, so a slow moment of
a busy machine hits both; the figure is the median CPU time (`time.process_time`) per request
of each side, and their difference: what the limits add to every request, before the gateway's
own work (about 0.3 ms of CPU per request on a quiet machine, `bench/README.md`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from claude_gw.server.asgi import GuardedReceive, InflightBytes
from claude_gw.server.protocol import ClientLimits, guarded_protocol

BODY = b'{"model":"claude-sonnet-4-5","max_tokens":32000,"messages":[' + b"x" * 40_000 + b"]}"
HEADERS = [
    b"POST /anything/v1/messages?beta=true HTTP/1.1",
    b"host: 127.0.0.1:8000",
    b"accept: application/json",
    b"anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14",
    b"anthropic-dangerous-direct-browser-access: true",
    b"anthropic-version: 2023-06-01",
    b"authorization: Bearer x",
    b"content-type: application/json",
    b"user-agent: claude-cli/2.1.331 (external, cli)",
    b"x-app: cli",
    b"x-stainless-arch: x64",
    b"x-stainless-lang: js",
    b"x-stainless-os: Linux",
    b"x-stainless-package-version: 0.70.0",
    b"x-stainless-retry-count: 0",
    b"x-stainless-runtime: node",
    b"x-stainless-runtime-version: v22.19.0",
    b"x-stainless-timeout: 600",
    b"accept-encoding: gzip, deflate, br, zstd",
    b"connection: keep-alive",
    b"content-length: %d" % len(BODY),
]
REQUEST = b"\r\n".join(HEADERS) + b"\r\n\r\n" + BODY
ANSWER = b'{"id":"msg_1","type":"message","role":"assistant","content":[]}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))],
}


class Sink(asyncio.Transport):
    """A transport that drops what is written (the client's side is not measured)."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def app(guarded: bool) -> Any:
    inflight = InflightBytes(256 << 20)

    async def call(scope: Any, receive: Any, send: Any) -> None:
        if guarded:
            receive = GuardedReceive(receive, scope, inflight, timeout=60.0)
        try:
            while (await receive()).get("more_body"):
                pass
            await send(START)
            await send({"type": "http.response.body", "body": ANSWER})
        finally:
            if guarded:
                receive.release()

    return call


async def one_round(protocol_class: Any, guarded: bool, requests: int) -> float:
    """CPU seconds per request for `requests` requests on one keep-alive connection."""
    config = uvicorn.Config(app(guarded), log_level="warning", lifespan="off")
    config.load()
    state = ServerState()
    protocol = protocol_class(config=config, server_state=state, app_state={})
    protocol.connection_made(Sink())
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        if state.tasks:  # let the request's task run to its end
            await asyncio.wait(list(state.tasks))
    spent = time.process_time() - started
    protocol.connection_lost(None)
    return spent / requests


async def measure(requests: int, rounds: int) -> dict[str, float]:
    guarded_class = guarded_protocol(ClientLimits(10.0, 64 * 1024, 10_000))
    plain: list[float] = []
    guarded: list[float] = []
    await one_round(HttpToolsProtocol, False, requests // 10)  # warm-up
    await one_round(guarded_class, True, requests // 10)
    for _ in range(rounds):
        plain.append(await one_round(HttpToolsProtocol, False, requests))
        guarded.append(await one_round(guarded_class, True, requests))
    p, g = statistics.median(plain) * 1e6, statistics.median(guarded) * 1e6
    return {"uvicorn_us": round(p, 2), "guarded_us": round(g, 2), "added_us": round(g - p, 2)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limits_overhead", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    import uvloop

    result = uvloop.run(measure(args.requests, args.rounds))
    print(
        f"CPU per request (median of {args.rounds} alternating rounds of {args.requests}): "
        f"uvicorn's protocol {result['uvicorn_us']} us, with the limits {result['guarded_us']} us"
        f" (+{result['added_us']} us)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
