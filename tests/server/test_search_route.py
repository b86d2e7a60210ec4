"""`--search-upstream`: a gateway in front of a Chat-only upstream (a local server, say) sends
the Claude CLI's WebSearch sub-requests, and only those, to the Responses API of another
upstream. Two simulated backends (TEST DOUBLES) on real sockets: the main one must never see a
search, the search one must see only the search, with its own key and model."""

from __future__ import annotations

import json

import pytest
from anthropic.types import WebSearchToolResultBlock

from claude_gw.cli.serve import route_lines
from claude_gw.config import Secret, Settings
from claude_gw.logs.redact import REDACTED
from claude_gw.server.runner import build_upstream
from claude_gw.simulated import serve_simulated
from claude_gw.testing import StrictSimulator as Simulator
from tests.server.test_gateway import ask, start_gateway
from tests.server.test_web_search import ask_search

SEARCH_KEY = "sk-search-upstream-key-9876543210"


@pytest.fixture
def routed(tmp_path):
    """(gateway, main backend, search backend): chat to one, searches to the other."""
    main, search = Simulator(time_scale=0.0), Simulator(time_scale=0.0, api_key=SEARCH_KEY)
    with serve_simulated(main) as main_url, serve_simulated(search) as search_url:
        gateway = start_gateway(
            tmp_path,
            main_url,
            search_upstream_url=search_url,
            search_model="gpt-5-mini",
            search_api_key=Secret(SEARCH_KEY),
            log_payloads=True,
        )
        yield gateway, main, search
        gateway.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_a_search_goes_to_the_search_upstream_and_nothing_else_does(routed, stream):
    gateway, main, search = routed
    client = gateway.client()
    found = ask_search(client, stream=stream)
    blocks = [block for block in found.content if block.type != "thinking"]  # gpt-5-mini reasons
    assert [block.type for block in blocks[:2]] == ["server_tool_use", "web_search_tool_result"]
    assert isinstance(blocks[1], WebSearchToolResultBlock)
    results = blocks[1].content
    assert isinstance(results, list) and results and all(r.url for r in results)
    assert found.usage.server_tool_use is not None
    assert found.usage.server_tool_use.web_search_requests == 1
    (main_requests, search_requests) = (main.stats.requests, search.stats.requests)
    assert (main_requests, search_requests) == (0, 1)
    plain = client.messages.create(**ask("hello"))
    assert plain.content[0].type == "text"
    assert (main.stats.requests, search.stats.requests) == (1, 1)
    searched, chatted = gateway.records()
    assert searched["upstream_uri"].endswith("/responses")
    assert searched["ai"]["proxy"]["meta"]["request_model"] == "gpt-5-mini"
    assert searched["claude_gw"]["web_search_requests"] == 1
    assert chatted["upstream_uri"].endswith("/chat/completions")
    assert SEARCH_KEY not in json.dumps([searched, chatted])


def test_the_search_key_is_masked_and_the_start_up_line_names_the_route(tmp_path):
    settings = Settings(
        upstream_url="http://127.0.0.1:9/v1",
        search_upstream_url="https://user:hunter2-password@search.example/v1",
        search_api_key=Secret(SEARCH_KEY),
        log_path=tmp_path / "claude.json",
    )
    upstream = build_upstream(settings)
    assert upstream.search is not None and upstream.search.path == "/responses"
    assert upstream.masker.text(f"key {SEARCH_KEY}") == f"key {REDACTED}"
    lines = "\n".join(route_lines(settings, upstream))
    assert "search:   web search goes to the Responses API at https://search.example/v1" in lines
    assert "model gpt-5-mini" in lines and "hunter2" not in lines


def test_the_search_route_comes_from_the_environment_with_its_own_key():
    env = {
        "CLAUDE_GW_UPSTREAM": "http://127.0.0.1:8080/v1",
        "CLAUDE_GW_SEARCH_UPSTREAM": "https://api.openai.com/v1",
        "CLAUDE_GW_SEARCH_MODEL": "gpt-5",
        "OPENAI_API_KEY": SEARCH_KEY,
    }
    settings = Settings.from_env(env)
    search = settings.search_settings()
    assert search is not None
    assert (search.upstream_url, search.upstream_api, search.routing.model) == (
        "https://api.openai.com/v1",
        "responses",
        "gpt-5",
    )
    assert search.api_key == Secret(SEARCH_KEY) and search.routing.force_model
    assert (
        Settings.from_env({"CLAUDE_GW_UPSTREAM": "http://127.0.0.1:8080/v1"}).search_settings()
        is None
    )
