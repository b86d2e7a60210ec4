"""Shared test set-up.

- Every test runs with the OPENAI_*/ANTHROPIC_*/DECK_*/CLAUDE_* variables of the developer's
  shell removed, so nothing leaks in from a real configuration.
- `claude_cli` installs the real Claude Code CLI from npm, at a pinned version, into
  `.cache/claude-cli` (once; later runs reuse it). `claude_cli_release` runs a test once with
  it and once with each of `CLAUDE_CLI_RELEASES` (for what must hold on other releases too),
  installed the same way into `.cache/claude-cli-<version>`.
- `fake_openai` serves claude_gw's simulated OpenAI-compatible backend on a real loopback socket:
  a TEST DOUBLE for api.openai.com (it validates requests the way OpenAI does, streams chunks,
  reports cached and reasoning tokens, calls tools and fails on request).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
CLAUDE_CLI_VERSION = "2.1.331"
CLAUDE_CLI_DIR = REPO / ".cache" / "claude-cli"
# The newest release measured, and the one a bare `npm install` picks on Node 20.
CLAUDE_CLI_RELEASES = ("2.1.332", "2.1.197")
_CLEARED_PREFIXES = ("OPENAI_", "ANTHROPIC_", "DECK_", "CLAUDE_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """Path of the real `claude` executable, installed from npm at a pinned version.

    A bare `npm install @anthropic-ai/claude-code` on Node 20 silently resolves to an old
    release (2.1.197), so the version is always named.
    """
    return install_claude_cli(CLAUDE_CLI_VERSION, CLAUDE_CLI_DIR)


@pytest.fixture(scope="session", params=(CLAUDE_CLI_VERSION, *CLAUDE_CLI_RELEASES))
def claude_cli_release(request: pytest.FixtureRequest) -> Path:
    """Path of `claude` at the pinned version, then at each of CLAUDE_CLI_RELEASES."""
    version = request.param
    if version == CLAUDE_CLI_VERSION:
        return install_claude_cli(version, CLAUDE_CLI_DIR)
    return install_claude_cli(version, REPO / ".cache" / f"claude-cli-{version}")


def install_claude_cli(version: str, directory: Path) -> Path:
    binary = directory / "node_modules" / ".bin" / "claude"
    if not _reports_version(binary, version):
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the Claude CLI for the end-to-end tests"
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(directory),
                f"@anthropic-ai/claude-code@{version}",
            ],
            check=True,
            timeout=900,
            capture_output=True,
        )
    assert _reports_version(binary, version), f"{binary} does not report version {version}"
    return binary


def _reports_version(binary: Path, version: str) -> bool:
    if not binary.exists():
        return False
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return version in result.stdout


@pytest.fixture
def simulator():
    """The simulated OpenAI backend, instant (no sleeps) unless a test asks otherwise, with a
    `recorder` for the tests that check what the gateway sent upstream."""
    from claude_gw.testing import RequestRecorder
    from claude_gw.testing import StrictSimulator as Simulator

    return Simulator(
        time_scale=0.0, api_key="sk-test-upstream-key-0123456789", recorder=RequestRecorder()
    )


@pytest.fixture
def fake_openai(simulator) -> Iterator[str]:
    """Base URL (`http://127.0.0.1:PORT/v1`) of the simulator served over a real socket."""
    from claude_gw.simulated import asgi_app
    from tests.servers import ServerThread

    with ServerThread(asgi_app(simulator)) as server:
        yield f"{server.base_url}/v1"
