"""Processes for the gateway benchmark: the fake upstream, claude-gw, LiteLLM's proxy, and what
`/proc` says about them (CPU time, peak RSS) — Linux only.

Every server is a child process on 127.0.0.1, pinned to a core with `taskset` when the machine
has more than one, stopped with SIGTERM (SIGKILL after a grace period) by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def pinned(command: Sequence[str], core: int | None) -> list[str]:
    """`command` under `taskset -c core` (unchanged when core is None or taskset is missing)."""
    taskset = shutil.which("taskset")
    if core is None or taskset is None:
        return list(command)
    return [taskset, "-c", str(core), *command]


@dataclass
class Service:
    """A server child process listening on 127.0.0.1:`port`."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    core: int | None
    log: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        """The process and every descendant (LiteLLM's workers)."""
        return process_tree(self.process.pid)

    def stop(self, grace: float = 30.0) -> int | None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc/<pid>/task/*/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            todo.extend(int(child) for child in text.split())
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (vanished ones count 0)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pids: Sequence[int]) -> float:
    """Sum of the processes' peak RSS (VmHWM) in MB: an upper bound of their joint peak."""
    return sum(status_kb(pid, "VmHWM") for pid in pids) / 1024


def rss_mb(pids: Sequence[int]) -> float:
    return sum(status_kb(pid, "VmRSS") for pid in pids) / 1024


def reset_peak_rss(pids: Sequence[int]) -> bool:
    """Reset VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`); False if refused."""
    ok = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def read_port(process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port from the child's first stdout line, `PORT <n>`."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        chunk = process.stdout.readline()
        if chunk:
            line += chunk
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.02)
    if not line.startswith(b"PORT "):
        raise RuntimeError(f"the child printed {line!r} instead of 'PORT <n>'")
    return int(line.split()[1])


def start_fake_upstream(core: int | None, chunks: int = 8, delay: float = 0.0) -> Service:
    """bench/fake_openai.py (the test double) in its own process."""
    command = [sys.executable, "-m", "bench.fake_openai", "--delay", str(delay)]
    command += ["--chunks", str(chunks)]
    process = subprocess.Popen(pinned(command, core), cwd=REPO, stdout=subprocess.PIPE)
    try:
        port = read_port(process, timeout=30)
    except RuntimeError:
        process.kill()
        raise
    return Service("fake upstream", process, port, core)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(service: Service, path: str, timeout: float, headers: dict[str, str]) -> None:
    """Poll `GET path` until it answers < 500, the process dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
        try:
            response = httpx.get(service.url + path, headers=headers, timeout=2)
            if response.status_code < 500:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    service.stop(5)
    raise RuntimeError(f"{service.name} was not ready after {timeout:.0f} s ({last})")


def start_claude_gw(
    upstream: Service, log: Path, core: int | None, model: str, tree: Path = REPO
) -> Service:
    """`claude-gw serve` in its own process, as a user runs it; `tree`: the checkout whose
    claude_gw it runs (another one is imported first: it is the working directory of
    `python -m`), with this interpreter and its packages."""
    port = free_port()
    command = [sys.executable, "-m", "claude_gw", "serve", "--upstream", f"{upstream.url}/v1"]
    command += ["--model", model, "--log", str(log), "--port", str(port), "--no-check"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CLAUDE_GW_"))}
    env["OPENAI_API_KEY"] = "sk-bench-fake-upstream-key"
    with (log.parent / f"{log.stem}.out").open("wb") as out:  # its start-up lines
        process = subprocess.Popen(
            pinned(command, core), cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    service = Service("claude-gw", process, port, core, log=log)
    wait_ready(service, "/", timeout=60, headers={})
    return service
