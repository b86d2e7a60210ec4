"""Run a measuring child process under a memory watchdog and a timeout.

Why a watchdog and not only RLIMIT_AS: polars reserves far more address space than it uses
(measured here: VmPeak 8.6 GB for a 1.15 GB VmHWM reading 100k records), so an address-space
cap fails it long before the machine is short of memory. The watchdog reads the child's VmRSS
every `POLL_S` and kills it (SIGKILL) when it passes the cap; an allocation burst can overshoot
by what is allocated in one poll interval, so the cap should leave that much head room.
RLIMIT_AS is still set, by `bench.contenders`, for the pure pandas contender, where address
space and RSS grow together and it turns a runaway into a clean MemoryError.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.02


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    max_rss_bytes: int  # the largest VmRSS the watchdog saw
    killed: str | None  # "memory" or "timeout" when the watchdog ended it
    seconds: float


def vm_rss(pid: int) -> int:
    """Resident set size of a live process in bytes; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run(cmd: list[str], *, cwd: Path, rss_cap: int, timeout_s: float) -> Finished:
    """Run `cmd` to the end, or until it passes `rss_cap` bytes of RSS or `timeout_s`."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        peak, killed = 0, None
        try:
            while proc.poll() is None:
                peak = max(peak, vm_rss(proc.pid))
                if peak > rss_cap:
                    killed = "memory"
                elif time.monotonic() - started > timeout_s:
                    killed = "timeout"
                if killed:
                    proc.kill()
                    break
                time.sleep(POLL_S)
        finally:
            proc.wait()
        out.seek(0)
        err.seek(0)
        return Finished(
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", errors="replace"),
            stderr=err.read().decode("utf-8", errors="replace"),
            max_rss_bytes=peak,
            killed=killed,
            seconds=time.monotonic() - started,
        )
