"""`claude-gw capture` and `claude-gw env`, with plain commands and with the real Claude CLI
against the simulated OpenAI backend (the test double of tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claude_gw.auth import read_client_keys
from claude_gw.capture import (
    PLACEHOLDER_KEY,
    RecordFollower,
    check_pass_env,
    client_env,
    describe_record,
    read_records,
    run_capture,
)
from claude_gw.config import Secret, Settings
from claude_gw.routing import ModelRule, Routing

UPSTREAM_KEY = "sk-test-upstream-key-0123456789"


def capture(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "capture",
            "--log",
            str(tmp_path / "claude.json"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "OPENAI_API_KEY": UPSTREAM_KEY, **(env or {})},
    )


def test_client_env_points_the_cli_at_the_gateway_and_follows_the_model_map():
    settings = Settings(
        routing=Routing(model="gpt-5-mini", model_map=(ModelRule("claude-haiku-*", "gpt-5-nano"),))
    )
    env = client_env("http://127.0.0.1:9/capture/x", settings, {"HOME": "/h"})
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9/capture/x"
    assert env["ANTHROPIC_MODEL"] == "gpt-5-mini"
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "gpt-5-nano"
    assert (
        env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "gpt-5-mini"
    )
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert env["ANTHROPIC_API_KEY"] == PLACEHOLDER_KEY and env["HOME"] == "/h"
    assert "ANTHROPIC_AUTH_TOKEN" not in client_env("u", settings, {"ANTHROPIC_AUTH_TOKEN": "t"})


@pytest.mark.parametrize(
    ("options", "window"),
    [
        pytest.param({"model": "gpt-5-mini"}, "400000", id="price_table"),
        pytest.param({"model": "gpt-4.1"}, "1000000", id="price_table_1m"),
        pytest.param({"model": "gpt-5-mini", "context_window": 8192}, "8192", id="configured"),
        pytest.param({"model": "smollm2"}, None, id="unknown_model"),
        pytest.param(
            {"model": "claude-sonnet-4-6", "upstream_api": "anthropic"}, None, id="anthropic"
        ),
        pytest.param(
            {"model": "claude-sonnet-4-6", "upstream_api": "anthropic", "context_window": 200000},
            "200000",
            id="anthropic_configured",
        ),
    ],
)
def test_client_env_gives_the_cli_the_models_context_window(options, window):
    rest = {name: value for name, value in options.items() if name != "model"}
    env = client_env("u", Settings(routing=Routing(model=options["model"]), **rest), {})
    assert env.get("CLAUDE_CODE_MAX_CONTEXT_TOKENS") == window


# What a gateway's environment may hold; none of it may reach the command.
SECRETS = {
    "OPENAI_API_KEY": UPSTREAM_KEY,
    "ANTHROPIC_API_KEY": "sk-ant-api03-the-operators-own-key",
    "ANTHROPIC_AUTH_TOKEN": "the-operators-anthropic-token-000",
    "DECK_OPENAI_API_KEY": "sk-deck-substituted-key-0000000",
    "CLAUDE_GW_API_KEY_FILE": "/secrets/openai.key",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-00000000",
    "GITHUB_TOKEN": "ghp_github-token-000000000000000",
    "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-claude-login-token",
    "DATABASE_URL": "postgres://app:hunter2-password@db/app",
    "COPY_OF_THE_KEY": f"prefix-{UPSTREAM_KEY}",  # passed by --pass-env, still dropped
}


def secrets_with_key_file(tmp_path: Path) -> dict[str, str]:
    """SECRETS, with CLAUDE_GW_API_KEY_FILE naming a real file (the gateway reads it)."""
    key_file = tmp_path / "openai.key"
    key_file.write_text(UPSTREAM_KEY + "\n")
    return {**SECRETS, "CLAUDE_GW_API_KEY_FILE": str(key_file)}


# What a CLI needs and gets.
NEEDED = {
    "HOME": "/home/someone",
    "TERM": "xterm-256color",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "XDG_CONFIG_HOME": "/home/someone/.config",
    "CLAUDE_CONFIG_DIR": "/home/someone/.claude",
    "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096",
    "DISABLE_AUTOUPDATER": "1",
}


def test_client_env_is_an_allow_list_with_none_of_the_gateways_secrets():
    settings = Settings(api_key=Secret(UPSTREAM_KEY))
    environ = {**SECRETS, **NEEDED, "PATH": "/usr/bin", "PROJECT_FLAG": "on"}
    env = client_env(
        "http://127.0.0.1:9/capture/x", settings, environ, pass_env=["COPY_OF_THE_KEY"]
    )
    assert not set(SECRETS) - {"ANTHROPIC_API_KEY"} & set(env)
    assert not any(value in "\n".join(env.values()) for value in SECRETS.values())
    assert {name: env[name] for name in NEEDED} == NEEDED
    assert env["ANTHROPIC_API_KEY"] == PLACEHOLDER_KEY
    assert "PROJECT_FLAG" not in env  # not needed by a CLI: only with --pass-env
    assert client_env("u", settings, environ, pass_env=["PROJECT_FLAG"])["PROJECT_FLAG"] == "on"


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "DECK_OPENAI_API_KEY", "CLAUDE_GW_X", "AWS_X"])
def test_pass_env_refuses_the_gateways_own_variables(name):
    with pytest.raises(ValueError, match=f"--pass-env {name}: the gateway's keys"):
        check_pass_env([name])


def test_client_env_hands_the_command_the_first_client_key(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("client-key-one-0123456789\nclient-key-two-0123456789\n")
    settings = Settings(client_auth=read_client_keys(keys))
    env = client_env("u", settings, {"ANTHROPIC_API_KEY": "sk-ant-mine"})
    assert env["ANTHROPIC_API_KEY"] == "client-key-one-0123456789"


PRINT_ENV = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"


def test_the_command_sees_no_secret_of_the_gateways_environment(tmp_path):
    dump = tmp_path / "env.json"
    secrets = secrets_with_key_file(tmp_path)
    result = capture(
        tmp_path,
        *("--upstream", "simulated", "--pass-env", "COPY_OF_THE_KEY"),
        *("--", sys.executable, "-c", PRINT_ENV, str(dump)),
        env={**secrets, **NEEDED},
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(dump.read_text())
    leaked = [name for name, value in secrets.items() if value in json.dumps(seen)]
    assert leaked == []
    assert seen["ANTHROPIC_API_KEY"] == PLACEHOLDER_KEY
    assert seen["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")
    assert {name: seen[name] for name in NEEDED} == NEEDED


def test_pass_env_of_a_gateway_key_is_a_one_line_error(tmp_path):
    result = capture(
        tmp_path, "--upstream", "simulated", "--pass-env", "OPENAI_API_KEY", "--", "true"
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("claude-gw: capture: --pass-env OPENAI_API_KEY:")


def test_with_client_keys_the_command_gets_one_and_other_clients_are_refused(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("capture-client-key-0123456789\n")
    script = (
        "import os, httpx\n"
        "url = os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages'\n"
        "body = {'model': 'gpt-4.1', 'max_tokens': 50,"
        " 'messages': [{'role': 'user', 'content': '[sim:reply ok]'}]}\n"
        "key = {'x-api-key': os.environ['ANTHROPIC_API_KEY']}\n"
        "for headers in (key, {'x-api-key': 'x' * 30}):\n"
        "    print(httpx.post(url, json=body, headers=headers, timeout=30).status_code)\n"
    )
    result = capture(
        tmp_path,
        *("--upstream", "simulated", "--client-key-file", str(keys)),
        *("--", sys.executable, "-c", script),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "401"]


def test_capture_returns_the_commands_exit_status_and_prints_a_summary(tmp_path):
    result = capture(
        tmp_path, "--upstream", "simulated", "--name", "t1", "--", "sh", "-c", "exit 3"
    )
    assert result.returncode == 3
    assert "claude-gw capture t1: 0 requests" in result.stderr
    assert str(tmp_path / "claude.json") in result.stderr


def test_capture_labels_every_record_of_the_command(tmp_path):
    script = (
        "import os, httpx\n"
        "base = os.environ['ANTHROPIC_BASE_URL']\n"
        "body = {'model': os.environ['ANTHROPIC_MODEL'], 'max_tokens': 2000,"
        " 'messages': [{'role': 'user', 'content': '[sim:reply ok]'}]}\n"
        "for _ in range(3):\n"
        "    assert httpx.post(base + '/v1/messages', json=body, timeout=30).status_code == 200\n"
    )
    result = capture(
        tmp_path, "--upstream", "simulated", "--name", "three", "--", sys.executable, "-c", script
    )
    assert result.returncode == 0, result.stderr
    assert "3 requests (0 errors)" in result.stderr
    records = read_records(tmp_path / "claude.json", 0, "three")
    assert len(records) == 3
    assert {r["request"]["uri"] for r in records} == {"/capture/three/v1/messages"}


def test_capture_follow_prints_a_line_per_record_before_the_summary(tmp_path):
    script = (
        "import os, httpx\n"
        "body = {'model': os.environ['ANTHROPIC_MODEL'], 'max_tokens': 100,"
        " 'messages': [{'role': 'user', 'content': '[sim:reply ok]'}]}\n"
        "for _ in range(2):\n"
        "    httpx.post(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages', json=body, timeout=30)\n"
    )
    result = capture(
        tmp_path,
        *("--upstream", "simulated", "--model", "gpt-4.1-mini", "--follow", "--name", "f"),
        *("--", sys.executable, "-c", script),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    followed = [line for line in lines if " gpt-4.1-mini-simulated 200 " in line]
    assert len(followed) == 2
    assert all(line.endswith("end_turn, 0 tool calls") for line in followed)
    assert lines.index(followed[-1]) < lines.index(
        "claude-gw capture f: 2 requests (0 errors), 0 token counts"
    )


def test_capture_errors_are_one_line(tmp_path):
    missing = capture(tmp_path, "--upstream", "simulated", "--", "no-such-command-xyz")
    assert missing.returncode == 2 and "command not found: no-such-command-xyz" in missing.stderr
    empty = capture(tmp_path, "--upstream", "simulated")
    assert empty.returncode == 2 and "give the command to run after --" in empty.stderr
    bad_name = capture(tmp_path, "--upstream", "simulated", "--name", "a b", "--", "true")
    assert bad_name.returncode == 2 and "capture name 'a b'" in bad_name.stderr


def test_run_capture_python_api_returns_the_records(tmp_path):
    settings = Settings(upstream_url="simulated", log_path=tmp_path / "claude.json")
    script = (
        "import os, httpx\n"
        "httpx.post(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages/count_tokens',"
        " json={'model': 'x', 'messages': [{'role': 'user', 'content': 'hello'}]}, timeout=30)\n"
    )
    result = run_capture(
        [sys.executable, "-c", script], settings, name="api", environ=dict(os.environ)
    )
    assert result.returncode == 0
    (record,) = result.records
    assert record["claude_gw"]["endpoint"] == "count_tokens"
    assert result.summary().token_counts == 1 and result.summary().requests == 0
    frame = result.to_frame()
    assert frame.height == 1 and frame["endpoint"][0] == "count_tokens"
    assert list(result.to_frame(engine="pandas")["source_line"]) == [1]


# A command that sends one request, waits (at most 20 s) for the file named by its first
# argument to appear, then sends a second one and exits at once.
TWO_REQUESTS_WITH_A_PAUSE = (
    "import os, sys, time, httpx\n"
    "base = os.environ['ANTHROPIC_BASE_URL']\n"
    "def ask(text):\n"
    "    body = {'model': os.environ['ANTHROPIC_MODEL'], 'max_tokens': 100,"
    " 'messages': [{'role': 'user', 'content': '[sim:reply ' + text + ']'}]}\n"
    "    assert httpx.post(base + '/v1/messages', json=body, timeout=30).status_code == 200\n"
    "ask('first')\n"
    "deadline = time.monotonic() + 20\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    if time.monotonic() > deadline:\n"
    "        sys.exit(7)\n"
    "    time.sleep(0.05)\n"
    "ask('second')\n"
)


def answer_text(record: dict[str, Any]) -> str:
    text: str = json.loads(record["ai"]["proxy"]["payload"]["response"])["content"][0]["text"]
    return text


def test_on_record_sees_each_record_once_in_order_while_the_command_runs(tmp_path):
    """The command only goes on to its second request once the callback has seen the first
    one, so a callback called only after the command ended would make it exit 7."""
    seen_file = tmp_path / "first-record-seen"
    seen: list[dict[str, Any]] = []

    def on_record(record: dict[str, Any]) -> None:
        seen.append(record)
        seen_file.touch()

    settings = Settings(
        upstream_url="simulated",
        log_path=tmp_path / "claude.json",
        log_payloads=True,
        routing=Routing(model="gpt-4.1-mini"),
    )
    command = [sys.executable, "-c", TWO_REQUESTS_WITH_A_PAUSE, str(seen_file)]
    result = run_capture(
        command, settings, name="follow", environ=dict(os.environ), on_record=on_record
    )
    assert result.returncode == 0, "the first record was not delivered while the command ran"
    assert [answer_text(r) for r in seen] == ["first", "second"]
    assert seen == result.records == read_records(tmp_path / "claude.json", 0, "follow")


def test_an_on_record_that_raises_stops_the_command(tmp_path):
    settings = Settings(upstream_url="simulated", log_path=tmp_path / "claude.json")
    script = (
        "import os, time, httpx\n"
        "httpx.post(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages/count_tokens',"
        " json={'model': 'x', 'messages': [{'role': 'user', 'content': 'hi'}]}, timeout=30)\n"
        "time.sleep(60)\n"
    )

    def on_record(record: dict[str, Any]) -> None:
        raise LookupError("no thanks")

    started = time.monotonic()
    with pytest.raises(LookupError, match="no thanks"):
        run_capture(
            [sys.executable, "-c", script], settings, environ=dict(os.environ), on_record=on_record
        )
    assert time.monotonic() - started < 30


def test_the_follower_reads_whole_lines_once_and_rereads_a_replaced_log(tmp_path):
    log = tmp_path / "claude.json"
    line = json.dumps({"claude_gw": {"capture": "x"}, "n": 1}).encode() + b"\n"
    other = json.dumps({"claude_gw": {"capture": "y"}}).encode() + b"\n"
    follower = RecordFollower(log, 0, "x")
    assert follower.poll() == []  # no log yet
    log.write_bytes(other + line[:10])
    assert follower.poll() == []  # a line still being written waits
    with log.open("ab") as f:
        f.write(line[10:] + b"not json\n")
    assert follower.poll() == [{"claude_gw": {"capture": "x"}, "n": 1}]
    assert follower.poll() == []
    log.write_bytes(line)  # rotated: a new, shorter file at the same path
    assert [r["n"] for r in follower.poll()] == [1]
    assert len(follower.records) == 2


def test_describe_record_is_one_line_with_time_model_status_tokens_and_stop_reason():
    record = {
        "started_at": 1795620331249,
        "response": {"status": 200},
        "ai": {
            "proxy": {
                "meta": {"request_model": "gpt-5-mini", "response_model": "gpt-5-mini-simulated"},
                "usage": {
                    "prompt_tokens": 1310,
                    "completion_tokens": 1732,
                    "prompt_tokens_details": {"cached_tokens": 1024},
                    "completion_tokens_details": {"reasoning_tokens": 1708},
                },
            }
        },
        "claude_gw": {"endpoint": "messages", "stop_reason": "tool_use", "tool_calls": 2},
    }
    assert describe_record(record) == (
        "15:25:31.249 gpt-5-mini-simulated 200 1310 in (1024 cached) 1732 out (1708 reasoning)"
        " tool_use, 2 tool calls"
    )
    failed = {
        "started_at": 0,
        "response": {"status": 429},
        "ai": {"proxy": {"meta": {"request_model": "gpt-4.1"}}},
        "claude_gw": {
            "endpoint": "messages",
            "error_type": "rate_limit_error",
            "error_message": "slow down",
        },
    }
    assert describe_record(failed) == (
        "00:00:00.000 gpt-4.1 429 0 in (0 cached) 0 out (0 reasoning)"
        " error rate_limit_error: slow down"
    )
    count = {
        "started_at": 0,
        "response": {"status": 200},
        "claude_gw": {"endpoint": "count_tokens"},
    }
    assert describe_record(count) == "00:00:00.000 ? 200 count_tokens"


def test_env_prints_export_lines_that_follow_the_model_options():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "env",
            "--port",
            "8123",
            "--model",
            "gpt-4.1",
            "--map",
            "claude-haiku-*=gpt-4.1-mini",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    lines = result.stdout.splitlines()
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:8123/anything" in lines
    assert "export ANTHROPIC_MODEL=gpt-4.1" in lines
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=gpt-4.1-mini" in lines
    assert "export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in lines
    assert "export CLAUDE_CODE_MAX_CONTEXT_TOKENS=1000000" in lines  # gpt-4.1's window
    assert all(line.startswith("export ") for line in lines)


# --------------------------------------------------------------------------- real Claude CLI


def claude_capture(
    tmp_path, claude_cli, fake_openai, prompt, *claude_args, gateway_args=(), extra_env=None
):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        **(extra_env or {}),
    }
    result = capture(
        tmp_path,
        "--upstream",
        fake_openai,
        "--name",
        "cli",
        *gateway_args,
        "--",
        str(claude_cli),
        "-p",
        "--output-format",
        "json",
        *claude_args,
        "--",
        prompt,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    return out, result.stderr, read_records(tmp_path / "claude.json", 0, "cli")


@pytest.mark.cli
def test_capture_records_a_claude_cli_bash_round_trip(tmp_path, claude_cli, fake_openai, simulator):
    prompt = '[sim:tool Bash {"command": "echo captured-output", "description": "Print"}]'
    out, stderr, records = claude_capture(
        tmp_path, claude_cli, fake_openai, prompt, "--allowedTools", "Bash"
    )
    assert "captured-output" in out["result"]
    messages = [r for r in records if r["claude_gw"]["endpoint"] == "messages"]
    assert len(messages) == 2
    assert {r["claude_gw"]["session_id"] for r in messages} == {out["session_id"]}
    assert "claude-gw capture cli: 2 requests (0 errors)" in stderr


@pytest.mark.cli
def test_a_model_run_env_command_in_the_claude_cli_prints_no_gateway_secret(
    tmp_path, claude_cli, fake_openai, simulator
):
    """The attack: a model (or a prompt injection) has the CLI's Bash tool print the
    environment, and the output goes back to the model."""
    prompt = '[sim:tool Bash {"command": "env", "description": "Print the environment"}]'
    secrets = secrets_with_key_file(tmp_path)
    claude_capture(
        tmp_path, claude_cli, fake_openai, prompt, "--allowedTools", "Bash", extra_env=secrets
    )
    tool_messages = [m for m in simulator.recorder.bodies[-1]["messages"] if m["role"] == "tool"]
    printed = tool_messages[-1]["content"]
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:" in printed  # it is the env output
    assert [name for name, value in secrets.items() if value in printed] == []


@pytest.mark.cli
def test_capture_gives_the_claude_cli_the_models_context_window(
    tmp_path, claude_cli, fake_openai, simulator
):
    """Without CLAUDE_CODE_MAX_CONTEXT_TOKENS the CLI takes gpt-5-mini, a name it does not know,
    for a 1,000,000-token model and compacts only near that (its json output then reports
    `contextWindow: 1000000`)."""
    out, _, _ = claude_capture(tmp_path, claude_cli, fake_openai, "[sim:reply ok]")
    assert out["result"] == "ok"
    assert out["modelUsage"]["gpt-5-mini"]["contextWindow"] == 400000  # the price table's


@pytest.mark.cli
def test_capture_maps_a_haiku_subagent_to_the_small_model(
    tmp_path, claude_cli, fake_openai, simulator
):
    agent = {
        "description": "Say hello",
        "prompt": "[sim:reply subagent-was-here]",
        "subagent_type": "general-purpose",
        "model": "haiku",
        "run_in_background": False,
    }
    prompt = f"[sim:tool Agent {json.dumps(agent)}]"
    out, _, records = claude_capture(
        tmp_path,
        claude_cli,
        fake_openai,
        prompt,
        "--allowedTools",
        "Agent",
        gateway_args=("--map", "claude-haiku-*=gpt-5-nano"),
    )
    assert out["result"].startswith("Tool Agent returned:")
    # The subagent's answer came back to the main loop as the Agent tool's result.
    tool_messages = [m for m in simulator.recorder.bodies[-1]["messages"] if m["role"] == "tool"]
    assert "subagent-was-here" in tool_messages[-1]["content"]
    models = [body["model"] for body in simulator.recorder.bodies]
    assert models.count("gpt-5-nano") == 1 and models.count("gpt-5-mini") == 2
    (sub,) = [r for r in records if r["ai"]["proxy"]["meta"]["request_model"] == "gpt-5-nano"]
    assert sub["claude_gw"]["agent_id"]  # x-claude-code-agent-id: only on subagent requests


@pytest.mark.cli
def test_a_body_over_the_limit_makes_the_cli_compact_and_finish(
    tmp_path, claude_cli, fake_openai, simulator
):
    """CLI notes, section 6: over --max-body the gateway answers 400 `prompt is too long`
    (not 413), and the Claude CLI compacts the conversation and finishes the task."""
    command = "printf '%020000d' 0"  # 20,000 characters of output, 20 KB more per turn
    tool = json.dumps({"command": command, "description": "Print 20000 characters"})
    prompt = f"[sim:rounds 4] [sim:tool Bash {tool}]"
    out, _, records = claude_capture(
        tmp_path,
        claude_cli,
        fake_openai,
        prompt,
        "--allowedTools",
        "Bash",
        gateway_args=("--max-body", "100000"),
    )
    assert out["is_error"] is False
    statuses = [
        r["response"]["status"] for r in records if r["claude_gw"]["endpoint"] == "messages"
    ]
    assert 400 in statuses and statuses[-1] == 200
    too_long = [r for r in records if r["response"]["status"] == 400]
    assert all(r["claude_gw"]["error_message"].startswith("prompt is too long") for r in too_long)
    compaction = [
        b for b in simulator.recorder.bodies if "CRITICAL: Respond with TEXT ONLY" in json.dumps(b)
    ]
    assert compaction, "the CLI sent no compaction request"


def test_capture_keeps_the_terminal_for_an_interactive_command(tmp_path):
    """The command gets the terminal capture was started from (an interactive `claude` stays
    interactive): its stdin and stdout are still a tty."""
    import pty

    controller, terminal = pty.openpty()
    check = "import os, sys; sys.exit(0 if os.isatty(0) and os.isatty(1) else 5)"
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "claude_gw",
                "capture",
                "--upstream",
                "simulated",
                "--log",
                str(tmp_path / "claude.json"),
                "--",
                sys.executable,
                "-c",
                check,
            ],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
            env={"PATH": os.environ["PATH"]},
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0, result.stderr


def test_env_exports_the_first_client_key_and_unsets_the_shells_token(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("env-client-key-0123456789\nenv-client-key-9876543210\n")
    result = subprocess.run(
        [sys.executable, "-m", "claude_gw", "env", "--client-key-file", str(keys)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "ANTHROPIC_API_KEY": "sk-ant-mine",
            "ANTHROPIC_AUTH_TOKEN": "my-token",
        },
    )
    lines = result.stdout.splitlines()
    assert "export ANTHROPIC_API_KEY=env-client-key-0123456789" in lines
    assert lines[-1] == "unset ANTHROPIC_AUTH_TOKEN"
    assert "sk-ant-mine" not in result.stdout and "my-token" not in result.stdout


def test_an_upstream_quoting_the_key_back_never_gets_it_to_the_command_console_or_log(tmp_path):
    from tests.reliability.echo_upstream import EchoUpstream
    from tests.reliability.test_masking import BEARER_KEY, assert_no_key
    from tests.servers import ServerThread

    script = (
        "import os, httpx\n"
        "url = os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages'\n"
        "for place in ('error_200', 'not_json_200', 'stream_error', 'stream_split', 'content'):\n"
        "    for form in ('whole', 'prefix', 'percent', 'percent_lower'):\n"
        "        for stream in (False, True):\n"
        "            text = f'[echo:{place}] [form:{form}]'\n"
        "            body = {'model': 'gpt-5-mini', 'max_tokens': 16, 'stream': stream,"
        " 'messages': [{'role': 'user', 'content': text}]}\n"
        "            print(httpx.post(url, json=body, timeout=30).text)\n"
    )
    upstream = EchoUpstream()
    with ServerThread(upstream) as server:
        result = capture(
            tmp_path,
            *("--upstream", f"{server.base_url}/v1", "--log-payloads", "--follow"),
            *("--", sys.executable, "-c", script),
            env={"OPENAI_API_KEY": BEARER_KEY},
        )
    assert result.returncode == 0, result.stderr
    assert set(upstream.seen) == {BEARER_KEY} and len(upstream.seen) == 40
    assert result.stdout.count("\n") >= 40  # the command printed every answer
    assert_no_key(result.stdout, BEARER_KEY, "command")
    assert_no_key(result.stderr, BEARER_KEY, "console")
    assert_no_key((tmp_path / "claude.json").read_text(), BEARER_KEY, "log")


SEND_ONE = (
    "import os, httpx; httpx.post(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages', "
    "headers={'x-api-key': os.environ['ANTHROPIC_API_KEY']}, json={'model': 'gpt-5-mini', "
    "'max_tokens': 8, 'messages': [{'role': 'user', 'content': 'payload-marker'}]}, timeout=30)"
)


@pytest.mark.parametrize("no_payloads", [False, True], ids=["default", "no_payloads"])
def test_capture_logs_payloads_unless_told_not_to_and_says_so(tmp_path, no_payloads):
    flags = ["--no-payloads"] if no_payloads else []
    result = capture(
        tmp_path, "--upstream", "simulated", *flags, "--", sys.executable, "-c", SEND_ONE
    )
    assert result.returncode == 0, result.stderr
    (line,) = (tmp_path / "claude.json").read_text().splitlines()
    record = json.loads(line)
    said = "logging this session's requests and answers" in result.stderr
    assert said is not no_payloads
    assert ("payload" in record["ai"]["proxy"]) is not no_payloads
    assert ("payload-marker" in line) is not no_payloads
