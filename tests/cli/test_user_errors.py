"""The user's plain mistakes, command by command: each is one line on stderr naming the option
or file and the cause, exit status 2, and never a traceback.

Every case runs `python -m claude_gw ...` in a subprocess, as a user would type it (the cases
run a few at a time, each bounded by a timeout, when the first of them is asked for). `{tmp}`
in a case is a directory holding the files below, `{data}` the repository's `data/`, and
`{busy_port}` a loopback port another socket listens on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLEARED = ("OPENAI_", "ANTHROPIC_", "DECK_", "CLAUDE_")
SAMPLE = "{data}/claude_gw-sessions.json"
CASES = [
    # serve
    ("serve_port_out_of_range", ["serve", "--port", "99999"], ["--port", "0-65535", "99999"]),
    ("serve_port_negative", ["serve", "--port", "-1"], ["--port", "-1"]),
    ("serve_port_not_a_number", ["serve", "--port", "abc"], ["--port", "abc"]),
    ("serve_zero_timeout", ["serve", "--connect-timeout", "0"], ["--connect-timeout", "positive"]),
    ("serve_negative_timeout", ["serve", "--read-timeout", "-5"], ["--read-timeout", "-5"]),
    ("serve_tokens_negative", ["serve", "--long-context-tokens", "-3"], ["--long-context-tokens"]),
    ("serve_bad_size", ["serve", "--max-body", "12XB"], ["--max-body", "12XB"]),
    ("serve_bad_map", ["serve", "--map", "foo"], ["--map", "PATTERN=MODEL"]),
    ("serve_bad_upstream", ["serve", "--upstream", "ftp://x"], ["--upstream", "ftp://x"]),
    ("serve_bad_upstream_api", ["serve", "--upstream-api", "grpc"], ["--upstream-api", "grpc"]),
    ("serve_unknown_option", ["serve", "--prot", "8000"], ["unrecognized", "--prot"]),
    ("serve_no_key", ["serve"], ["no API key", "OPENAI_API_KEY"]),
    ("serve_missing_key_file", ["serve", "--api-key-file", "{tmp}/nokey"], ["{tmp}/nokey"]),
    ("serve_empty_key_file", ["serve", "--api-key-file", "{tmp}/empty.json"], ["empty"]),
    ("serve_missing_kong", ["serve", "--kong-config", "{tmp}/no.yaml"], ["{tmp}/no.yaml"]),
    ("serve_kong_not_yaml", ["serve", "--kong-config", "{tmp}/notes.txt"], ["notes.txt", "YAML"]),
    (
        "serve_port_in_use",
        ["serve", "--upstream", "simulated", "--port", "{busy_port}"],
        ["cannot listen", "{busy_port}"],
    ),
    # capture
    ("capture_no_command", ["capture", "--upstream", "simulated"], ["give the command"]),
    (
        "capture_command_not_found",
        ["capture", "--upstream", "simulated", "--", "no-such-command-xyz"],
        ["command not found", "no-such-command-xyz"],
    ),
    ("capture_bad_gateway", ["capture", "--gateway", "nope", "--", "true"], ["--gateway", "nope"]),
    (
        "capture_bad_name",
        ["capture", "--name", "a b", "--upstream", "simulated", "--", "true"],
        ["capture name", "'a b'"],
    ),
    # env
    ("env_port_out_of_range", ["env", "--port", "70000"], ["--port", "70000"]),
    ("env_bad_gateway", ["env", "--gateway", "localhost:8000"], ["--gateway", "localhost:8000"]),
    # logs
    ("logs_no_action", ["logs"], ["ACTION"]),
    ("logs_missing_file", ["logs", "summary", "{tmp}/none.json"], ["{tmp}/none.json"]),
    ("logs_missing_glob", ["logs", "summary", "{tmp}/*.nothing"], ["*.nothing"]),
    ("logs_bad_by", ["logs", "summary", "--by", "colour", SAMPLE], ["--by", "colour"]),
    (
        "logs_convert_into_missing_dir",
        ["logs", "convert", SAMPLE, "-o", "{tmp}/no/dir/out.parquet"],
        ["-o", "no such directory", "{tmp}/no/dir"],
    ),
    ("logs_convert_no_output", ["logs", "convert", SAMPLE], ["-o/--output"]),
    # report
    (
        "report_into_missing_dir",
        ["report", SAMPLE, "-o", "{tmp}/no/dir/r.html"],
        ["-o", "no such directory", "{tmp}/no/dir"],
    ),
    ("report_onto_a_directory", ["report", SAMPLE, "-o", "{tmp}"], ["-o", "is a directory"]),
    ("report_missing_file", ["report", "{tmp}/none.json", "-o", "{tmp}/r.html"], ["none.json"]),
    ("report_bad_reprice", ["report", SAMPLE, "-o", "{tmp}/r.html", "--reprice", "@x"], ["@x"]),
    # replay
    ("replay_no_from", ["replay", "--target", "gpt-5"], ["--from"]),
    ("replay_missing_from", ["replay", "--from", "{tmp}/none", "--target", "x"], ["{tmp}/none"]),
    ("replay_no_target", ["replay", "--from", SAMPLE, "--dry-run"], ["--target", "--targets"]),
    (
        "replay_missing_targets_file",
        ["replay", "--from", SAMPLE, "--targets", "{tmp}/no.toml", "--dry-run"],
        ["targets file", "{tmp}/no.toml"],
    ),
    (
        "replay_targets_not_toml",
        ["replay", "--from", SAMPLE, "--targets", "{tmp}/bad.toml", "--dry-run"],
        ["{tmp}/bad.toml", "cannot parse"],
    ),
    (
        "replay_targets_not_text",
        ["replay", "--from", SAMPLE, "--targets", "{tmp}/binary.toml", "--dry-run"],
        ["{tmp}/binary.toml", "UTF-8"],
    ),
    (
        "replay_bad_kind",
        ["replay", "--from", SAMPLE, "--target", "kind=grpc,model=x", "--dry-run"],
        ["kind", "chat, responses"],
    ),
    (
        "replay_bad_base_url",
        ["replay", "--from", SAMPLE, "--target", "model=x,base_url=nowhere", "--dry-run"],
        ["base_url", "nowhere"],
    ),
    (
        "replay_not_key_value",
        ["replay", "--from", SAMPLE, "--target", "model=x,fast", "--dry-run"],
        ["key=value", "fast"],
    ),
    (
        "replay_zero_concurrency",
        ["replay", "--from", SAMPLE, "--target", "x", "--concurrency", "0"],
        ["--concurrency", "0"],
    ),
    (
        "replay_bad_since",
        ["replay", "--from", SAMPLE, "--target", "x", "--since", "yesterday"],
        ["--since", "yesterday"],
    ),
    (
        "replay_negative_rpm",
        ["replay", "--from", SAMPLE, "--target", "x", "--rpm", "-1"],
        ["--rpm", "-1"],
    ),
    (
        "replay_no_key",
        ["replay", "--from", SAMPLE, "--target", "gpt-5", "-o", "{tmp}/r.json"],
        ["OPENAI_API_KEY is not set"],
    ),
    (
        "replay_into_missing_dir",
        ["replay", "--from", SAMPLE, "--target", "gpt-5", "-o", "{tmp}/no/r.json"],
        ["-o", "no such directory"],
    ),
    (
        "replay_no_requests",
        ["replay", "--from", "{tmp}/empty.json", "--target", "gpt-5", "--dry-run"],
        ["no requests", "empty.json"],
    ),
    (
        "replay_nothing_selected",
        ["replay", "--from", SAMPLE, "--target", "gpt-5", "--session", "nope", "--dry-run"],
        ["--session"],
    ),
    (
        "replay_same_target_twice",
        ["replay", "--from", SAMPLE, "--target", "gpt-5", "--target", "gpt-5", "--dry-run"],
        ["gpt-5", "twice"],
    ),
    # kong-config
    (
        "kong_config_into_missing_dir",
        ["kong-config", "-o", "{tmp}/no/dir/kong.yaml"],
        ["-o", "no such directory"],
    ),
    ("kong_config_missing_file", ["kong-config", "--kong-config", "{tmp}/no.yaml"], ["no.yaml"]),
    (
        "kong_config_not_text",
        ["kong-config", "--kong-config", "{tmp}/binary.toml"],
        ["binary.toml", "UTF-8"],
    ),
    (
        "serve_log_in_a_file",
        ["serve", "--upstream", "simulated", "--port", "0", "--log", "{tmp}/empty.json/x"],
        ["empty.json"],
    ),
    (
        "serve_log_is_a_directory",
        ["serve", "--upstream", "simulated", "--port", "0", "--log", "{tmp}"],
        ["{tmp}", "directory"],
    ),
    # the command itself
    ("unknown_command", ["srve"], ["invalid choice", "srve"]),
    ("misspelt_help", ["--hlep"], ["unrecognized", "--hlep"]),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("user-errors")
    (tmp / "empty.json").write_text("")
    (tmp / "notes.txt").write_text("Notes: a: b: c\n")
    (tmp / "bad.toml").write_text("[targets.x\n")
    (tmp / "binary.toml").write_bytes(b"\xff\xfe\x00targets")
    return tmp


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env["TMPDIR"] = str(cwd)  # where a crash report would go
    return subprocess.run(
        [sys.executable, "-m", "claude_gw", *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def outcomes(workdir: Path, busy_port: int) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's outcome, run two at a time."""
    values = {"tmp": str(workdir), "data": str(REPO / "data"), "busy_port": str(busy_port)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(run, [fill(a, values) for a in argv], workdir)
            for name, argv, _ in CASES
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize(("argv", "named"), [pytest.param(a, n, id=i) for i, a, n in CASES])
def test_a_plain_mistake_is_one_line_naming_the_cause_with_exit_status_2(
    request, argv, named, outcomes, workdir, busy_port
):
    outcome = outcomes[request.node.callspec.id]
    values = {"tmp": str(workdir), "busy_port": str(busy_port)}
    lines = outcome.stderr.strip().splitlines()
    assert "Traceback" not in outcome.stderr
    assert outcome.returncode == 2, outcome.stderr
    assert len(lines) == 1 and lines[0].startswith("claude-gw"), outcome.stderr
    for text in named:
        assert fill(text, values) in lines[0]
    assert not list(workdir.glob("claude-gw-crash-*"))
