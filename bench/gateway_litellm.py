"""LiteLLM's proxy for the gateway benchmark: its own virtual environment, its configuration,
and its process, run offline against the fake upstream (a test double).

The venv lives in `.cache/bench-litellm/` (gitignored) and is made once: `litellm[proxy]` at a
pinned version, from the package index through pip. Pin notes: 1.108.14 to 1.110.2 need
`litellm-proxy-extras` / `litellm-proxy` releases that the index here does not have (the versions
in between were not tried; 1.107.0 is reported as a compromised release); 1.106.12 installs.

Running it offline needs (as measured): `LITELLM_LOCAL_MODEL_COST_MAP=True` (else it fetches the
cost map), a master key (`LITELLM_MASTER_KEY`, sent by clients as `x-api-key`),
`use_chat_completions_url_for_anthropic_messages: true` (else `/v1/messages` goes to OpenAI's
Responses API), `router_settings.disable_cooldowns: true`, `drop_params: true` and
`num_retries: 0`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import yaml

from bench.gateway_procs import REPO, Service, free_port, pinned, wait_ready

LITELLM_VERSION = "1.106.12"
VENV = REPO / ".cache" / "bench-litellm"
MASTER_KEY = "sk-bench-litellm-master-key"
INSTALL_TIMEOUT_S = 600


def venv_python() -> Path:
    return VENV / "bin" / "python"


def installed_version() -> str | None:
    """The litellm version in the benchmark's venv, or None when there is none."""
    if not venv_python().exists():
        return None
    result = subprocess.run(
        [str(venv_python()), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_venv(version: str = LITELLM_VERSION) -> str:
    """Create `.cache/bench-litellm` with `litellm[proxy]==version` unless it is there already;
    the version installed."""
    if installed_version() == version:
        return version
    if not venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", f"litellm[proxy]=={version}"]
    print(f"installing litellm[proxy]=={version} into {VENV} ...", flush=True)
    subprocess.run(pip, check=True, timeout=INSTALL_TIMEOUT_S)
    found = installed_version()
    if found != version:
        raise RuntimeError(f"litellm {version} did not install (found {found})")
    return version


def config(upstream_url: str, model: str) -> dict[str, object]:
    """The proxy configuration: one model routed to the fake upstream, offline settings."""
    return {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": f"{upstream_url}/v1",
                    "api_key": "sk-bench-fake-upstream-key",
                },
            }
        ],
        "litellm_settings": {
            "drop_params": True,
            "num_retries": 0,
            "use_chat_completions_url_for_anthropic_messages": True,
        },
        "router_settings": {"disable_cooldowns": True, "num_retries": 0},
        "general_settings": {},
    }


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LITELLM_"))}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_LOG": "ERROR",
            "DISABLE_ADMIN_UI": "True",
            "NO_DOCS": "True",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return env


class Proxied(Protocol):
    """What `start` reads of the service it proxies (a `Service`, or a test's upstream)."""

    @property
    def url(self) -> str: ...


def start(upstream: Proxied, workdir: Path, core: int | None, model: str) -> Service:
    """`litellm --config ... --num_workers 1` on a free loopback port, ready to serve."""
    path = workdir / "litellm.yaml"
    path.write_text(yaml.safe_dump(config(upstream.url, model), sort_keys=False))
    port = free_port()
    command = [str(VENV / "bin" / "litellm"), "--config", str(path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--num_workers", "1"]
    log = workdir / "litellm.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinned(command, core),
            cwd=workdir,
            env=offline_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = Service("LiteLLM", process, port, core, log=log)
    wait_ready(service, "/health/readiness", timeout=180, headers={})
    return service
