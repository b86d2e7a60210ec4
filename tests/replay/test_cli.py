"""`claude-gw replay` end to end, and a replay through a running claude_gw gateway."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
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
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


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

        def halfway_or_exited() -> bool:
            assert process.poll() is None, "the replay ended before it was interrupted"
            return out.exists() and len(out.read_bytes().splitlines()) >= 3

        wait_until(halfway_or_exited, 30, "3 result lines")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        assert process.stderr is not None
        process.stderr.close()
        halfway = out.read_bytes()
        assert (
            subprocess.run(argv, cwd=repo, env=env, timeout=60, capture_output=True).returncode == 0
        )
    assert halfway.endswith(b"\n") and 3 <= len(halfway.splitlines()) < 20
    ids = Counter(json.loads(line)["replay"]["source_id"] for line in out.read_text().splitlines())
    assert sorted(ids.values()) == [1] * 20


def results_of(path: Path) -> list[tuple[str, int]]:
    """(source id, status) of each line of a result file, in file order."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["replay"]["source_id"], r["response"]["status"]) for r in rows]


def test_a_run_whose_every_pair_failed_exits_1_and_says_so(tmp_path, capsys):
    fake = FakeChat(failures=10, status=500)
    out = tmp_path / "replay.json"
    with ServerThread(fake) as server:
        argv = ["--from", str(requests_file(tmp_path, count=2)), "-o", str(out), "--attempts", "1"]
        code = run_cli([*argv, "--target", target_option(server.base_url, "t")], {"FAKE_KEY": "k"})
    err = capsys.readouterr().err
    assert code == 1 and fake.calls == 2
    assert "2 results (2 errors)" in err and "every pair failed; the first: 500" in err


def test_a_rerun_sends_the_failed_pairs_again_and_replaces_their_error_rows(tmp_path, capsys):
    fake = FakeChat(failures=1, status=500)  # each prompt fails once, then answers
    out = tmp_path / "replay.json"
    with ServerThread(fake) as server:
        argv = ["--from", str(requests_file(tmp_path, count=2)), "-o", str(out), "--attempts", "1"]
        argv += ["--target", target_option(server.base_url, "t")]
        assert run_cli(argv, {"FAKE_KEY": "k"}) == 1
        assert sorted(status for _, status in results_of(out)) == [500, 500]
        assert run_cli(argv, {"FAKE_KEY": "k"}) == 0
        assert run_cli(argv, {"FAKE_KEY": "k"}) == 0  # nothing left to send
    assert fake.calls == 4
    assert sorted(status for _, status in results_of(out)) == [200, 200]
    assert "already answers every pair" in capsys.readouterr().err


def test_keep_failed_counts_the_error_rows_as_done(tmp_path):
    fake = FakeChat(failures=1, status=500)
    out = tmp_path / "replay.json"
    with ServerThread(fake) as server:
        argv = ["--from", str(requests_file(tmp_path, count=2)), "-o", str(out), "--attempts", "1"]
        argv += ["--target", target_option(server.base_url, "t")]
        assert run_cli(argv, {"FAKE_KEY": "k"}) == 1
        assert run_cli([*argv, "--keep-failed"], {"FAKE_KEY": "k"}) == 0
    assert fake.calls == 2
    assert sorted(status for _, status in results_of(out)) == [500, 500]


def test_a_rerun_for_one_target_leaves_the_error_rows_of_another_alone(tmp_path):
    fake = FakeChat(failures=1, status=500)
    out = tmp_path / "replay.json"
    with ServerThread(fake) as server:
        argv = ["--from", str(requests_file(tmp_path, count=1)), "-o", str(out), "--attempts", "1"]
        a, b = target_option(server.base_url, "a"), target_option(server.base_url, "b")
        # Both targets share the fake: the prompt's first call (a or b) fails, the second answers.
        run_cli([*argv, "--concurrency", "1", "--target", a, "--target", b], {"FAKE_KEY": "k"})
        failed = [
            r["replay"]["target"]
            for r in map(json.loads, out.read_text().splitlines())
            if r["response"]["status"] >= 400
        ]
        other = "b" if failed == ["a"] else "a"
        assert len(failed) == 1
        assert (
            run_cli([*argv, "--target", target_option(server.base_url, other)], {"FAKE_KEY": "k"})
            == 0
        )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["replay"]["target"], r["response"]["status"]) for r in rows) == sorted(
        [(failed[0], 500), (other, 200)]
    )


TARGETS_TOML = """\
[targets.fast]
kind = "chat"
base_url = "{url}/v1"
model = "gpt-5-nano"
api_key_env = ""

[targets.big]
kind = "chat"
base_url = "{url}/v1"
model = "gpt-5"
api_key_env = ""
"""


def test_a_targets_file_alone_means_every_target_in_it(tmp_path, capsys):
    targets = tmp_path / "targets.toml"
    targets.write_text(TARGETS_TOML.format(url="http://127.0.0.1:9"))
    argv = ["--from", str(requests_file(tmp_path)), "--targets", str(targets), "--dry-run"]
    assert run_cli(argv) == 0
    err = capsys.readouterr().err
    assert "fast (gpt-5-nano): 3 requests" in err and "big (gpt-5): 3 requests" in err


def test_a_plain_model_target_goes_to_openai_base_url_and_on_loopback_needs_no_key(tmp_path):
    fake = FakeChat()
    out = tmp_path / "replay.json"
    with ServerThread(fake) as server:
        environ = {"OPENAI_BASE_URL": f"{server.base_url}/v1"}  # and no OPENAI_API_KEY
        argv = ["--from", str(requests_file(tmp_path, count=2)), "-o", str(out)]
        assert run_cli([*argv, "--target", "gpt-4.1"], environ) == 0
    assert fake.calls == 2 and fake.authorizations == [None, None]
    assert [status for _, status in results_of(out)] == [200, 200]


def test_a_remote_target_without_its_key_is_refused_before_anything_is_sent(tmp_path):
    out = tmp_path / "replay.json"
    with pytest.raises(CliError, match=r"\$OPENAI_API_KEY is not set"):
        run_cli(["--from", str(requests_file(tmp_path)), "-o", str(out), "--target", "gpt-5"])
    assert not out.exists()


def test_requests_are_found_in_a_directory_of_gzipped_logs(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    sample = REPO / "data" / "claude_gw-sessions.json"
    (logs / "claude.json.gz").write_bytes(gzip.compress(sample.read_bytes()))
    plain = run_cli(["--from", str(sample), "--target", "gpt-5", "--dry-run"])
    plain_err = capsys.readouterr().err
    assert run_cli(["--from", str(logs), "--target", "gpt-5", "--dry-run"]) == plain == 0
    gz_err = capsys.readouterr().err
    count = int(plain_err.split(": ", 1)[1].split(" requests")[0])
    assert count > 0 and f": {count} requests" in gz_err


def test_a_source_without_requests_is_refused_naming_it(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(CliError, match=r"no requests in .*empty\.json.*payloads"):
        run_cli(["--from", str(empty), "--target", "gpt-5", "--dry-run"])
