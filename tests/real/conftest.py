"""Real upstreams, started once for the tests of this folder and stopped after them (not at
the end of the whole run): llama-cpp-python's OpenAI-compatible server with
SmolLM2-135M-Instruct (installed by `tests/real/llama_install.py` when missing), on a free
loopback port.

Two servers, because tool calls need `--chat_format chatml-function-calling` and that format
answers plain prompts far slower (the grammar runs on every token): `llama_text` (the model's
own chat template) and `llama_tools`. Both with `--n_ctx 8192` and 2 threads.

LiteLLM's proxy (`litellm_proxy`) is the second real upstream, in its own venv
(`.cache/bench-litellm/`, as bench/gateway.py makes it).

When a server cannot be installed, every test here fails with the reason, and the end of the
run says so in a section of its own: these tests never skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.real.llama_install import InstallError, ensure_installed

N_CTX = 8192
MODEL_ALIAS = "smollm2"
START_TIMEOUT_S = 180.0
_problems: list[str] = []


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    base_url: str  # http://127.0.0.1:PORT/v1
    log_path: Path
    n_ctx: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(line for line in text if "llama_graph" not in line)[-3000:] or "(empty)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(server: LlamaServer) -> bool:
    try:
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def launch(python: Path, model: Path, log_dir: Path, *extra: str) -> LlamaServer:
    """`python -m llama_cpp.server` on a free port, once it answers `GET /v1/models`."""
    port = free_port()
    command = [str(python), "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", str(N_CTX), "--n_threads", "2", *extra]
    log_path = log_dir / f"llama-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = LlamaServer(process, f"http://127.0.0.1:{port}/v1", log_path, N_CTX)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _ready(server):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"llama-cpp-python's server did not start:\n{server.log_tail()}")
        time.sleep(0.5)
    return server


@pytest.fixture(scope="session")
def llama_install() -> tuple[Path, Path]:
    try:
        return ensure_installed()
    except InstallError as error:
        problem = f"llama-cpp-python's server could not be installed: {error}"
        _problems.append(problem)
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="package")
def llama_text(llama_install, tmp_path_factory) -> Iterator[LlamaServer]:
    server = launch(*llama_install, tmp_path_factory.mktemp("llama-text"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def llama_tools(llama_install, tmp_path_factory) -> Iterator[LlamaServer]:
    extra = ("--chat_format", "chatml-function-calling")
    server = launch(*llama_install, tmp_path_factory.mktemp("llama-tools"), *extra)
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for problem in dict.fromkeys(_problems):
        terminalreporter.section("REAL UPSTREAM TESTS DID NOT RUN", sep="!", red=True, bold=True)
        terminalreporter.line(problem, red=True)
        terminalreporter.line(
            "install: python3 -m tests.real.llama_install; LiteLLM: bench/gateway_litellm.py",
            red=True,
        )


# --------------------------------------------------------------------------- LiteLLM's proxy


@dataclass
class Upstream:
    url: str  # what bench.gateway_litellm.start reads of the service it proxies


@dataclass
class LiteLLM:
    base_url: str  # http://127.0.0.1:PORT
    key: str  # its master key, the gateway's upstream key
    simulator: Any  # the simulated OpenAI backend behind it (a test double)


@pytest.fixture(scope="package")
def litellm_proxy(tmp_path_factory) -> Iterator[LiteLLM]:
    """LiteLLM's proxy (its own venv, as bench/gateway.py makes it), offline, in front of the
    simulated OpenAI backend (a test double for api.openai.com) serving `gpt-5-mini`."""
    from bench import gateway_litellm
    from claude_gw.simulated import asgi_app
    from claude_gw.testing import StrictSimulator as Simulator
    from tests.servers import ServerThread

    try:
        gateway_litellm.ensure_venv()
    except Exception as error:  # pip's failure, named
        problem = f"LiteLLM's proxy could not be installed: {error}"
        _problems.append(problem)
        pytest.fail(problem, pytrace=False)
    simulator = Simulator(time_scale=0.0)
    with ServerThread(asgi_app(simulator)) as backend:
        workdir = tmp_path_factory.mktemp("litellm")
        service = gateway_litellm.start(Upstream(backend.base_url), workdir, None, "gpt-5-mini")
        try:
            yield LiteLLM(service.url, gateway_litellm.MASTER_KEY, simulator)
        finally:
            service.stop()
