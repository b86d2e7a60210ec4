"""The session view of a real Claude CLI session, captured in the test through the gateway in
front of the simulated backend (a TEST DOUBLE of OpenAI): Bash round trips that grow the
conversation past the gateway's body limit, so that the CLI compacts, and a haiku subagent.
`capture` logs payloads by default: the view shows every turn, names what each one added, and
opens without console errors."""

from __future__ import annotations

import json

import pytest

from claude_gw.cli import main
from claude_gw.view import session_view
from tests.test_capture import claude_capture
from tests.view.test_view_browser import open_every_turn


@pytest.mark.cli
def test_a_captured_session_with_bash_a_subagent_and_a_compaction_reads_turn_by_turn(
    tmp_path, claude_cli, fake_openai, simulator
):
    bash = json.dumps({"command": "printf '%020000d' 0", "description": "Print 20000 zeros"})
    agent = json.dumps(
        {
            "description": "Say hello",
            "prompt": "[sim:reply subagent-was-here]",
            "subagent_type": "general-purpose",
            "model": "haiku",
            "run_in_background": False,
        }
    )
    out, stderr, records = claude_capture(
        tmp_path,
        claude_cli,
        fake_openai,
        f"[sim:rounds 4] [sim:tool Bash {bash}] [sim:tool Agent {agent}]",
        "--allowedTools",
        "Bash,Agent",
        gateway_args=("--max-body", "100000", "--map", "claude-haiku-*=gpt-5-nano"),
    )
    assert out["is_error"] is False, out
    assert "logging this session's requests and answers" in stderr  # capture says so
    turns_logged = [r for r in records if r["claude_gw"]["endpoint"] == "messages"]
    assert all("payload" in r["ai"]["proxy"] for r in turns_logged)

    (session,) = session_view(tmp_path / "claude.json", session=out["session_id"])
    assert len(session.turns) == len(turns_logged)
    by_id = {r["request"]["id"]: r for r in turns_logged}
    for turn in session.turns:
        usage = by_id[turn.request_id]["ai"]["proxy"]["usage"]
        assert (turn.prompt_tokens, turn.completion_tokens) == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
        )
        assert turn.cost == usage["cost"]
    subagent_turns = [t for t in session.turns if t.agent is not None]
    assert subagent_turns, [t.agent for t in session.turns]
    assert {(t.model_asked, t.model_used) for t in subagent_turns} == {
        ("gpt-5-nano", "gpt-5-nano-simulated")
    }
    main_changes = [t.changes for t in session.turns if t.agent is None and t.changes]
    added = [a for c in main_changes if not c.replaced for a in c.added]
    # each round's results: the subagent's answer and Bash's 20,000 zeros, in one user message
    results = [a for a in added if set(a.kinds) == {"tool_result"}]
    assert results and all(set(a.tools) == {"Bash", "Agent"} for a in results)
    assert all(a.size > 20_000 for a in results)
    assert any(c.replaced for c in main_changes), [c.summary() for c in main_changes]
    assert any(t.status == 400 for t in session.turns)  # the turn over the body limit

    page = tmp_path / "session.html"
    assert main(["view", str(tmp_path / "claude.json"), "-o", str(page)]) == 0
    seen = open_every_turn(page)
    assert seen["problems"] == []
    assert len(seen["rows"]) == len(session.turns)
    assert any("conversation replaced" in row[-1] for row in seen["rows"])
    assert any(row[2].startswith("sub ") for row in seen["rows"])
