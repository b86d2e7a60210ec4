"""SIGTERM while requests are in flight, against `claude-gw serve` in a subprocess: every
in-flight stream finishes, the process exits cleanly and no log line is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
IN_FLIGHT = 40
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    def listening() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_until(listening, STARTUP_TIMEOUT_S, "claude-gw serve to listen", every=0.05)


async def streams_then_sigterm(url: str, process: subprocess.Popen[bytes]) -> list[bytes]:
    body = {
        "model": "gpt-5-mini",
        "max_tokens": 200,
        "stream": True,
        "messages": [{"role": "user", "content": "tell me something long"}],
    }
    started = asyncio.Event()
    begun = 0

    async def one(client: httpx.AsyncClient) -> bytes:
        nonlocal begun
        async with client.stream("POST", url, json=body) as response:
            assert response.status_code == 200
            begun += 1
            if begun == IN_FLIGHT:
                started.set()
            return await response.aread()

    async with httpx.AsyncClient(timeout=30) as client:
        tasks = [asyncio.ensure_future(one(client)) for _ in range(IN_FLIGHT)]
        await asyncio.wait_for(started.wait(), 20)
        process.send_signal(signal.SIGTERM)
        return await asyncio.gather(*tasks)


def test_sigterm_under_load_finishes_in_flight_streams_and_loses_no_log_line(
    tmp_path: Path,
) -> None:
    port, log_path = free_port(), tmp_path / "claude.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    command = [sys.executable, "-m", "claude_gw", "serve", "--upstream", "simulated"]
    command += ["--port", str(port), "--log", str(log_path)]
    with subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE) as process:
        try:
            wait_for_port(port, process)
            url = f"http://127.0.0.1:{port}/v1/messages"
            bodies = asyncio.run(streams_then_sigterm(url, process))
            # uvicorn re-raises the signal after its graceful shutdown: -SIGTERM is clean too.
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
    assert all(b"event: message_stop" in body for body in bodies)
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(records) == IN_FLIGHT
    assert {r["response"]["status"] for r in records} == {200}
    assert not any(r["claude_gw"].get("error_type") for r in records)


async def stalled_then_sigterm(url: str, process: subprocess.Popen[bytes]) -> list[bytes]:
    """Two streams the upstream never finishes (the gateway pings them) and one request it never
    answers; SIGTERM once the streams have begun; what each client got."""
    ask = {"model": "gpt-5-mini", "max_tokens": 20}
    stalled = {**ask, "messages": [{"role": "user", "content": "[fault:stall] wait"}]}
    begun = asyncio.Event()
    streams = 0

    async def stream(client: httpx.AsyncClient) -> bytes:
        nonlocal streams
        async with client.stream("POST", url, json={**stalled, "stream": True}) as response:
            assert response.status_code == 200
            chunks = response.aiter_raw()
            first = await chunks.__anext__()  # the ping the gateway sends while upstream is quiet
            streams += 1
            if streams == 2:
                begun.set()
            return first + b"".join([chunk async for chunk in chunks])

    async def oneshot(client: httpx.AsyncClient) -> bytes:
        response = await client.post(url, json=stalled)
        return b"%d " % response.status_code + response.content

    async with httpx.AsyncClient(timeout=30) as client:
        tasks = [asyncio.ensure_future(c(client)) for c in (stream, stream, oneshot)]
        await asyncio.wait_for(begun.wait(), 20)
        process.send_signal(signal.SIGTERM)
        return await asyncio.gather(*tasks)


class BusyMachine:
    """`with BusyMachine(n):` keeps n more processes spinning on the CPU (a loaded CI runner),
    each stopped on leaving the block, or after 120 s whatever happens."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.spinning: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyMachine:
        spin = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass"
        for _ in range(self.processes):
            self.spinning.append(subprocess.Popen([sys.executable, "-c", spin]))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.spinning:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("busy", [0, 2], ids=["quiet", "busy machine"])
def test_requests_still_running_when_the_grace_ends_get_an_error_and_are_logged_interrupted(
    tmp_path: Path, busy: int
) -> None:
    """On a busy machine too: a stream cut short counts its billed prompt before it ends,
    loading the tokenizer first, which took longer than the shutdown used to wait for it."""
    with BusyMachine(busy):
        ended_by_shutdown(tmp_path)


def ended_by_shutdown(tmp_path: Path) -> None:
    from tests.reliability.faulty_upstream import FaultyUpstream

    port, log_path = free_port(), tmp_path / "claude.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    with FaultyUpstream() as upstream:
        command = [sys.executable, "-m", "claude_gw", "serve", "--upstream", upstream.base_url]
        command += ["--port", str(port), "--log", str(log_path), "--no-check"]
        command += ["--shutdown-grace", "1", "--ping-interval", "0.2"]
        with subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE) as process:
            try:
                wait_for_port(port, process)
                url = f"http://127.0.0.1:{port}/v1/messages"
                first, second, oneshot = asyncio.run(stalled_then_sigterm(url, process))
                assert process.wait(timeout=15) in (0, -signal.SIGTERM)
                console = process.stderr.read().decode() if process.stderr else ""
            finally:
                if process.poll() is None:
                    process.kill()
    for body in (first, second):
        last = body.rstrip().split(b"\n\n")[-1]
        assert last.startswith(b"event: error\ndata: "), body[-300:]
        error = json.loads(last.split(b"data: ", 1)[1])["error"]
        assert error["type"] == "overloaded_error" and "shut down" in error["message"]
    status, _, doc = oneshot.partition(b" ")
    assert status == b"529" and json.loads(doc)["error"]["type"] == "overloaded_error"
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert sorted(r["response"]["status"] for r in records) == [200, 200, 529]
    assert {r["claude_gw"]["error_type"] for r in records} == {"interrupted"}
    assert "Traceback" not in console, console
