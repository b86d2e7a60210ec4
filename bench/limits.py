"""Memory of `claude-gw serve` under the attacks its limits bound, each on a fresh gateway:

    python -m bench.limits [--only slow_clients bodies answer] [--repo PATH]

- **slow_clients**: 2,000 connections that send their headers one byte a second;
- **bodies**: 40 concurrent requests with 30 MB bodies;
- **answer**: one request whose upstream answers 2 GB (chunked, no content-length).

The upstream is a TEST DOUBLE of OpenAI's Chat Completions in this process (`HugeUpstream`): a
small chat completion, or, when the user's text says `huge`, a completion whose content never
ends (2 GB at most). Per scenario: the gateway's peak RSS (VmHWM) and its RSS before and after,
its open descriptors at the peak, what the clients got, and how long it took. `--repo` runs the
gateway of another checkout (e.g. the tree before the limits) with the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from bench.gateway_procs import free_port, peak_rss_mb, rss_mb
from claude_gw.listener import ThreadedServer, bind, url_of

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20
COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-5-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "ok"},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
)
HUGE_HEAD = COMPLETION.split(b'"ok"')[0] + b'"'


class HugeUpstream:
    """TEST DOUBLE of OpenAI's Chat Completions (see the module docstring); `sent` counts the
    bytes of huge answers sent before the gateway went away."""

    def __init__(self, answer_bytes: int) -> None:
        self.answer_bytes = answer_bytes
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        huge = b'"content":"huge"' in body
        headers = [(b"content-type", b"application/json")]
        if not huge:
            headers.append((b"content-length", b"%d" % len(COMPLETION)))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": COMPLETION})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": HUGE_HEAD, "more_body": True})
        piece = b"a" * MIB
        for _ in range(self.answer_bytes // MIB):
            self.sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            if self.sent % (64 * MIB) == 0:
                await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b'"}}]}'})


def start_upstream(double: HugeUpstream) -> tuple[ThreadedServer, str]:
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(double, log_level="warning", lifespan="off", access_log=False)
    server = ThreadedServer(uvicorn.Server(config), sock, name="bench-upstream")
    server.start(10)
    return server, url_of(sock)


def start_gateway(repo: Path, upstream: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "claude_gw", "serve", "--upstream", f"{upstream}/v1"]
    command += ["--port", str(port), "--log", str(workdir / "claude.json"), "--no-check"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CLAUDE_GW_"))}
    out = (workdir / "claude-gw.out").open("wb")
    process = subprocess.Popen(command, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("claude-gw serve did not start")


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Watch:
    """Samples a process's RSS and descriptors every 0.2 s while a scenario runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.max_fds = 0
        self.max_rss = 0.0

    async def run(self) -> None:
        while True:
            self.max_fds = max(self.max_fds, descriptors(self.pid))
            self.max_rss = max(self.max_rss, rss_mb([self.pid]))
            await asyncio.sleep(0.2)


async def slow_clients(port: int, count: int = 2000, seconds: int = 20) -> dict[str, Any]:
    """`count` connections sending headers a byte a second; what they got, when closed."""
    head = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: "
    started = time.monotonic()

    async def one() -> tuple[str, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        try:
            for _ in range(seconds):
                try:
                    data = await asyncio.wait_for(reader.read(65536), 1.0)
                except TimeoutError:
                    writer.write(b"a")
                    continue
                status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
                return status, time.monotonic() - started
            return "still open", time.monotonic() - started
        except ConnectionError:
            return "reset", time.monotonic() - started
        finally:
            writer.close()

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    kinds = Counter(r[0] if isinstance(r, tuple) else type(r).__name__ for r in results)
    ends = [r[1] for r in results if isinstance(r, tuple)]
    return {"clients": count, "answers": dict(kinds), "last_closed_s": round(max(ends), 1)}


async def big_bodies(port: int, count: int = 40, size: int = 30 * 1000 * 1000) -> dict[str, Any]:
    text = "x" * size
    body = orjson.dumps(
        {"model": "gpt-5-mini", "max_tokens": 8, "messages": [{"role": "user", "content": text}]}
    )
    del text
    url = f"http://127.0.0.1:{port}/v1/messages"
    limits = httpx.Limits(max_connections=count)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        responses = await asyncio.gather(
            *(client.post(url, content=body) for _ in range(count)), return_exceptions=True
        )
    kinds = Counter(
        str(r.status_code) if isinstance(r, httpx.Response) else type(r).__name__ for r in responses
    )
    return {"requests": count, "body_mb": round(len(body) / 1e6, 1), "answers": dict(kinds),
            "seconds": round(time.monotonic() - started, 1)}  # fmt: skip


async def huge_answer(port: int) -> dict[str, Any]:
    ask = {
        "model": "gpt-5-mini",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "huge"}],
    }
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=600) as client:
        response = await client.post(f"http://127.0.0.1:{port}/v1/messages", json=ask)
    message = response.json().get("error", {}).get("message", "")[:160]
    return {"status": response.status_code, "error": message,
            "seconds": round(time.monotonic() - started, 1)}  # fmt: skip


SCENARIOS = {"slow_clients": slow_clients, "bodies": big_bodies, "answer": huge_answer}


async def measured(name: str, pid: int, port: int) -> dict[str, Any]:
    watch = Watch(pid)
    watcher = asyncio.ensure_future(watch.run())
    before = rss_mb([pid])
    try:
        result = await SCENARIOS[name](port)
    finally:
        watcher.cancel()
    await asyncio.sleep(2)  # what stays once it is over
    return {
        **result,
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(max(peak_rss_mb([pid]), watch.max_rss), 1),
        "rss_after_mb": round(rss_mb([pid]), 1),
        "max_descriptors": watch.max_fds,
    }


def run(name: str, repo: Path, answer_bytes: int) -> dict[str, Any]:
    double = HugeUpstream(answer_bytes)
    upstream, url = start_upstream(double)
    with tempfile.TemporaryDirectory(prefix="claude-gw-limits-") as workdir:
        process, port = start_gateway(repo, url, Path(workdir))
        try:
            result = asyncio.run(measured(name, process.pid, port))
        finally:
            process.terminate()
            process.wait(40)
        lines = (Path(workdir) / "claude.json").read_text().splitlines()
    upstream.stop(2)
    statuses = Counter(json.loads(line)["response"]["status"] for line in lines)
    return {
        "scenario": name,
        **result,
        "logged": dict(statuses),
        "upstream_sent_mb": double.sent // MIB,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limits", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose gateway runs")
    parser.add_argument("--answer-gb", type=float, default=2.0, help="size of the huge answer")
    args = parser.parse_args(argv)
    for name in args.only:
        result = run(name, args.repo.resolve(), int(args.answer_gb * 1024 * MIB))
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
