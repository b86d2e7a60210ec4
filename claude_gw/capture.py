"""Capture: run a command (normally `claude ...`) against a gateway and keep what it sent.

`run_capture(["claude", "-p", "hi"], settings)` starts a gateway on a free loopback port (or
uses one already running), runs the command with the Claude CLI pointed at it, labels every
log record with the capture's name, stops the gateway when the command ends, and returns the
command's exit status with the capture's records. The label rides in the base URL's path
(`<gateway>/capture/<name>`), so a claude_gw gateway in another process labels them too.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from claude_gw.config import Settings
from claude_gw.server.runner import BackgroundGateway

NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PLACEHOLDER_KEY = "claude-gw-capture"  # the gateway ignores client keys; the CLI wants one
FAMILIES = ("haiku", "sonnet", "opus")


def default_name(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime("capture-%Y%m%d-%H%M%S")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"capture name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def client_env(base_url: str, settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for a Claude CLI that should talk to the gateway at `base_url`: the
    model variables follow the gateway's model map, and nonessential traffic is off."""
    env = dict(environ)
    env["ANTHROPIC_BASE_URL"] = base_url
    env["ANTHROPIC_MODEL"] = settings.model
    for family in FAMILIES:
        upstream_model = settings.resolve_model(f"claude-{family}-5-5")
        env[f"ANTHROPIC_DEFAULT_{family.upper()}_MODEL"] = upstream_model
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    if not env.get("ANTHROPIC_API_KEY") and not env.get("ANTHROPIC_AUTH_TOKEN"):
        env["ANTHROPIC_API_KEY"] = PLACEHOLDER_KEY
    return env


@dataclass
class CaptureSummary:
    requests: int = 0  # /v1/messages requests (model turns)
    token_counts: int = 0  # /v1/messages/count_tokens requests
    errors: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0  # requests whose model has no known price

    def add(self, record: Mapping[str, Any]) -> None:
        ours = record.get("claude_gw") or {}
        if ours.get("endpoint") == "count_tokens":
            self.token_counts += 1
            return
        self.requests += 1
        self.errors += ours.get("error_type") is not None
        usage = ((record.get("ai") or {}).get("proxy") or {}).get("usage") or {}
        self.prompt_tokens += usage.get("prompt_tokens") or 0
        self.cached_tokens += (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        self.completion_tokens += usage.get("completion_tokens") or 0
        details = usage.get("completion_tokens_details") or {}
        self.reasoning_tokens += details.get("reasoning_tokens") or 0
        self.cost += usage.get("cost") or 0.0
        self.unpriced += ours.get("cost_source") == "unpriced"


@dataclass
class CaptureResult:
    name: str
    returncode: int
    log_path: Path | None
    records: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> CaptureSummary:
        summary = CaptureSummary()
        for record in self.records:
            summary.add(record)
        return summary

    def to_frame(self, engine: Literal["polars", "pandas"] = "polars") -> Any:
        """The capture's records as a DataFrame (the `claude_gw.logs` schema)."""
        from claude_gw.logs import read_logs

        text = "".join(json.dumps(record) + "\n" for record in self.records)
        return read_logs(io.StringIO(text), engine=engine)


def read_records(log_path: Path, offset: int, name: str) -> list[dict[str, Any]]:
    """The records labelled `name` appended to the log after byte `offset`."""
    if not log_path.exists():
        return []
    with log_path.open("rb") as log:
        if log_path.stat().st_size >= offset:
            log.seek(offset)
        lines = log.read().splitlines()
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and (record.get("claude_gw") or {}).get("capture") == name:
            records.append(record)
    return records


def exit_status(returncode: int) -> int:
    """A command killed by signal N exits 128+N, as a shell reports it."""
    return 128 - returncode if returncode < 0 else returncode


@contextmanager
def forwarding_signals(process_holder: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """While the command runs, Ctrl-C goes to it (the terminal sends it to both of us: we
    ignore ours) and a SIGTERM sent to us is passed on to it."""

    def on_interrupt(signum: int, frame: object) -> None:
        pass  # a Python handler, unlike SIG_IGN, is reset in the child at exec

    def on_terminate(signum: int, frame: object) -> None:
        for process in process_holder:
            process.send_signal(signal.SIGTERM)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. not in some kernels)
        return
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_terminate),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_command(command: Sequence[str], env: Mapping[str, str]) -> int:
    holder: list[subprocess.Popen[bytes]] = []
    with forwarding_signals(holder):
        process = subprocess.Popen(list(command), env=dict(env))
        holder.append(process)
        return exit_status(process.wait())


def run_capture(
    command: Sequence[str],
    settings: Settings,
    *,
    name: str | None = None,
    gateway_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> CaptureResult:
    """Run `command` against a gateway and return its exit status and labelled records.

    Without `gateway_url`, a gateway with `settings` runs for the duration of the command on
    a free loopback port. With it, the command talks to that gateway; records are then read
    from `settings.log_path` when that file is the other gateway's log.
    """
    label = check_name(name or default_name())
    env_in = dict(environ or {})
    log_path = settings.log_path
    offset = log_path.stat().st_size if log_path.exists() else 0
    if gateway_url:
        env = client_env(f"{gateway_url.rstrip('/')}/capture/{label}", settings, env_in)
        status = run_command(command, env)
    else:
        local = replace(settings, host="127.0.0.1", port=0)
        with BackgroundGateway(local) as gateway:
            env = client_env(f"{gateway.url}/capture/{label}", settings, env_in)
            status = run_command(command, env)
    return CaptureResult(label, status, log_path, read_records(log_path, offset, label))
