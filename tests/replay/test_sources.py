"""Loading, selecting and de-duplicating the requests to replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from claude_gw.logs.read import read_logs
from claude_gw.replay import (
    ReplayRequest,
    RetryPolicy,
    Target,
    dedupe,
    load_requests,
    replay,
    requests_from_frame,
    select,
)
from claude_gw.replay.sources import as_request_body, request_key

KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"
SHARED_CLI = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "claude-cli"
KONG_PAYLOAD_ID = "467c8e89bf5bd35d0e9fde8e581d7ca6"  # the one fixture record with payloads
ONCE = RetryPolicy(attempts=1, timeout=10.0)


def body(text: str, model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": text}]}


def write_lines(path: Path, docs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path


def kong_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in KONG.read_text().splitlines()]


def as_kong_36(record: dict[str, Any]) -> dict[str, Any]:
    """The same record in Kong 3.6's flat shape: `ai.meta`, `ai.usage`, `ai.payload`."""
    proxy = record["ai"]["proxy"]
    usage = {k: proxy["usage"][k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    meta = {k: proxy["meta"][k] for k in ("request_model", "response_model", "provider_name")}
    return {**record, "ai": {"meta": meta, "usage": usage, "payload": proxy["payload"]}}


def test_kong_records_with_payloads_give_their_requests():
    requests = load_requests(KONG)
    assert [r.source_id for r in requests] == [KONG_PAYLOAD_ID]
    assert requests[0].body["model"] == "gpt-4.1" and requests[0].body["messages"]


def test_kong_3_6_payload_location_is_read(tmp_path):
    record = next(r for r in kong_lines() if r["request"]["id"] == KONG_PAYLOAD_ID)
    path = write_lines(tmp_path / "kong36.json", [as_kong_36(record)])
    requests = load_requests(path)
    assert [r.source_id for r in requests] == [KONG_PAYLOAD_ID]


def test_claude_gw_records_give_back_the_requests_they_logged(tmp_path):
    # the replay's own output is a claude_gw log with payloads: replaying it round-trips
    first = tmp_path / "first.json"
    nowhere = Target("nowhere", base_url="http://127.0.0.1:9/v1", api_key_env="")
    replay([ReplayRequest("x", body("hello"))], [nowhere], output=str(first), policy=ONCE)
    requests = load_requests(first)
    assert len(requests) == 1 and requests[0].body == body("hello")
    assert requests[0].model == "claude-sonnet-4-5"


def test_a_jsonl_of_requests_gives_one_request_per_line(tmp_path):
    path = write_lines(tmp_path / "requests.jsonl", [body("a"), body("b"), {"not": "a request"}])
    requests = load_requests(path)
    assert [r.body for r in requests] == [body("a"), body("b")]
    assert [r.source_id for r in requests] == [f"{path}:1", f"{path}:2"]


def test_a_directory_is_read_file_by_file_whatever_each_holds(tmp_path):
    write_lines(tmp_path / "a.jsonl", [body("a")])
    (tmp_path / "b.json").write_text(KONG.read_text())
    (tmp_path / "notes.txt").write_text("ignored")
    requests = load_requests(tmp_path)
    assert [r.source_id for r in requests] == [f"{tmp_path / 'a.jsonl'}:1", KONG_PAYLOAD_ID]


def test_a_missing_source_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_requests(tmp_path / "missing.json")


def test_a_filtered_frame_gives_only_its_rows():
    frame = read_logs(KONG, payloads=True)
    assert len(requests_from_frame(frame.filter(frame["request_id"] != KONG_PAYLOAD_ID))) == 0
    assert len(requests_from_frame(frame.to_pandas())) == 1


def test_a_frame_without_payloads_is_refused():
    with pytest.raises(ValueError, match="payloads=True"):
        requests_from_frame(read_logs(KONG))


def test_dedupe_keeps_the_first_of_identical_bodies_whatever_their_key_order():
    a = body("same")
    reordered = dict(reversed(list(a.items())))
    requests = [ReplayRequest("1", a), ReplayRequest("2", reordered), ReplayRequest("3", body("x"))]
    assert request_key(a) == request_key(reordered)
    assert [r.source_id for r in dedupe(requests)] == ["1", "3"]


T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)
POOL = [
    ReplayRequest("s1-old", body("a"), session_id="s1", model="m1", time=T0),
    ReplayRequest("s1-new", body("b"), session_id="s1", model="m2", time=T1),
    ReplayRequest("s2", body("c"), session_id="s2", model="m1", time=T1),
    ReplayRequest("untimed", body("d"), session_id="s2", model="m1"),
]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        pytest.param({"session": "s1"}, ["s1-old", "s1-new"], id="by_session"),
        pytest.param({"model": "m1"}, ["s1-old", "s2", "untimed"], id="by_model"),
        pytest.param({"since": T1}, ["s1-new", "s2"], id="since_is_inclusive"),
        pytest.param({"until": T1}, ["s1-old"], id="until_is_exclusive"),
        pytest.param({"session": "s2", "model": "m1", "since": T0}, ["s2"], id="all_together"),
        pytest.param({"where": lambda r: "new" in r.source_id}, ["s1-new"], id="by_predicate"),
    ],
)
def test_select_keeps_the_requests_matching_every_criterion(criteria, expected):
    assert [r.source_id for r in select(POOL, **criteria)] == expected


def test_an_openai_chat_payload_is_not_taken_for_an_anthropic_request(tmp_path):
    chat = {
        "model": "gpt-4.1",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    }
    path = write_lines(tmp_path / "mixed.jsonl", [body("a"), chat])
    assert [r.body for r in load_requests(path)] == [body("a")]


def test_a_claude_cli_request_with_system_messages_is_replayable():
    """The Claude CLI sends `role: "system"` messages inside `messages` (captured fixture)."""
    fixture = SHARED_CLI / "messages_first_print_mode.json"
    body = json.loads(fixture.read_text())["body"]
    assert "system" in {m["role"] for m in body["messages"]}
    assert as_request_body(json.dumps(body)) == body


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]}, id="tool_role"
        ),
        pytest.param(
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "assistant", "tool_calls": [], "content": None}],
            },
            id="tool_calls",
        ),
        pytest.param(
            {"model": "m", "messages": [{"role": "user", "content": "x"}]}, id="no_max_tokens"
        ),
    ],
)
def test_chat_completions_payloads_are_not_taken_for_anthropic_requests(payload):
    assert as_request_body(json.dumps(payload)) is None
