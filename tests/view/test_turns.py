"""Turns and their changes, from hand-made requests and from the sample sessions in `data/`
(the expected figures are read from the raw JSON lines here, with the standard library)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from claude_gw.view import read_records, session_view
from claude_gw.view.page import clock
from claude_gw.view.turns import changes, sessions, size_text

DATA = Path(__file__).resolve().parents[2] / "data"
BILLING = {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332; cch=1;"}


def request(
    messages: list[Any], tools: Sequence[str] = (), system: Sequence[Any] = ()
) -> dict[str, Any]:
    return {
        "system": list(system),
        "messages": messages,
        "tools": [{"name": name, "input_schema": {}} for name in tools],
    }


USER: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": "list the files"}]}
CALL = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}],
}
RESULT = {
    "role": "user",
    "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a\nb\n" * 10_000}],
}


def test_a_tool_round_trip_adds_the_call_and_its_result_named_by_its_tool():
    found = changes(request([USER]), request([USER, CALL, RESULT]))
    assert [(a.role, a.kinds, a.tools) for a in found.added] == [
        ("assistant", ["tool_use"], ["Bash"]),
        ("user", ["tool_result"], ["Bash"]),
    ]
    assert found.added[1].size == len(json.dumps(RESULT, separators=(",", ":")))
    # 10,000 x `a\nb\n`, 6 characters each once JSON-escaped, and the message around them
    assert 60_000 < found.added[1].size < 60_150
    assert not found.replaced and found.removed == 0 and not found.system_changed
    assert found.summary().startswith("+2 messages (assistant tool_use Bash 1")
    assert "user tool_result Bash 60.1 KB" in found.summary()


def test_cache_markers_moving_and_the_billing_header_changing_are_no_change():
    marked = {"role": "user", "content": [{**USER["content"][0], "cache_control": {"x": 1}}]}
    before = request([marked], system=[BILLING, {"type": "text", "text": "You are Claude."}])
    other_billing = {"type": "text", "text": BILLING["text"].replace("cch=1", "cch=2")}
    after = request([USER], system=[other_billing, {"type": "text", "text": "You are Claude."}])
    found = changes(before, after)
    assert found.summary() == "no change"


def test_tools_added_and_removed_and_a_system_prompt_change_are_named():
    before = request([USER], tools=["Bash", "Read"], system=[{"type": "text", "text": "abc"}])
    after = request([USER], tools=["Bash", "WebFetch"], system=[{"type": "text", "text": "abcdef"}])
    found = changes(before, after)
    assert (found.tools_added, found.tools_removed) == (["WebFetch"], ["Read"])
    assert found.system_changed and found.system_delta == 3
    assert found.summary() == (
        "+1 tools (WebFetch); -1 tools (Read); system prompt changed (+3 characters)"
    )


def test_a_compacted_conversation_is_replaced_not_a_long_list_of_removals():
    history = [USER, CALL, RESULT, {"role": "assistant", "content": "done"}]
    summary = {"role": "user", "content": "This session is being continued. Summary: ..."}
    found = changes(request(history), request([summary, USER]))
    assert found.replaced and found.added == []
    assert found.summary() == "conversation replaced (4 -> 2 messages)"


def test_a_message_moved_to_the_end_counts_neither_as_added_nor_as_removed():
    reminder = {"role": "system", "content": [{"type": "text", "text": "# Environment"}]}
    found = changes(request([USER, reminder]), request([USER, CALL, RESULT, reminder]))
    assert [a.role for a in found.added] == ["assistant", "user"]
    assert found.removed == 0 and found.changed == []


def test_the_sample_sessions_have_the_tokens_costs_and_replays_of_their_lines():
    raw = [json.loads(line) for line in (DATA / "claude_gw-sessions.json").read_text().splitlines()]
    replays = [json.loads(line) for line in (DATA / "replay.json").read_text().splitlines()]
    found = session_view([DATA / "claude_gw-sessions.json", DATA / "replay.json"])
    assert [s.capture for s in found] == ["hello-bash", "two-rounds", "parallel-tools"]
    turns = [turn for session in found for turn in session.turns]
    assert len(turns) == len(raw) == 7
    by_id = {r["request"]["id"]: r for r in raw}
    for turn in turns:
        record = by_id[turn.request_id]
        usage = record["ai"]["proxy"]["usage"]
        assert turn.prompt_tokens == usage["prompt_tokens"]
        assert turn.completion_tokens == usage["completion_tokens"]
        assert turn.reasoning_tokens == usage["completion_tokens_details"]["reasoning_tokens"]
        assert turn.cost == usage["cost"] and turn.cost_source == "logged"
        assert turn.latency_ms == record["ai"]["proxy"]["meta"]["llm_latency"]
        assert turn.agent is None and turn.simulated
        targets = sorted(
            r["replay"]["target"] for r in replays if r["replay"]["source_id"] == turn.request_id
        )
        assert sorted(r.target for r in turn.replays) == targets and len(targets) == 3
    hello = found[0]
    assert hello.total("cost") == pytest.approx(0.0037915 + 0.002816)  # the two lines' costs
    assert hello.turns[0].tools == ["Bash"] and hello.turns[0].changes is None
    assert hello.turns[1].changes is not None
    assert [a.tools for a in hello.turns[1].changes.added] == [["Bash"], ["Bash"]]


def test_a_kong_log_without_sessions_is_one_group_priced_from_tokens_where_kong_wrote_0():
    records, skipped = read_records(
        [Path(__file__).parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"]
    )
    assert skipped == 0
    (group,) = sessions(records)
    assert len(group.turns) == len(records)
    first = group.turns[0]
    raw = records[0]["ai"]["proxy"]
    assert raw["usage"]["cost"] == 0  # the tutorial's setup: no price configured
    # gpt-5-mini list price: $0.25 / M input, $2.00 / M output (genai-prices)
    prompt, completion = raw["usage"]["prompt_tokens"], raw["usage"]["completion_tokens"]
    assert first.cost_source == "computed"
    assert first.cost == pytest.approx(prompt * 0.25e-6 + completion * 2e-6)


def test_a_session_is_chosen_by_capture_name_or_id_prefix_and_an_unknown_one_is_named():
    logs = [DATA / "claude_gw-sessions.json"]
    (by_name,) = session_view(logs, session="two-rounds")
    (by_prefix,) = session_view(logs, session=by_name.id[:6])
    assert by_prefix.id == by_name.id
    with pytest.raises(LookupError, match="hello-bash"):
        session_view(logs, session="nope")


@pytest.mark.parametrize(
    ("size", "text"), [(80, "80 B"), (1_234, "1.2 KB"), (80_000, "80.0 KB"), (3_400_000, "3.4 MB")]
)
def test_sizes_read_as_people_write_them(size, text):
    assert size_text(size) == text


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [(7_500, "0:07.5"), (750_000, "12:30.0"), (3_725_500, "1:02:05.5"), (-5, "0:00.0")],
)
def test_turn_times_read_as_a_clock_with_hours_past_an_hour(milliseconds, text):
    assert clock(milliseconds) == text
