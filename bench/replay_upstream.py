"""A fake OpenAI Chat Completions upstream for the replay benchmark: a test double, not a model.

    python -m bench.replay_upstream [--delay 0.020]

A raw ASGI app (no framework, so the double costs as little CPU as it can) served by uvicorn
on 127.0.0.1 on a free port, which it prints as its first stdout line (`PORT 43210`). Every
`POST .../chat/completions` is read whole, then answered after `delay` seconds with the same
small `chat.completion` JSON (usage included); `GET /stats` answers `{"calls": N}`; anything
else is a 404. It runs until SIGINT/SIGTERM. Run it in its own process, so its CPU time is
not the runner's.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

import orjson
import uvicorn

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1764000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
)
JSON_HEADERS = [(b"content-type", b"application/json")]


class FakeChatUpstream:
    """The ASGI app; `calls` counts the completions answered."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):  # drain the body; its content is not used
            pass
        path, method = scope["path"], scope["method"]
        if method == "POST" and path.endswith("/chat/completions"):
            await asyncio.sleep(self.delay)
            self.calls += 1
            await respond(send, 200, ANSWER)
        elif method == "GET" and path == "/stats":
            await respond(send, 200, orjson.dumps({"calls": self.calls}))
        else:
            await respond(send, 404, b'{"error":{"message":"not found"}}')


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def respond(send: Any, status: int, body: bytes) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(delay: float) -> None:
    """Bind a free loopback port, print it, and serve until told to stop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sys.stdout.write(f"PORT {sock.getsockname()[1]}\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        FakeChatUpstream(delay),
        log_level="warning",
        access_log=False,
        lifespan="on",
        backlog=4096,
        timeout_keep_alive=60,
    )
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--delay", type=float, default=0.020, help="seconds before each answer")
    serve(p.parse_args(argv).delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
