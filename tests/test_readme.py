"""Every `sh` block of README.md runs as written, offline.

The blocks are read from README.md when the tests are collected, so whatever the README holds
then is what runs. Each block runs with `bash -e` (every line must succeed) in a fresh
directory holding what the examples name, made from `data/`:

- `claude.json`: `data/claude_gw-sessions.json` (claude_gw records, with payloads);
- `kong-logs/`: `data/kong-3.13.json` and `data/kong-older.json`;
- `logs/`: the three files gzipped;
- `data/`: a copy of the repository's `data/` (for examples written to run in a checkout);
- `.venv/bin/claude-gw` and `.venv/bin/python`: the interpreter running the tests (the README's
  install line makes `.venv`; these stand for it), and `claude-gw` on the PATH likewise;

and with the real Claude CLI (the `claude_cli` fixture) on the PATH, a HOME of its own, no API
key, `OPENAI_BASE_URL` pointing at the simulated backend served on loopback (a TEST DOUBLE for
api.openai.com, instant), and `CLAUDE_GW_PORT=0` so a gateway takes a free port.

A block that starts `claude-gw serve` runs until it says where it listens; it is then sent a
Messages request with the `anthropic` SDK, which must be answered and logged, and stopped with
SIGTERM, after which it must exit cleanly. A block marked `<!-- not run by tests/test_readme.py:
REASON -->` on the line above it is not run: the reason must be given, and the block must be
valid shell in which every `claude-gw` command parses.
"""

from __future__ import annotations

import gzip
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import pytest

from claude_gw.cli import build_parser
from claude_gw.simulated import Simulator, serve_simulated

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
FENCE = re.compile(r"^(\s*)```\s*(\S*)\s*$")  # indented in a list item, too
NOT_RUN = re.compile(r"^<!--\s*not run by tests/test_readme\.py:(.*)-->\s*$")
SERVE = re.compile(r"(^|[\s/])claude-gw\s+serve\b")
LISTENING = re.compile(r"listening on (http://\S+)")
SHELLS = ("sh", "bash", "shell")
CLEARED = ("OPENAI_", "ANTHROPIC_", "DECK_", "CLAUDE_")
BLOCK_TIMEOUT_S = 180
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    text: str
    not_run: str | None  # the reason given, when the block is marked

    @property
    def id(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else "empty"
        return f"L{self.line}-" + re.sub(r"[^A-Za-z0-9]+", "-", first)[:50].strip("-")


def shell_blocks(markdown: str) -> list[Block]:
    """The shell blocks of a Markdown text, each with the reason it is not run, if marked."""
    lines = markdown.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md:{index + 1}: a code block is never closed"
        if opening.group(2) in SHELLS:
            before = lines[index - 1] if index else ""
            marked = NOT_RUN.match(before.strip())
            reason = marked.group(1).strip() if marked else None
            indent = len(opening.group(1))
            body = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
            blocks.append(Block(index + 1, body, reason))
        index = end + 1
    return blocks


BLOCKS = shell_blocks((REPO / "README.md").read_text(encoding="utf-8"))
RUN = [pytest.param(b, id=b.id) for b in BLOCKS if b.not_run is None]
MARKED = [pytest.param(b, id=b.id) for b in BLOCKS if b.not_run is not None]


def test_the_readme_has_blocks_to_run():
    assert len(RUN) >= 6, "the README's sh blocks were not found"


def test_the_extraction_sees_fences_markers_and_other_languages():
    text = (
        "x\n```sh\nrun me\n```\n<!-- not run by tests/test_readme.py: needs a person -->\n"
        "```sh\nclaude\n```\n```python\nprint()\n```\n```\nplain\n```\n"
        "- item:\n\n  ```sh\n  indented\n  ```\n"
    )
    assert shell_blocks(text) == [
        Block(2, "run me\n", None),
        Block(6, "claude\n", "needs a person"),
        Block(17, "indented\n", None),
    ]


# --------------------------------------------------------------------------- environment


@pytest.fixture(scope="module")
def simulated_openai() -> Iterator[str]:
    with serve_simulated(Simulator(time_scale=0.0)) as base_url:
        yield base_url


def wrapper(path: Path, *command: str) -> None:
    path.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
    path.chmod(0o755)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(DATA, work / "data")
    (work / "kong-logs").mkdir(parents=True)
    (work / "logs").mkdir()
    shutil.copy(DATA / "claude_gw-sessions.json", work / "claude.json")
    for name in ("kong-3.13.json", "kong-older.json"):
        shutil.copy(DATA / name, work / "kong-logs" / name)
    for name in ("claude_gw-sessions.json", "kong-3.13.json", "kong-older.json"):
        (work / "logs" / f"{name}.gz").write_bytes(gzip.compress((DATA / name).read_bytes()))
    venv_bin = work / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    wrapper(venv_bin / "claude-gw", sys.executable, "-m", "claude_gw")
    wrapper(venv_bin / "python", sys.executable)
    return work


@pytest.fixture
def block_env(tmp_path: Path, claude_cli: Path, simulated_openai: str) -> dict[str, str]:
    tools = tmp_path / "bin"
    tools.mkdir()
    wrapper(tools / "claude-gw", sys.executable, "-m", "claude_gw")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    path = os.pathsep.join([str(tools), str(claude_cli.parent), env.get("PATH", "")])
    env.update(
        PATH=path,
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        TERM="dumb",
        OPENAI_BASE_URL=simulated_openai,
        CLAUDE_GW_PORT="0",
    )
    return env


# --------------------------------------------------------------------------- running


def run_to_the_end(block: Block, workdir: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.text],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    output = (
        f"README.md:{block.line}\n{block.text}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert result.returncode == 0, output
    assert "Traceback" not in result.stderr, output


def lines_of(stream, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def wait_for_url(lines: queue.Queue[str], seen: list[str]) -> str:
    """The URL the gateway says it listens on (bounded by START_TIMEOUT_S)."""
    while True:
        line = lines.get(timeout=START_TIMEOUT_S)
        seen.append(line)
        found = LISTENING.search(line)
        if found:
            return found.group(1)


def log_lines(workdir: Path) -> int:
    log = workdir / "claude.json"
    return len(log.read_bytes().splitlines()) if log.exists() else 0


def client_key(block: Block, workdir: Path) -> str:
    """The first key of the block's --client-key-file, if it gives one, else any key."""
    found = re.search(r"--client-key-file[ =](\S+)", block.text)
    if not found:
        return "x"
    keys = (workdir / found.group(1)).read_text().splitlines()
    return next(k.strip() for k in keys if k.strip() and not k.startswith("#"))


def probe(url: str, key: str) -> str:
    client = anthropic.Anthropic(base_url=f"{url}/anything", api_key=key, max_retries=0)
    message = client.messages.create(
        model="gpt-5-mini",
        max_tokens=1024,
        messages=[{"role": "user", "content": "[sim:reply hello from the README]"}],
        timeout=30,
    )
    assert message.stop_reason == "end_turn", message
    return "".join(block.text for block in message.content if block.type == "text")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to what the shell started, as Ctrl-C or a service manager would stop a gateway
    (the shell then exits with its status); to the whole group when the shell made nothing."""
    started = children(process.pid)
    if not started:
        os.killpg(process.pid, signal.SIGTERM)
    for pid in started:
        os.kill(pid, signal.SIGTERM)


def run_serving(block: Block, workdir: Path, env: dict[str, str]) -> None:
    before = log_lines(workdir)
    process = subprocess.Popen(
        ["bash", "-e", "-c", block.text],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lines_of, args=(process.stderr, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        url = wait_for_url(lines, seen)
        assert probe(url, client_key(block, workdir)) == "hello from the README"
    finally:
        stop(process)
        status = process.wait(timeout=60)
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
    seen.extend(lines.queue)
    output = f"README.md:{block.line}\n{block.text}\nstderr:\n{''.join(seen)}"
    # uvicorn ends a SIGTERM'd server by raising the signal again once it has shut down
    # cleanly: -15 when the shell exec'd the gateway, 143 when it waited for it.
    assert status in (0, -signal.SIGTERM, 128 + signal.SIGTERM), output
    assert "Traceback" not in output
    assert log_lines(workdir) == before + 1, output


@pytest.mark.parametrize("block", RUN)
def test_a_readme_block_runs_as_written(block, workdir, block_env):
    if SERVE.search(block.text):
        run_serving(block, workdir, block_env)
    else:
        run_to_the_end(block, workdir, block_env)


# --------------------------------------------------------------------------- marked blocks


def commands_of(text: str) -> Iterator[list[str]]:
    """The arguments of every `claude-gw` command in a shell text (after `claude-gw`, up to the
    end of its simple command)."""
    joined = text.replace("\\\n", " ")
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        for index, word in enumerate(words):
            if Path(word).name == "claude-gw":
                rest = words[index + 1 :]
                ends = [i for i, w in enumerate(rest) if set(w) <= set("&|;<>()")]
                yield rest[: ends[0]] if ends else rest


@pytest.mark.parametrize("block", MARKED)
def test_a_block_not_run_says_why_is_valid_shell_and_its_commands_parse(block):
    assert len(block.not_run or "") >= 20, "say why the block cannot run offline"
    syntax = subprocess.run(
        ["bash", "-n", "-c", block.text], capture_output=True, text=True, timeout=30, check=False
    )
    assert syntax.returncode == 0, syntax.stderr
    for argv in commands_of(block.text):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit:
            pytest.fail(f"README.md:{block.line}: claude-gw {shlex.join(argv)}: exit {exit.code}")
