"""The simulated Anthropic Messages API: the official `anthropic` SDK on a real socket (create,
stream, count_tokens), Anthropic's headers, errors and usage accounting, and the gateway's
passthrough reading the stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from claude_gw.apis.anthropic import AnthropicPassthrough
from claude_gw.simulated import ModelProfile, asgi_app, simulated_transport
from claude_gw.simulated.common import CUT_AFTER_EVENTS
from claude_gw.testing import RequestRecorder, StrictSimulator
from claude_gw.translate.sse import SSEDecoder
from tests.sdk import error_body
from tests.servers import ServerThread

Served = tuple[StrictSimulator, str]
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
WIRE = FIXTURES / "wire"
CLI_REQUESTS = sorted((FIXTURES / "claude-cli").glob("*.json"))
MODEL = "claude-sonnet-4-6"  # not on the SDK's deprecation list, which warns (an error here)
VERSION = {"anthropic-version": "2023-06-01"}
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
THINK: Any = {"type": "enabled", "budget_tokens": 2048}


def user(text: str) -> Any:
    return [{"role": "user", "content": text}]


def sse_events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    decoder = SSEDecoder()
    return [(f.event, json.loads(f.data)) for f in decoder.feed(raw) + decoder.flush()]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[StrictSimulator, str]]:
    sim = StrictSimulator(time_scale=0, recorder=RequestRecorder())
    with ServerThread(asgi_app(sim)) as server:
        yield sim, server.base_url


@pytest.fixture
def client(served: Served) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=served[1], api_key="k", max_retries=0, timeout=10) as c:
        yield c


def post(served: Served, body: dict[str, Any], headers: dict[str, str] = VERSION) -> httpx.Response:
    return httpx.post(f"{served[1]}/v1/messages", json=body, headers=headers, timeout=10)


# --------------------------------------------------------------------------- answers


def test_a_text_answer_names_the_simulated_model_and_counts_input_as_count_tokens_does(
    client: anthropic.Anthropic,
) -> None:
    request: Any = {"model": MODEL, "messages": user("What is the capital of France?")}
    raw = client.messages.with_raw_response.create(**request, max_tokens=1024)
    message = raw.parse()
    assert raw.headers["x-simulated"] == "true" and raw.headers["request-id"].startswith("req_")
    assert message.model == f"{MODEL}-simulated" and message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert "What is the capital of France?" in message.content[0].text
    counted = client.messages.count_tokens(**request).input_tokens
    assert message.usage.input_tokens == counted and message.usage.output_tokens > 20


def test_the_stream_carries_the_same_text_and_usage_as_the_one_shot_answer(
    client: anthropic.Anthropic,
) -> None:
    request: Any = {"model": MODEL, "max_tokens": 1024, "messages": user("Tell me a story")}
    whole = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_message()
    assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in whole.content]
    assert streamed.usage == whole.usage
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("text") > 10  # the text arrives in token-sized pieces


def test_parallel_tool_calls_stream_as_input_json_fragments(
    served: Served, client: anthropic.Anthropic
) -> None:
    weather, other = {"city": "Edinburgh", "note": "café ] [x]"}, {"city": "Oslo"}
    text = f"[sim:reply Checking.] [sim:tool get_weather {json.dumps(weather)}] "
    text += f"[sim:tool get_weather {json.dumps(other)}]"
    request: Any = {"model": MODEL, "max_tokens": 1024, "tools": [WEATHER_TOOL]}
    with client.messages.stream(**request, messages=user(text)) as stream:
        message = stream.get_final_message()
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    uses = [block for block in message.content if isinstance(block, anthropic.types.ToolUseBlock)]
    assert [block.input for block in uses] == [weather, other]
    assert message.stop_reason == "tool_use"
    raw = post(served, {**request, "messages": user(text), "stream": True}).content
    fragments = [
        doc["delta"]["partial_json"]
        for _, doc in sse_events(raw)
        if doc.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert fragments[0] == "" and len(fragments) > 4
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in raw


def test_a_tool_result_is_reported_in_the_next_answer(client: anthropic.Anthropic) -> None:
    request: Any = {"model": MODEL, "max_tokens": 1024, "tools": [WEATHER_TOOL]}
    first = client.messages.create(**request, messages=user("[sim:tool get_weather]"))
    call = first.content[0]
    assert call.type == "tool_use"
    messages: Any = [
        *user("[sim:tool get_weather]"),
        {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C"}],
        },
    ]
    reply = client.messages.create(**request, messages=messages)
    assert reply.content[0].type == "text" and reply.content[0].text == (
        "Tool get_weather returned: 18C"
    )


# --------------------------------------------------------------------------- thinking


@pytest.mark.parametrize(
    ("model", "thinking", "thinks"),
    [
        pytest.param(MODEL, THINK, True, id="claude_thinks_when_asked"),
        pytest.param(MODEL, {"type": "adaptive"}, True, id="adaptive_thinking"),
        pytest.param("gpt-5-mini", THINK, True, id="reasoning_model_thinks"),
        pytest.param(MODEL, {"type": "disabled"}, False, id="disabled"),
        pytest.param("gpt-4.1", THINK, False, id="non_reasoning_model_does_not"),
    ],
)
def test_thinking_blocks_come_first_and_count_in_output_tokens(
    client: anthropic.Anthropic, model: str, thinking: Any, thinks: bool
) -> None:
    message = client.messages.create(
        model=model, max_tokens=4096, thinking=thinking, messages=user("Why is the sky blue?")
    )
    kinds = [block.type for block in message.content]
    assert kinds == (["thinking", "text"] if thinks else ["text"])
    if thinks:
        block = message.content[0]
        assert block.type == "thinking" and "Why is the sky blue?" in block.thinking
        assert block.signature and message.usage.output_tokens > 500  # hidden thinking counts


def test_omitted_thinking_display_sends_an_empty_thinking_block_with_a_signature(
    client: anthropic.Anthropic,
) -> None:
    thinking: Any = {"type": "adaptive", "display": "omitted"}
    message = client.messages.create(
        model=MODEL, max_tokens=4096, thinking=thinking, messages=user("hi")
    )
    block = message.content[0]
    assert block.type == "thinking" and block.thinking == "" and block.signature
    assert message.usage.output_tokens > 500  # the hidden thinking is still paid for


def test_a_streamed_thinking_block_ends_with_its_signature(
    served: Served,
) -> None:
    body = {"model": MODEL, "max_tokens": 4096, "thinking": THINK, "stream": True}
    events = [doc for _, doc in sse_events(post(served, {**body, "messages": user("hi")}).content)]
    block = [e for e in events if e.get("index") == 0]
    assert block[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert block[1]["delta"]["type"] == "thinking_delta"
    assert [e["type"] for e in block[-2:]] == ["content_block_delta", "content_block_stop"]
    assert block[-2]["delta"]["type"] == "signature_delta" and block[-2]["delta"]["signature"]


def test_thinking_blocks_sent_back_are_counted_in_stats(
    served: Served, client: anthropic.Anthropic
) -> None:
    first = client.messages.create(
        model=MODEL, max_tokens=4096, thinking=THINK, messages=user("[sim:tool get_weather]")
    )
    before = served[0].stats.thinking_blocks_received
    call = first.content[1]
    assert isinstance(call, anthropic.types.ToolUseBlock)
    messages: Any = [
        *user("[sim:tool get_weather]"),
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": ""}],
        },
    ]
    client.messages.create(model=MODEL, max_tokens=4096, thinking=THINK, messages=messages)
    assert served[0].stats.thinking_blocks_received == before + 1


# --------------------------------------------------------------------------- usage and limits


def test_a_cache_control_prefix_is_written_once_and_read_afterwards(
    client: anthropic.Anthropic,
) -> None:
    system: Any = [
        {
            "type": "text",
            "text": "You are a careful assistant. " * 300,  # ~1800 tokens
            "cache_control": {"type": "ephemeral"},
        }
    ]
    request: Any = {"model": MODEL, "system": system, "messages": user("hi")}
    counted = client.messages.count_tokens(**request).input_tokens
    first, second = (client.messages.create(**request, max_tokens=256).usage for _ in "12")
    written = first.cache_creation_input_tokens or 0
    assert written > 1024 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == written and second.cache_creation_input_tokens == 0
    for usage in (first, second):
        cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
        assert usage.input_tokens + cached == counted  # input_tokens excludes the cache


def test_no_cache_control_means_no_caching(client: anthropic.Anthropic) -> None:
    request: Any = {"model": MODEL, "system": "Be careful. " * 600, "messages": user("hi")}
    for _ in range(2):
        usage = client.messages.create(**request, max_tokens=256).usage
        assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 0)


@pytest.mark.parametrize(
    ("fields", "stop_reason", "stop_sequence", "text"),
    [
        pytest.param(
            {"max_tokens": 3}, "max_tokens", None, "one two three", id="max_tokens_cuts_the_text"
        ),
        pytest.param(
            {"stop_sequences": [" four", " three"]},
            "stop_sequence",
            " three",
            "one two",
            id="stop_sequence_names_the_one_that_matched",
        ),
    ],
)
def test_limits_end_the_answer_with_anthropics_stop_reasons(
    client: anthropic.Anthropic,
    fields: dict[str, Any],
    stop_reason: str,
    stop_sequence: str | None,
    text: str,
) -> None:
    request: Any = {"model": MODEL, "max_tokens": 100, **fields}
    message = client.messages.create(**request, messages=user("[sim:reply one two three four]"))
    assert (message.stop_reason, message.stop_sequence) == (stop_reason, stop_sequence)
    assert message.content[0].text == text
    assert message.usage.output_tokens <= request["max_tokens"]


def test_count_tokens_answers_the_documented_example(client: anthropic.Anthropic) -> None:
    example = json.loads((WIRE / "anthropic-count-tokens.json").read_text())["basic"]
    assert client.messages.count_tokens(**example["request"]).input_tokens == 14


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kind", "exception", "status", "message"),
    [
        pytest.param("429", anthropic.RateLimitError, 429, "This request would exceed", id="429"),
        pytest.param("503", anthropic.OverloadedError, 529, "Overloaded", id="overloaded"),
        pytest.param("500", anthropic.InternalServerError, 500, "Internal server error", id="500"),
        pytest.param("401", anthropic.AuthenticationError, 401, "invalid x-api-key", id="401"),
        pytest.param(
            "context_length",
            anthropic.BadRequestError,
            400,
            "prompt is too long: ",
            id="context_length",
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_error_directives_raise_the_sdk_exception_anthropic_would_cause(
    client: anthropic.Anthropic,
    kind: str,
    exception: type[anthropic.APIStatusError],
    status: int,
    message: str,
    stream: bool,
) -> None:
    with pytest.raises(exception) as caught:
        client.messages.create(
            model=MODEL, max_tokens=100, messages=user(f"[sim:error {kind}]"), stream=stream
        )
    error = caught.value
    body = error_body(error)
    assert error.status_code == status and body["error"]["message"].startswith(message)
    assert body["type"] == "error"
    assert error.response.headers["x-simulated"] == "true"
    if kind == "429":
        assert error.response.headers["retry-after"] == "2"
        assert "anthropic-ratelimit-input-tokens-remaining" in error.response.headers


ASKED: Any = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"max_tokens": None}, "max_tokens: Field required", id="no_max_tokens"),
        pytest.param({"model": None}, "model: Field required", id="no_model"),
        pytest.param(
            {"messages": [*user("a"), *user("b")]},
            "messages: roles must alternate",
            id="two_user_turns",
        ),
        pytest.param(
            {
                "messages": [
                    *user("a"),
                    ASKED,
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}],
                    },
                ]
            },
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks",
            id="result_for_an_unknown_call",
        ),
        pytest.param(
            {"messages": [*user("a"), ASKED, *user("b")]},
            "messages.1: `tool_use` ids were found without `tool_result` blocks",
            id="call_never_answered",
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 100}},
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
            id="budget_too_small",
        ),
        pytest.param(
            {"thinking": THINK, "max_tokens": 2048},
            "`max_tokens` must be greater than `thinking.budget_tokens`",
            id="budget_not_below_max_tokens",
        ),
        pytest.param(
            {"thinking": THINK, "temperature": 0.5},
            "`temperature` may only be set to 1 when thinking is enabled",
            id="temperature_with_thinking",
        ),
        pytest.param(
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages.0.content.0: Input tag 'image_url' found",
            id="chat_content_part",
        ),
        pytest.param({"messages": user("[sim:dance]")}, "simulator: unknown", id="directive"),
    ],
)
def test_invalid_requests_are_rejected_like_anthropic_rejects_them(
    served: Served, fields: dict[str, Any], message: str
) -> None:
    body = {"model": MODEL, "max_tokens": 4096, "messages": user("hello"), **fields}
    response = post(served, {k: v for k, v in body.items() if v is not None})
    error = response.json()
    assert response.status_code == 400 and error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(message)


def test_a_request_without_anthropic_version_is_refused(
    served: Served,
) -> None:
    response = post(served, {"model": MODEL, "max_tokens": 10, "messages": user("hi")}, {})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({"x-api-key": "sk-ant-wrong"}, "invalid x-api-key", id="wrong_key"),
        pytest.param({}, "x-api-key header is required", id="no_key"),
        pytest.param(
            {"authorization": "Bearer sk-ant-wrong"}, "invalid x-api-key", id="wrong_bearer"
        ),
    ],
)
def test_a_simulator_with_an_api_key_checks_the_key_header(
    headers: dict[str, str], message: str
) -> None:
    sim = StrictSimulator(time_scale=0, api_key="sk-ant-right")
    with ServerThread(asgi_app(sim)) as server:
        response = httpx.post(
            f"{server.base_url}/v1/messages/count_tokens",
            json={"model": MODEL, "messages": user("hi")},
            headers={**VERSION, **headers},
            timeout=10,
        )
        with anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-right") as right:
            assert right.messages.count_tokens(model=MODEL, messages=user("hi")).input_tokens
        with anthropic.Anthropic(base_url=server.base_url, api_key="bad", max_retries=0) as bad:
            with pytest.raises(anthropic.AuthenticationError):
                bad.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    assert response.status_code == 401
    assert response.json()["error"] == {"type": "authentication_error", "message": message}


def test_a_cut_stream_ends_without_message_stop(served: Served) -> None:
    body = {"model": MODEL, "max_tokens": 100, "messages": user("[sim:cut]"), "stream": True}
    names = [name for name, _ in sse_events(post(served, body).content)]
    assert names[0] == "message_start" and len(names) == CUT_AFTER_EVENTS
    assert "message_stop" not in names and "message_delta" not in names


# --------------------------------------------------------------------------- the gateway


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in CLI_REQUESTS])
def test_every_captured_claude_cli_request_is_accepted(served: Served, path: Path) -> None:
    """The CLI's requests (role-system messages, adaptive thinking, `?beta=true`, deferred
    tools, tool_reference results) pass the simulator's checks, as they pass Anthropic's."""
    captured = json.loads(path.read_text())
    response = httpx.post(
        f"{served[1]}{captured['path']}", json=captured["body"], headers=VERSION, timeout=30
    )
    assert response.status_code == 200, response.text
    if captured["path"].partition("?")[0].endswith("/count_tokens"):
        assert response.json()["input_tokens"] > 0
    elif captured["body"].get("stream"):
        assert sse_events(response.content)[-1][0] == "message_stop"
    else:
        assert response.json()["type"] == "message"


def test_the_gateway_passthrough_reads_usage_stop_reason_and_tool_calls_from_the_stream(
    served: Served,
) -> None:
    text = '[sim:reply Looking.] [sim:tool get_weather {"city": "Paris"}] [sim:tool get_weather]'
    body = {"model": MODEL, "max_tokens": 4096, "thinking": THINK, "tools": [WEATHER_TOOL]}
    raw = post(served, {**body, "messages": user(text), "stream": True}).content
    passthrough = AnthropicPassthrough(message_id="msg_gw", model=MODEL)
    for _, event in sse_events(raw):
        assert passthrough.feed(event) == [event]
    oneshot = post(served, {**body, "messages": user(text)}).json()
    assert passthrough.saw_finish_reason and passthrough.stop_reason == "tool_use"
    assert passthrough.tool_calls == 2 and passthrough.response_model == f"{MODEL}-simulated"
    usage = passthrough.usage
    assert usage and usage["completion_tokens"] == oneshot["usage"]["output_tokens"]
    assert usage["prompt_tokens"] == oneshot["usage"]["input_tokens"]
    assert served[0].recorder is not None
    assert served[0].recorder.paths[-1] == "/v1/messages"


def transport_client(sim: StrictSimulator) -> httpx.AsyncClient:
    transport = simulated_transport(sim)
    return httpx.AsyncClient(transport=transport, base_url="http://sim.invalid", headers=VERSION)


def test_the_in_process_transport_answers_the_messages_api_too() -> None:
    async def run() -> httpx.Response:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            body = {"model": MODEL, "max_tokens": 100, "messages": user("hi"), "stream": True}
            return await client.post("/v1/messages", json=body)

    response = asyncio.run(run())
    assert response.status_code == 200 and response.headers["x-simulated"] == "true"
    assert sse_events(response.content)[-1][0] == "message_stop"


def test_a_client_leaving_a_stream_early_is_counted_as_cancelled() -> None:
    sim = StrictSimulator(profiles={"*": ModelProfile(latency_s=0, ttft_s=0, tokens_per_s=20)})
    text = "[sim:reply " + " ".join(["word"] * 100) + "]"
    body = {"model": "m", "max_tokens": 1000, "messages": user(text), "stream": True}

    async def run() -> None:
        async with transport_client(sim) as client:
            async with client.stream("POST", "/v1/messages", json=body) as response:
                async for _ in response.aiter_raw():
                    break

    asyncio.run(run())
    stats = sim.stats
    assert (stats.streams_started, stats.streams_cancelled, stats.streams_completed) == (1, 1, 0)
