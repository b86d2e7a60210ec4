"""End to end: the real Claude Code CLI (npm, pinned version) in `-p` mode, through
`claude-gw serve` (a real subprocess), to the simulated OpenAI backend (the test double of
tests/conftest.py) on a loopback socket. Set-up as in Kong's tutorial:
`ANTHROPIC_BASE_URL=http://.../anything ANTHROPIC_MODEL=gpt-5-mini claude`."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.cli

UPSTREAM_KEY = "sk-test-upstream-key-0123456789"
CLI_KEY = "sk-ant-cli-side-key-not-for-logs"


@dataclass
class RunningGateway:
    process: subprocess.Popen[bytes]
    base_url: str  # http://127.0.0.1:PORT
    log_path: Path
    banner: str

    @property
    def url(self) -> str:
        """The base URL with the tutorial's /anything prefix."""
        return f"{self.base_url}/anything"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    def records(self) -> list[dict[str, Any]]:
        self.stop()
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


def launch_serve(
    log_path: Path, *args: str, env: dict[str, str], cwd: Path | None = None
) -> RunningGateway:
    """`python -m claude_gw serve --port 0 ARGS` as a subprocess, once it has said where it
    listens (stopped again if it never does)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "claude_gw", "serve", "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={"PATH": os.environ["PATH"], **env},
        cwd=cwd,
    )
    banner = read_banner(process)
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    gateway = RunningGateway(process, match.group(1) if match else "", log_path, banner)
    if not match:
        gateway.stop()
    assert match, banner
    return gateway


def start_serve(tmp_path: Path, upstream: str, *extra: str) -> RunningGateway:
    log_path = tmp_path / "claude.json"
    args = ("--upstream", upstream, "--log", str(log_path), *extra)
    return launch_serve(log_path, *args, env={"OPENAI_API_KEY": UPSTREAM_KEY})


def read_banner(process: subprocess.Popen[bytes], timeout: float = 30) -> str:
    """What `serve` printed on stderr up to its last start-up line (`use: ...`)."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and b"use:" not in seen:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            data = os.read(fd, 4096)
            if not data:
                break
            seen += data
    while b"use:" in seen and not seen.endswith(b"\n") and time.monotonic() < deadline:
        seen += os.read(fd, 4096)
    return seen.decode()


@pytest.fixture
def served(tmp_path, fake_openai) -> Iterator[RunningGateway]:
    gateway = start_serve(tmp_path, fake_openai)
    yield gateway
    gateway.stop()


def run_claude(
    claude_cli: Path,
    home: Path,
    base_url: str,
    prompt: str,
    *args: str,
    api_key: str | None = CLI_KEY,
    timeout: float = 180,
    check: bool = True,
) -> dict[str, Any]:
    """`claude -p --output-format json -- PROMPT` in an empty home, against `base_url`;
    `api_key=None` leaves the key to the settings (e.g. an apiKeyHelper); `check=False`
    takes a run that ended in an error result (exit status 1) too."""
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_MODEL": "gpt-5-mini",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key
    result = subprocess.run(
        [str(claude_cli), "-p", "--output-format", "json", *args, "--", prompt],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=timeout,
        check=False,
    )
    assert result.returncode in ((0,) if check else (0, 1)), (
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_cli_gets_a_plain_answer_and_each_request_is_logged_once(
    claude_cli, served, tmp_path, simulator
):
    out = run_claude(
        claude_cli,
        tmp_path / "home",
        served.url,
        "say hi [sim:reply Hello from the simulated upstream.]",
    )
    assert out["result"] == "Hello from the simulated upstream."
    assert out["is_error"] is False
    records = served.records()
    messages = [r for r in records if r["claude_gw"]["endpoint"] == "messages"]
    assert len(messages) == len(simulator.recorder.bodies) == 1
    (record,) = messages
    assert record["claude_gw"]["session_id"] == out["session_id"]
    assert record["claude_gw"]["client"].startswith("claude-cli/2.1.331")
    assert record["ai"]["proxy"]["meta"]["request_model"] == "gpt-5-mini"
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] > 1000  # system prompt + 12 tools
    raw = served.log_path.read_text()
    assert CLI_KEY not in raw and UPSTREAM_KEY not in raw


def test_cli_bash_tool_round_trip(claude_cli, served, tmp_path, simulator):
    prompt = (
        'run the command [sim:tool Bash {"command": "echo hello-from-tool", '
        '"description": "Print a greeting"}]'
    )
    out = run_claude(claude_cli, tmp_path / "home", served.url, prompt, "--allowedTools", "Bash")
    assert "hello-from-tool" in out["result"]
    assert out["num_turns"] == 2
    # The second upstream request carries the command's output as an OpenAI tool message.
    tool_messages = [m for m in simulator.recorder.bodies[-1]["messages"] if m["role"] == "tool"]
    assert "hello-from-tool" in tool_messages[-1]["content"]
    records = [r for r in served.records() if r["claude_gw"]["endpoint"] == "messages"]
    assert len(records) == 2
    assert [r["claude_gw"]["stop_reason"] for r in records] == ["tool_use", "end_turn"]
    assert {r["claude_gw"]["session_id"] for r in records} == {out["session_id"]}
    assert records[0]["claude_gw"]["tool_calls"] == 1


def test_serve_banner_names_listen_address_upstream_model_and_log(served):
    assert "upstream: openai at http://127.0.0.1:" in served.banner
    assert "model gpt-5-mini" in served.banner
    assert str(served.log_path) in served.banner


def test_serve_simulated_is_labelled_and_answers_without_a_key(tmp_path):
    import httpx

    gateway = start_serve(tmp_path, "simulated")
    assert "SIMULATED" in gateway.banner
    response = httpx.post(
        f"{gateway.url}/v1/messages",
        timeout=30,
        json={
            "model": "gpt-5-mini",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert response.status_code == 200
    assert response.json()["model"] == "gpt-5-mini-simulated"
    (record,) = gateway.records()
    assert record["ai"]["proxy"]["meta"]["provider_name"] == "simulated"
    assert record["claude_gw"]["simulated"] is True


def test_sigterm_lets_an_inflight_stream_finish_and_flushes_the_log(tmp_path):
    import httpx

    gateway = start_serve(tmp_path, "simulated")
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        timeout=30,
        json={
            "model": "gpt-5-mini",
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "[sim:stall 1] hi"}],
        },
    ) as response:
        gateway.process.send_signal(signal.SIGTERM)
        body = response.read().decode()
    assert body.rstrip().endswith('data: {"type":"message_stop"}')
    assert gateway.stop() in (0, -signal.SIGTERM)
    (record,) = [json.loads(line) for line in gateway.log_path.read_text().splitlines()]
    assert record["response"]["status"] == 200 and record["claude_gw"]["error_type"] is None


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param([], {}, "no API key for upstream https://api.openai.com/v1", id="missing_key"),
        pytest.param(
            ["--upstream", "http://127.0.0.1:9/v1"],
            {"OPENAI_API_KEY": "sk-x"},
            "cannot reach upstream openai at http://127.0.0.1:9/v1",
            id="unreachable",
        ),
        pytest.param(["--max-body", "huge"], {}, "--max-body", id="bad_size"),
    ],
)
def test_serve_startup_problems_are_one_clear_line(tmp_path, args, env, message):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "serve",
            "--port",
            "0",
            "--log",
            str(tmp_path / "c.json"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ["PATH"], **env},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bash_round_trip_through_the_responses_api_keeps_its_reasoning(
    claude_cli, tmp_path, fake_openai, simulator
):
    """Through OpenAI's Responses API the model's reasoning item comes back to the CLI as a
    thinking block, and the CLI's next request carries it back upstream."""
    served = start_serve(tmp_path, fake_openai, "--upstream-api", "responses")
    try:
        prompt = '[sim:tool Bash {"command": "echo via-responses", "description": "Print"}]'
        out = run_claude(
            claude_cli, tmp_path / "home", served.url, prompt, "--allowedTools", "Bash"
        )
    finally:
        served.stop()
    assert "via-responses" in out["result"]
    assert out["num_turns"] == 2
    assert simulator.stats.reasoning_items_received == 1
    assert all(path.endswith("/responses") for path in simulator.recorder.paths[1:])
