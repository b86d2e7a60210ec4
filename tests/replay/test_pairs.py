"""Results loaded back and paired with the records they replay."""

from __future__ import annotations

import json
from pathlib import Path

from claude_gw.logs.read import read_logs
from claude_gw.replay import (
    RetryPolicy,
    Target,
    load_requests,
    load_results,
    pair_with_originals,
    replay,
)
from tests.replay.fakes import FakeChat
from tests.servers import ServerThread

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
FAST = RetryPolicy(attempts=1, timeout=10.0)


def replayed(tmp_path: Path) -> Path:
    out = tmp_path / "replay.json"
    with ServerThread(FakeChat()) as server:
        target = Target(
            "fake", base_url=f"{server.base_url}/v1", model="gpt-5-nano", api_key_env=""
        )
        replay(load_requests(KONG), [target], output=str(out), policy=FAST, run_id="run-1")
    return out


def test_load_results_adds_the_replay_columns(tmp_path):
    frame = load_results(replayed(tmp_path))
    row = frame.row(0, named=True)
    assert frame.height == 1
    assert row["replay_run_id"] == "run-1" and row["replay_target"] == "fake"
    assert row["replay_attempts"] == 1 and row["replay_cached"] is False
    assert not [name for name in frame.columns if name.endswith("_right")]
    assert json.loads(row["response_payload"])["content"][0]["text"] == "fake answer"


def test_each_answer_is_paired_with_its_original_polars_or_pandas(tmp_path):
    out = replayed(tmp_path)
    originals = read_logs(KONG, payloads=True)
    paired = pair_with_originals(load_results(out), originals)
    row = paired.row(0, named=True)
    assert row["original_requested_model"] == "gpt-4.1" and row["request_model"] == "gpt-5-nano"
    assert row["original_response_payload"] and row["response_payload"]
    as_pandas = pair_with_originals(load_results(out, engine="pandas"), originals.to_pandas())
    assert as_pandas["original_requested_model"].tolist() == ["gpt-4.1"]
