"""The Claude CLI's WebSearch sub-request through the gateway, driven by the official
`anthropic` SDK on a real socket, in front of the simulated backend (the test double of
tests/conftest.py). The request is the CLI's own (the messages_websearch_server_tool fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import (
    ServerToolUseBlock,
    TextBlock,
    WebSearchToolResultBlock,
    WebSearchToolResultError,
)

from claude_gw.config import Secret, Settings
from claude_gw.logs.writer import LogWriter
from claude_gw.server.app import create_app
from claude_gw.server.runner import build_upstream
from claude_gw.server.web_search import describe
from tests.server.test_gateway import UPSTREAM_KEY, WEATHER_TOOL, ask, start_gateway
from tests.servers import ServerThread

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "fixtures"
    / "claude-cli"
    / "messages_websearch_server_tool.json"
)
SEARCH = json.loads(FIXTURE.read_text())["body"]
UNAVAILABLE = {"type": "web_search_tool_result_error", "error_code": "unavailable"}


def search_body(**changes: Any) -> dict[str, Any]:
    return {**{k: v for k, v in SEARCH.items() if k != "stream"}, **changes}


def ask_search(client: anthropic.Anthropic, *, stream: bool) -> anthropic.types.Message:
    """The fixture's search request, streamed (the final message) or not."""
    if stream:
        with client.messages.stream(**search_body()) as events:
            return events.get_final_message()
    # `**` of a dict matches every overload of create(): name the one it is.
    message: anthropic.types.Message = client.messages.create(**search_body(max_tokens=1024))
    return message


@pytest.fixture
def chat_gateway(tmp_path, fake_openai):
    gw = start_gateway(tmp_path, fake_openai, upstream_api="chat", log_payloads=True)
    yield gw
    gw.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_a_search_through_a_chat_upstream_is_answered_unavailable_without_asking_the_model(
    chat_gateway, simulator, stream
):
    client = chat_gateway.client()
    message = ask_search(client, stream=stream)
    kinds = [block.type for block in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    use, result, text = message.content
    assert isinstance(use, ServerToolUseBlock) and isinstance(result, WebSearchToolResultBlock)
    assert isinstance(text, TextBlock) and isinstance(result.content, WebSearchToolResultError)
    assert message.usage.server_tool_use is not None
    assert (use.name, use.input) == ("web_search", {"query": "claude gateway test"})
    assert result.tool_use_id == use.id and use.id.startswith("srvtoolu_")
    assert result.content.model_dump() == UNAVAILABLE
    assert text.text.startswith("No web search was run: ")
    assert message.usage.server_tool_use.web_search_requests == 0
    assert message.stop_reason == "end_turn"
    assert simulator.stats.requests == 0  # no model text can pass for results
    (record,) = chat_gateway.records()
    gw = record["claude_gw"]
    assert (gw["web_search_requests"], gw["stop_reason"], record["source"]) == (
        0,
        "end_turn",
        "kong",
    )
    assert record["response"]["status"] == 200
    assert json.loads(record["ai"]["proxy"]["payload"]["response"])["content"][1]["content"] == (
        UNAVAILABLE
    )


def test_the_stream_of_an_unavailable_search_is_the_anthropic_event_sequence(chat_gateway):
    import httpx

    with httpx.stream(
        "POST",
        f"{chat_gateway.url}/v1/messages",
        json={**SEARCH, "stream": True},
        headers={"x-api-key": "k"},
        timeout=10,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        names = [line[7:] for line in response.iter_lines() if line.startswith("event: ")]
    assert names == [
        "message_start",
        *["content_block_start", "content_block_delta", "content_block_stop"],
        *["content_block_start", "content_block_stop"],
        *["content_block_start", "content_block_delta", "content_block_stop"],
        "message_delta",
        "message_stop",
    ]


def test_a_search_tool_among_other_tools_goes_to_the_model_without_it(chat_gateway, simulator):
    tools = [WEATHER_TOOL, {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    message = chat_gateway.client().messages.create(**ask("[sim:reply hello]", tools=tools))
    assert [block.type for block in message.content] == ["text"]
    sent = simulator.recorder.bodies[-1]
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["get_weather"]
    (record,) = chat_gateway.records()
    assert record["claude_gw"]["web_search_requests"] == 0


def test_a_request_without_search_logs_no_search_count(chat_gateway):
    chat_gateway.client().messages.create(**ask("[sim:reply hello]"))
    (record,) = chat_gateway.records()
    assert record["claude_gw"]["web_search_requests"] is None


@pytest.mark.parametrize(
    ("api", "words"),
    [
        pytest.param("chat", "web search unavailable", id="chat"),
        pytest.param("responses", "Responses API's web_search tool", id="responses"),
        pytest.param("anthropic", "passed to the Anthropic upstream", id="anthropic"),
    ],
)
def test_start_up_says_what_a_search_will_get(api, words):
    assert words in describe(Settings(upstream_api=api, upstream_url="http://127.0.0.1:9/v1"))


@pytest.mark.parametrize("url", ["simulated", "https://api.openai.com/v1"])
def test_a_chat_upstream_that_also_has_the_responses_api_gets_searches_there(url):
    assert "same upstream's Responses API" in describe(Settings(upstream_url=url))


def test_with_the_built_in_backend_a_search_goes_to_its_responses_api_and_the_rest_to_chat(
    tmp_path, fake_openai, simulator
):
    # `--upstream simulated`, with the instant simulator of the fixtures injected as its upstream
    settings = Settings(upstream_url="simulated", log_path=tmp_path / "claude.json")
    upstream = build_upstream(Settings(upstream_url=fake_openai, api_key=Secret(UPSTREAM_KEY)))
    writer = LogWriter(settings.log_path)
    writer.start()

    async def shutdown() -> None:
        await upstream.client.aclose()
        writer.close()

    app = create_app(settings, upstream=upstream, log_writer=writer, on_shutdown=[shutdown])
    with ServerThread(app) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
        message = client.messages.create(**search_body(max_tokens=1024))
        plain = client.messages.create(**ask("[sim:reply hello]"))
        mixed = [WEATHER_TOOL, SEARCH["tools"][0]]  # search next to functions: not a search
        client.messages.create(**ask("[sim:reply hi]", tools=mixed))
        client.close()
    kinds = [block.type for block in message.content if block.type != "thinking"]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    assert len(message.content[-2].content) == 3
    assert message.usage.server_tool_use.web_search_requests == 1
    assert plain.content[0].text == "hello"
    assert [path.rsplit("/", 1)[-1] for path in simulator.recorder.paths] == [
        "responses",
        "completions",
        "completions",
    ]
    assert simulator.recorder.bodies[0]["tools"] == [{"type": "web_search"}]
    search, other, beside = [
        json.loads(line) for line in settings.log_path.read_text().splitlines()
    ]
    assert beside["claude_gw"]["web_search_requests"] == 0
    assert [t["function"]["name"] for t in simulator.recorder.bodies[2]["tools"]] == ["get_weather"]
    assert search["upstream_uri"] == "/v1/responses"
    assert other["upstream_uri"] == "/v1/chat/completions"
    assert search["claude_gw"]["web_search_requests"] == 1
    assert other["claude_gw"]["web_search_requests"] is None


@pytest.fixture
def responses_gateway(tmp_path, fake_openai):
    gw = start_gateway(tmp_path, fake_openai, upstream_api="responses", log_payloads=True)
    yield gw
    gw.stop()


SIMULATED_PAGES = [
    (
        f"Simulated result {n} for claude gateway test",
        f"https://simulated-search.example/claude-gateway-test/{n}",
    )
    for n in (1, 2, 3)
]


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_a_search_through_the_responses_api_comes_back_as_results_and_cited_text(
    responses_gateway, simulator, stream
):
    client = responses_gateway.client()
    message = ask_search(client, stream=stream)
    kinds = [block.type for block in message.content if block.type != "thinking"]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    use, result, text = [block for block in message.content if block.type != "thinking"]
    assert isinstance(use, ServerToolUseBlock) and isinstance(result, WebSearchToolResultBlock)
    assert isinstance(text, TextBlock) and isinstance(result.content, list)
    assert message.usage.server_tool_use is not None
    assert (use.name, use.input) == ("web_search", {"query": "claude gateway test"})
    assert result.tool_use_id == use.id
    assert [(r.title, r.url) for r in result.content] == SIMULATED_PAGES
    assert "made up by the simulator" in text.text
    assert all(f"]({url})" in text.text for _, url in SIMULATED_PAGES)
    assert message.usage.server_tool_use.web_search_requests == 1
    (sent,) = simulator.recorder.bodies
    assert sent["tools"] == [{"type": "web_search"}]
    assert sent["max_tool_calls"] == 8  # the tool's max_uses
    assert "web_search_call.action.sources" in sent["include"]
    (record,) = responses_gateway.records()
    assert record["claude_gw"]["web_search_requests"] == 1
    assert record["source"] == "upstream"


def test_allowed_and_blocked_domains_and_the_location_reach_the_search(
    responses_gateway, simulator
):
    tool = {
        "type": "web_search_20250305",
        "name": "web_search",
        "allowed_domains": ["docs.example.org"],
        "blocked_domains": ["docs.example.org"],
        "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"},
    }
    message = responses_gateway.client().messages.create(
        **search_body(max_tokens=1024, tools=[tool])
    )
    (sent,) = simulator.recorder.bodies
    assert sent["tools"] == [
        {
            "type": "web_search",
            "filters": {"allowed_domains": ["docs.example.org"]},
            "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"},
        }
    ]
    assert "max_tool_calls" not in sent
    # Responses has no blocked list: the gateway leaves those results out itself
    (result,) = [block for block in message.content if block.type == "web_search_tool_result"]
    assert result.content == []
