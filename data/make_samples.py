"""Regenerate the sample logs in `data/` (see data/README.md for what each file is).

    .venv/bin/python data/make_samples.py [--only kong|sessions|replay] [--claude PATH]

- `kong-3.13.json`: the shared fixture's reconstructed Kong 3.13 lines, copied unchanged.
- `kong-older.json`: seeded lines of older Kong shapes from `bench/` plus five bad lines.
- `claude_gw-sessions.json`: real Claude CLI sessions (`claude -p`) captured through the
  gateway with payloads, in front of the built-in SIMULATED backend (latencies simulated).
- `replay.json`: those requests replayed on OpenAI-API targets (Chat Completions and
  Responses) served by the built-in SIMULATED backend on a loopback port.

Needs the dev extra, Node.js and the Claude CLI installed by the tests (`claude_cli` fixture,
pinned in tests/conftest.py) at `.cache/claude-cli`. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent
REPO = DATA.parent
# `bench/` is a top-level package of the repository, not of the installed claude_gw.
sys.path.insert(0, str(REPO))

from bench.gen_logs import ARRAYS, NOT_JSON, SCALARS, SHAPE_MIX, NoAiRoute  # noqa: E402
from bench.kong_shapes import kong_renderer  # noqa: E402
from bench.traffic import Traffic  # noqa: E402
from claude_gw.capture import run_capture  # noqa: E402
from claude_gw.config import Settings  # noqa: E402
from claude_gw.logs import read_logs  # noqa: E402
from claude_gw.replay import Target, dedupe, load_requests, replay  # noqa: E402
from claude_gw.routing import Routing  # noqa: E402
from claude_gw.simulated import serve_simulated  # noqa: E402

FIXTURE = REPO / ".." / "shared" / "fixtures" / "kong" / "claude.json"
CLAUDE = REPO / ".cache" / "claude-cli" / "node_modules" / ".bin" / "claude"
OLDER_SHAPES = ("kong-3.6", "kong-3.7", "kong-3.8", "kong-3.10", "kong-3.13-advanced")
LINES_PER_SHAPE = 4
SEED = 7
SYSTEM_PROMPT = "You are a terse assistant working in a scratch directory."
# (capture name, upstream model, prompt): the [sim:...] directives make the simulated backend
# call the Claude CLI's Bash tool, which the CLI runs for real before asking again.
SESSIONS = (
    (
        "hello-bash",
        "gpt-5-mini",
        'Say hello from the shell. [sim:tool Bash {"command": "echo hello-from-claude-gw", '
        '"description": "Print a greeting"}]',
    ),
    (
        "two-rounds",
        "gpt-4.1-mini",
        'Count to three, twice. [sim:rounds 2] [sim:tool Bash {"command": "seq 3", '
        '"description": "Count"}]',
    ),
    (
        "parallel-tools",
        "gpt-5-nano",
        'Print two words at once. [sim:tool Bash {"command": "echo alpha", "description": "A"}] '
        '[sim:tool Bash {"command": "echo beta", "description": "B"}]',
    ),
)
# (target name, API kind, model): every one served by the simulated backend.
REPLAY_TARGETS = (
    ("gpt-5-nano", "chat", "gpt-5-nano"),
    ("gpt-4.1", "chat", "gpt-4.1"),
    ("gpt-5-mini-responses", "responses", "gpt-5-mini"),
)


def write_kong_3_13(out: Path) -> None:
    shutil.copyfile(FIXTURE, out)


def older_kong_lines(seed: int = SEED) -> list[bytes]:
    """LINES_PER_SHAPE records of each older Kong shape, then one bad line of each kind (the
    last one a record cut off mid-line, as a crash leaves it)."""
    origins = {shape: origin for shape, origin, _ in SHAPE_MIX}
    traffic = Traffic(seed)
    lines = [
        kong_renderer(shape).encode(traffic.draw(origins[shape], shape))
        for shape in OLDER_SHAPES
        for _ in range(LINES_PER_SHAPE)
    ]
    no_ai = NoAiRoute().encode(traffic.draw("kong", "status-route"))
    return [*lines, NOT_JSON[0], ARRAYS[1], SCALARS[0], no_ai, lines[-1][: len(lines[-1]) // 2]]


def write_older_kong(out: Path) -> None:
    out.write_bytes(b"\n".join(older_kong_lines()))  # no final newline: the last line is cut


def claude_environ(home: Path) -> dict[str, str]:
    """A clean environment for the CLI: its own home, no settings or keys of the user's."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
    }


def capture_sessions(out: Path, claude: Path) -> None:
    out.unlink(missing_ok=True)
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as home:
        # the CLI tells the model its working directory: make it a scratch one, not this repo
        os.chdir(home)
        try:
            for name, model, prompt in SESSIONS:
                capture_one(out, claude, Path(home), name, model, prompt)
        finally:
            os.chdir(here)


def capture_one(out: Path, claude: Path, home: Path, name: str, model: str, prompt: str) -> None:
    settings = Settings(
        upstream_url="simulated",
        simulated_timing="realistic",  # the samples' latencies are each model profile's own
        routing=Routing(model=model),
        log_path=out,
        log_payloads=True,
    )
    command = [str(claude), "-p", "--tools", "Bash", "--allowedTools", "Bash"]
    command += ["--system-prompt", SYSTEM_PROMPT, "--", prompt]
    result = run_capture(command, settings, name=name, environ=claude_environ(home))
    print(f"\n{name}: exit {result.returncode}, {result.summary()}", file=sys.stderr)


def replay_sessions(sessions: Path, out: Path) -> None:
    out.unlink(missing_ok=True)
    requests = dedupe(load_requests(sessions))
    with serve_simulated() as base_url:
        targets = [
            Target(name, kind=kind, base_url=base_url, model=model, api_key_env="")
            for name, kind, model in REPLAY_TARGETS
        ]
        # one slot per request: no request waits for another, so each latency is its own
        replay(requests, targets, output=out, run_id="sample-replay", concurrency=len(requests))
    print(f"replay: {len(read_logs(out))} results", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("kong", "sessions", "replay"))
    parser.add_argument("--claude", type=Path, default=CLAUDE, help="the Claude CLI to run")
    args = parser.parse_args(argv)
    if args.only in (None, "kong"):
        write_kong_3_13(DATA / "kong-3.13.json")
        write_older_kong(DATA / "kong-older.json")
    if args.only in (None, "sessions"):
        capture_sessions(DATA / "claude_gw-sessions.json", args.claude)
    if args.only in (None, "sessions", "replay"):
        replay_sessions(DATA / "claude_gw-sessions.json", DATA / "replay.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
