"""End to end: the real Claude Code CLI's WebSearch through `claude-gw serve` (a subprocess) to
the simulated backend (the test double of tests/conftest.py). On 2.1.33x WebSearch is a
deferred tool: the model loads it with ToolSearch, then calls it, and the CLI runs the search
as a separate request whose only tool is Anthropic's web_search server tool."""

from __future__ import annotations

import json

import pytest

from tests.test_claude_cli import run_claude, start_serve

pytestmark = pytest.mark.cli

SEARCH_TURN = (
    "Tell me about Procopius' Secret History [sim:sequence] "
    '[sim:tool ToolSearch {"query": "select:WebSearch", "max_results": 1}] '
    '[sim:tool WebSearch {"query": "Procopius Secret History"}]'
)


def search_records(records: list[dict]) -> list[dict]:
    return [r for r in records if r["claude_gw"]["web_search_requests"] is not None]


def test_a_cli_web_search_through_a_chat_upstream_says_search_is_unavailable(
    claude_cli, tmp_path, fake_openai, simulator
):
    served = start_serve(tmp_path, fake_openai)
    try:
        out = run_claude(
            claude_cli, tmp_path / "home", served.url, SEARCH_TURN, "--allowedTools", "WebSearch"
        )
    finally:
        records = served.records()
    assert "web search unavailable" in served.banner
    # The main loop's last request carries the WebSearch result the CLI built from our answer.
    tool_results = [m for m in simulator.recorder.bodies[-1]["messages"] if m["role"] == "tool"]
    result = tool_results[-1]["content"]
    assert 'Web search results for query: "Procopius Secret History"' in result
    assert "Web search error: unavailable" in result
    assert "Links:" not in result  # no results were made up
    assert "Tool WebSearch returned:" in out["result"]
    (search,) = search_records(records)
    assert search["claude_gw"]["web_search_requests"] == 0
    assert search["source"] == "kong"  # answered by the gateway: the model never saw it
    sent = [json.dumps(body) for body in simulator.recorder.bodies]
    assert not any("Perform a web search" in body for body in sent)
    assert out["modelUsage"]["gpt-5-mini"]["webSearchRequests"] == 0
