"""End to end: the real Claude Code CLI's WebSearch through `claude-gw serve` (a subprocess) to
the simulated backend (the test double of tests/conftest.py). On 2.1.33x WebSearch is a
deferred tool: the model loads it with ToolSearch, then calls it, and the CLI runs the search
as a separate request whose only tool is Anthropic's web_search server tool. Each test runs on
the pinned CLI and on the releases of `claude_cli_release` (2.1.332, and 2.1.197, which sends
its tools inline)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_claude_cli import run_claude, start_serve

pytestmark = pytest.mark.cli

SEARCH_TURN = (
    "Tell me about Procopius' Secret History [sim:sequence] "
    '[sim:tool ToolSearch {"query": "select:WebSearch", "max_results": 1}] '
    '[sim:tool WebSearch {"query": "Procopius Secret History"}]'
)


def search_turn(claude_cli, tmp_path, upstream: str, *serve_args: str):
    """(the gateway, the CLI's JSON output, the records) of the search turn through `serve`."""
    served = start_serve(tmp_path, upstream, *serve_args)
    try:
        out = run_claude(
            claude_cli, tmp_path / "home", served.url, SEARCH_TURN, "--allowedTools", "WebSearch"
        )
    finally:
        records = served.records()
    return served, out, records


def search_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["claude_gw"]["web_search_requests"] is not None]


def test_a_cli_web_search_through_a_chat_upstream_says_search_is_unavailable(
    claude_cli_release, tmp_path, fake_openai, simulator
):
    served, out, records = search_turn(claude_cli_release, tmp_path, fake_openai)
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


def test_a_cli_web_search_through_the_responses_api_gives_the_model_links(
    claude_cli_release, tmp_path, fake_openai, simulator
):
    """The tutorial's question, asked through an OpenAI Responses upstream (simulated here)."""
    served, out, records = search_turn(
        claude_cli_release, tmp_path, fake_openai, "--upstream-api", "responses"
    )
    assert "web_search tool" in served.banner
    outputs = [
        item["output"]
        for item in simulator.recorder.bodies[-1]["input"]
        if item.get("type") == "function_call_output"
    ]
    result = outputs[-1]
    assert 'Web search results for query: "Procopius Secret History"' in result
    links = json.loads(result.split("Links: ", 1)[1].split("\n", 1)[0])
    assert links == [
        {
            "title": f"Simulated result {n} for Procopius Secret History",
            "url": f"https://simulated-search.example/procopius-secret-history/{n}",
        }
        for n in (1, 2, 3)
    ]
    assert "made up by the simulator" in result
    (search,) = search_records(records)
    assert search["claude_gw"]["web_search_requests"] == 1
    assert search["source"] == "upstream"
    searched = [
        body for body in simulator.recorder.bodies if body.get("tools") == [{"type": "web_search"}]
    ]
    assert len(searched) == 1 and searched[0]["max_tool_calls"] == 8
    assert out["modelUsage"]["gpt-5-mini"]["webSearchRequests"] == 1
