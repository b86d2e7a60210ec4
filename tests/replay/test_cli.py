"""`claude-gw replay` end to end, and a replay through a running claude_gw gateway."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from claude_gw.cli import replay as replay_cli
from claude_gw.cli.options import CliError
from claude_gw.config import Settings
from claude_gw.logs.writer import LogWriter
from claude_gw.replay import ReplayRequest, RetryPolicy, Target, replay
from claude_gw.replay.retry import retry_after
from claude_gw.server.app import create_app
from claude_gw.server.runner import build_upstream
from tests.replay.fakes import FakeChat
from tests.servers import ServerThread


def run_cli(argv: list[str], environ: dict[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="claude-gw")
    replay_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["replay", *argv])
    return int(args.run(args, environ or {}))


def requests_file(tmp_path: Path, count: int = 3, duplicates: int = 1) -> Path:
    path = tmp_path / "requests.jsonl"
    docs = [
        {"model": "claude-x", "max_tokens": 32, "messages": [{"role": "user", "content": f"q{i}"}]}
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs * duplicates))
    return path


def target_option(url: str, name: str) -> str:
    return f"name={name},kind=chat,base_url={url}/v1,model=gpt-4.1,api_key_env=FAKE_KEY"


def test_dry_run_prints_the_estimate_and_sends_nothing(tmp_path, capsys):
    fake = FakeChat()
    with ServerThread(fake) as server:
        code = run_cli(
            [
                "--from",
                str(requests_file(tmp_path)),
                "--dry-run",
                "--target",
                target_option(server.base_url, "fake"),
            ]
        )
    err = capsys.readouterr().err
    assert code == 0 and fake.calls == 0
    assert "fake (gpt-4.1): 3 requests" in err and "prompt tokens" in err and "$" in err


def test_a_run_dedupes_writes_every_pair_and_a_rerun_sends_nothing_more(tmp_path, capsys):
    fake = FakeChat()
    out = tmp_path / "replay.json"
    source = requests_file(tmp_path, count=2, duplicates=2)
    with ServerThread(fake) as server:
        argv = [
            "--from",
            str(source),
            "-o",
            str(out),
            "--target",
            target_option(server.base_url, "a"),
            "--target",
            target_option(server.base_url, "b"),
        ]
        assert run_cli(argv, {"FAKE_KEY": "sk-fake-key-0123"}) == 0
        assert run_cli(argv, {"FAKE_KEY": "sk-fake-key-0123"}) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert fake.calls == 4 and len(records) == 4
    assert {(r["replay"]["target"], r["response"]["status"]) for r in records} == {
        ("a", 200),
        ("b", 200),
    }
    assert "4 results (0 errors)" in capsys.readouterr().err


def test_a_run_above_the_cost_threshold_needs_yes_when_nobody_can_answer(tmp_path):
    fake = FakeChat()
    with ServerThread(fake) as server:
        argv = [
            "--from",
            str(requests_file(tmp_path)),
            "-o",
            str(tmp_path / "o.json"),
            "--max-cost",
            "0",
            "--target",
            target_option(server.base_url, "t"),
        ]
        with pytest.raises(CliError, match="--yes"):
            run_cli(argv)
        assert fake.calls == 0
        assert run_cli([*argv, "--yes"], {"FAKE_KEY": "k"}) == 0
    assert fake.calls == 3


def test_a_run_without_output_is_refused(tmp_path):
    with pytest.raises(CliError, match="-o OUT"):
        run_cli(["--from", str(requests_file(tmp_path)), "--target", "gpt-5"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "2"}, 2.0, id="seconds"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms_wins"),
        pytest.param({"retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"}, 4.0, id="http_date"),
        pytest.param({"retry-after": "soon"}, None, id="garbage"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after_header_forms(headers, expected):
    assert retry_after(headers, now=6.0) == expected


def test_a_replay_through_a_running_gateway_is_logged_by_both(tmp_path):
    settings = Settings(upstream_url="simulated", log_path=tmp_path / "gw.json", log_payloads=True)
    upstream = build_upstream(settings)
    writer = LogWriter(settings.log_path)
    writer.start()

    async def shutdown() -> None:
        await upstream.client.aclose()
        writer.close()

    app = create_app(settings, upstream=upstream, log_writer=writer, on_shutdown=[shutdown])
    request = ReplayRequest(
        "orig-1",
        {"model": "claude-x", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]},
    )
    out = tmp_path / "replay.json"
    with ServerThread(app) as server:
        target = Target("gw", kind="gateway", base_url=server.base_url, model="gpt-5-mini")
        results = replay(
            [request], [target], output=str(out), policy=RetryPolicy(attempts=1, timeout=20)
        )
    assert results[0]["response"]["status"] == 200
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    theirs = [json.loads(line) for line in settings.log_path.read_text().splitlines()]
    assert len(ours) == 1 and len(theirs) == 1
    assert ours[0]["ai"]["proxy"]["meta"]["response_model"] == "gpt-5-mini-simulated"
    assert (
        json.loads(theirs[0]["ai"]["proxy"]["payload"]["request"])["messages"]
        == (request.body["messages"])
    )


DRIVER = """
import argparse, os, sys
from claude_gw.cli import replay
parser = argparse.ArgumentParser()
replay.add_parser(parser.add_subparsers())
args = parser.parse_args(["replay", *sys.argv[1:]])
try:
    sys.exit(args.run(args, os.environ))
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_halfway_then_rerun_leaves_every_pair_exactly_once(tmp_path):
    fake = FakeChat(delay=0.2)  # 20 requests, 2 at a time: ~2 s, time enough to interrupt
    out = tmp_path / "replay.json"
    repo = Path(__file__).resolve().parents[2]
    with ServerThread(fake) as server:
        argv = [
            sys.executable,
            "-c",
            DRIVER,
            "--from",
            str(requests_file(tmp_path, count=20)),
            "-o",
            str(out),
            "--concurrency",
            "2",
            "--yes",
            "--target",
            target_option(server.base_url, "t"),
        ]
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(repo), "FAKE_KEY": "k"}
        process = subprocess.Popen(argv, cwd=repo, env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not (out.exists() and len(out.read_bytes().splitlines()) >= 3):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        process.stderr.close()
        halfway = out.read_bytes()
        assert (
            subprocess.run(argv, cwd=repo, env=env, timeout=60, capture_output=True).returncode == 0
        )
    assert halfway.endswith(b"\n") and 3 <= len(halfway.splitlines()) < 20
    ids = Counter(json.loads(line)["replay"]["source_id"] for line in out.read_text().splitlines())
    assert sorted(ids.values()) == [1] * 20
