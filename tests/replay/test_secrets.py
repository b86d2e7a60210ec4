"""No target's key or URL password reaches a replay's result file or its console, whatever the
target sends back: against `echo_upstream` (a TEST DOUBLE that quotes back the credential it
received) on a real loopback socket, in error answers, a 200 that is not JSON, a 200 with an
error body and the answer's own text, written plainly, cut to 40 characters, percent-encoded
(either case of hex) or JSON-escaped."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.reliability.echo_upstream import EchoUpstream
from tests.reliability.test_masking import BEARER_KEY, HEX_KEY, assert_no_key
from tests.replay.test_cli import run_cli
from tests.servers import ServerThread

PLACES = ["error_200", "not_json_200", "status_429", "content"]
FORMS = ["whole", "prefix", "percent", "percent_lower", "json"]


def replay_argv(tmp_path: Path, target: str) -> list[str]:
    """Replay every echo request to `target`, with an answer cache, and one retry (a 429)."""
    source, out, cache = echo_requests(tmp_path), tmp_path / "replay.json", tmp_path / "cache"
    return ["--from", str(source), "-o", str(out), "--cache", str(cache), "--attempts", "2",
            "--target", target]  # fmt: skip


def written_files(tmp_path: Path) -> str:
    """The result file and every file of the answer cache."""
    files = [tmp_path / "replay.json", *(tmp_path / "cache").rglob("*")]
    assert len(files) > 1  # the cache has answers
    return "".join(f.read_text("utf-8", "replace") for f in files if f.is_file())


def echo_requests(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    docs = [
        {
            "model": "claude-x",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": f"[echo:{place}] [form:{form}]"}],
        }
        for place in PLACES
        for form in FORMS
    ]
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path


@pytest.mark.parametrize("key", [BEARER_KEY, HEX_KEY], ids=["sk_key", "hex_key"])
def test_a_target_quoting_its_key_back_never_gets_it_into_the_results_or_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    upstream = EchoUpstream()
    with ServerThread(upstream) as server:
        target = f"name=echo,kind=chat,base_url={server.base_url}/v1,model=m,api_key_env=ECHO_KEY"
        run_cli(replay_argv(tmp_path, target), {"ECHO_KEY": key})
    assert set(upstream.seen) == {key}  # the double did get the key (429s are retried)
    results = (tmp_path / "replay.json").read_text()
    assert results.count("\n") == len(PLACES) * len(FORMS)
    assert_no_key(written_files(tmp_path), key, "result file or cache")
    captured = capsys.readouterr()
    assert_no_key(captured.out + captured.err, key, "console")


def test_a_target_url_password_never_reaches_the_results_or_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = EchoUpstream()
    password = "Pa55-w0rd-of-the-proxy"
    token = base64.b64encode(f"gw-user:{password}".encode()).decode()
    with ServerThread(upstream) as server:
        url = server.base_url.replace("http://", f"http://gw-user:{password}@")
        run_cli(replay_argv(tmp_path, f"name=echo,kind=chat,base_url={url}/v1,model=m"))
    assert set(upstream.seen) == {token}  # sent as Authorization: Basic
    captured = capsys.readouterr()
    for where, text in [
        ("files", written_files(tmp_path)),
        ("console", captured.out + captured.err),
    ]:
        assert_no_key(text, token, where)
        assert_no_key(text, password, where)
        assert "gw-user:" not in text
