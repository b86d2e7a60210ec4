"""The simulated OpenAI backend, through the official SDK on a real socket and through httpx."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from claude_gw.simulated import PROFILES, ModelProfile, asgi_app, profile_for, simulated_transport
from claude_gw.simulated.directives import (
    DirectiveError,
    Directives,
    ToolDirective,
    parse_directives,
)
from claude_gw.simulated.simulator import Simulator
from claude_gw.testing import RequestRecorder, StrictSimulator
from tests.servers import ServerThread
from tests.waiting import wait_until

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
FAST = {"*": ModelProfile(latency_s=0, ttft_s=0, tokens_per_s=100)}
SLOW = {"*": ModelProfile(latency_s=0, ttft_s=0, tokens_per_s=20)}
LONG_REPLY = "[sim:reply " + " ".join(f"word{i}" for i in range(100)) + "]"


def user(text: str) -> Any:
    """A one-message conversation (typed Any: the SDK's TypedDicts are not the point here)."""
    return [{"role": "user", "content": text}]


def events(raw: bytes) -> list[str]:
    """The `data:` payloads of an SSE body."""
    return [part[6:] for part in raw.decode().split("\n\n") if part.startswith("data: ")]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[StrictSimulator, str]]:
    sim = StrictSimulator(time_scale=0, recorder=RequestRecorder())
    with ServerThread(asgi_app(sim)) as server:
        yield sim, f"{server.base_url}/v1"


@pytest.fixture
def client(served: tuple[StrictSimulator, str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=served[1], api_key="sk-test", max_retries=0, timeout=10) as c:
        yield c


# --------------------------------------------------------------------------- the SDK, socket


def test_non_streaming_reply_names_the_simulated_model_and_quotes_the_user(
    client: openai.OpenAI,
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=user("What is the capital of France?")
    )
    completion = raw.parse()
    assert raw.headers["x-simulated"] == "true" and raw.headers["x-request-id"].startswith("req_")
    assert completion.model == "gpt-4.1-simulated"
    assert "What is the capital of France?" in (completion.choices[0].message.content or "")
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streaming_sends_the_usage_chunk_last_and_the_same_text_as_non_streaming(
    served: tuple[StrictSimulator, str],
) -> None:
    async def run() -> tuple[list[Any], str]:
        async with openai.AsyncOpenAI(base_url=served[1], api_key="k", max_retries=0) as client:
            request: dict[str, Any] = {"model": "gpt-5-mini", "messages": user("Tell me a story")}
            whole = await client.chat.completions.create(**request)
            stream = await client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
            return [chunk async for chunk in stream], whole.choices[0].message.content or ""

    chunks, whole_text = asyncio.run(run())
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == whole_text
    assert len(chunks) > 10  # the text arrives in token-sized pieces


def test_second_request_with_the_same_long_prefix_reports_cached_tokens(
    client: openai.OpenAI,
) -> None:
    system = "You are a careful assistant. " * 300  # ~1800 tokens
    messages = [{"role": "system", "content": system}, *user("hi")]
    first, second = (
        client.chat.completions.create(model="gpt-4.1", messages=messages).usage for _ in "12"
    )
    assert first and first.prompt_tokens_details and second and second.prompt_tokens_details
    assert first.prompt_tokens_details.cached_tokens == 0
    cached = second.prompt_tokens_details.cached_tokens or 0
    assert cached > 1024 and cached % 128 == 0 and cached <= second.prompt_tokens


def test_short_prefixes_are_never_cached(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Short and unique system prompt 7f3a"}, *user("hi")]
    for _ in range(2):
        usage = client.chat.completions.create(model="gpt-4.1", messages=messages).usage
        assert (
            usage and usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 0
        )


@pytest.mark.parametrize(
    ("model", "effort", "reasoning"),
    [
        pytest.param("gpt-5-mini", None, True, id="gpt-5-mini_reasons"),
        pytest.param("gpt-5", "high", True, id="gpt-5_high_reasons"),
        pytest.param("gpt-5-mini", "minimal", False, id="minimal_effort_does_not"),
        pytest.param("gpt-4.1", None, False, id="gpt-4.1_does_not"),
    ],
)
def test_reasoning_tokens_are_part_of_completion_tokens(
    client: openai.OpenAI, model: str, effort: str | None, reasoning: bool
) -> None:
    extra: dict[str, Any] = {"reasoning_effort": effort} if effort else {}
    stream = client.chat.completions.create(
        model=model,
        messages=user("hi"),
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    usage = [chunk for chunk in stream][-1].usage
    assert usage and usage.completion_tokens_details
    spent = usage.completion_tokens_details.reasoning_tokens or 0
    assert (spent > 0) == reasoning
    assert usage.completion_tokens > spent


def test_parallel_tool_calls_accumulate_to_the_directive_arguments(client: openai.OpenAI) -> None:
    weather = {"city": "Edinburgh", "note": "café ] [x]"}
    stock = {"ticker": "AAPL", "exchange": "NASDAQ"}
    text = f"[sim:tool get_weather {json.dumps(weather)}] "
    text += f"[sim:tool get_stock_price {json.dumps(stock)}]"
    with client.chat.completions.stream(model="gpt-5-mini", messages=user(text)) as stream:
        completion = stream.get_final_completion()
    calls = completion.choices[0].message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", weather),
        ("get_stock_price", stock),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_a_tool_result_is_quoted_in_the_reply(client: openai.OpenAI) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
    messages: Any = [
        *user("run it"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hello-from-tool\n"},
    ]
    reply = client.chat.completions.create(model="gpt-4.1", messages=messages)
    assert reply.choices[0].message.content == "Tool Bash returned: hello-from-tool"


@pytest.mark.parametrize(
    ("kind", "exception", "status", "code"),
    [
        pytest.param("429", openai.RateLimitError, 429, "rate_limit_exceeded", id="rate_limit"),
        pytest.param("500", openai.InternalServerError, 500, None, id="server_error"),
        pytest.param("503", openai.InternalServerError, 503, None, id="overloaded"),
        pytest.param("401", openai.AuthenticationError, 401, "invalid_api_key", id="bad_key"),
        pytest.param(
            "context_length", openai.BadRequestError, 400, "context_length_exceeded", id="too_long"
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_error_directives_raise_the_sdk_exception_for_that_error(
    client: openai.OpenAI,
    kind: str,
    exception: type[openai.APIStatusError],
    status: int,
    code: str | None,
    stream: bool,
) -> None:
    with pytest.raises(exception) as caught:
        client.chat.completions.create(
            model="gpt-5-mini", messages=user(f"[sim:error {kind}]"), stream=stream
        )
    assert caught.value.status_code == status and caught.value.code == code
    assert caught.value.response.headers["x-simulated"] == "true"
    if kind == "429":
        assert caught.value.response.headers["retry-after"] == "2"
        assert "x-ratelimit-remaining-tokens" in caught.value.response.headers


def tool_call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "Bash", "arguments": "{}"}}


ASKED = {"role": "assistant", "content": None, "tool_calls": [tool_call("call_a")]}


@pytest.mark.parametrize(
    ("request_fields", "param", "code"),
    [
        pytest.param({"max_tokens": 100}, "max_tokens", "unsupported_parameter", id="max_tokens"),
        pytest.param({"temperature": 0.2}, "temperature", "unsupported_value", id="temperature"),
        pytest.param({"top_p": 0.5}, "top_p", "unsupported_value", id="top_p"),
        pytest.param({"reasoning_effort": "max"}, "reasoning_effort", "invalid_value", id="effort"),
        pytest.param(
            {"model": "gpt-4.1", "reasoning_effort": "low"},
            "reasoning_effort",
            "unsupported_parameter",
            id="effort_to_non_reasoning_model",
        ),
        pytest.param({"messages": []}, "messages", "empty_array", id="no_messages"),
        pytest.param(
            {"messages": [{"role": "bot", "content": "x"}]},
            "messages[0].role",
            "invalid_value",
            id="unknown_role",
        ),
        pytest.param(
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]},
            "messages[0].content[0].type",
            "invalid_value",
            id="unknown_content_part",
        ),
        pytest.param(
            {"messages": [*user("x"), {"role": "tool", "tool_call_id": "call_a", "content": "y"}]},
            "messages.[1].role",
            None,
            id="tool_message_without_tool_calls",
        ),
        pytest.param(
            {
                "messages": [
                    *user("x"),
                    ASKED,
                    {"role": "tool", "tool_call_id": "nope", "content": ""},
                ]
            },
            "messages.[2].tool_call_id",
            None,
            id="tool_message_for_an_unknown_call",
        ),
        pytest.param(
            {"messages": [*user("x"), ASKED, *user("y")]},
            "messages.[1].role",
            None,
            id="tool_call_never_answered",
        ),
        pytest.param(
            {
                "messages": [
                    *user("x"),
                    {
                        **ASKED,
                        "tool_calls": [
                            {**tool_call("c"), "function": {"name": "B", "arguments": {}}}
                        ],
                    },
                ]
            },
            "messages[1].tool_calls[0].function.arguments",
            "invalid_type",
            id="tool_call_arguments_not_a_string",
        ),
        pytest.param(
            {"tools": [{"type": "function", "function": {"name": "x" * 65}}]},
            "tools[0].function.name",
            "string_above_max_length",
            id="tool_name_too_long",
        ),
        pytest.param(
            {"tools": [{"type": "function", "function": {"name": "mcp:read"}}]},
            "tools[0].function.name",
            "invalid_value",
            id="tool_name_with_a_colon",
        ),
        pytest.param(
            {"stream_options": {"include_usage": True}},
            "stream_options",
            None,
            id="stream_options_without_stream",
        ),
        pytest.param({"messages": user("[sim:dance]")}, "messages", None, id="unknown_directive"),
        pytest.param({"stop": 5}, "stop", "invalid_type", id="stop_not_a_string"),
        pytest.param(
            {"messages": [{"role": "assistant", "content": "x", "tool_calls": {}}]},
            "messages[0].tool_calls",
            "invalid_type",
            id="tool_calls_not_an_array",
        ),
        pytest.param(
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format.json_schema.name",
            "missing_required_parameter",
            id="json_schema_without_a_name",
        ),
        pytest.param(
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "t",
                        "strict": True,
                        "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                    },
                }
            },
            "response_format.json_schema",
            "invalid_json_schema",
            id="strict_schema_with_an_open_object",
        ),
    ],
)
def test_invalid_requests_are_rejected_like_openai_rejects_them(
    client: openai.OpenAI, request_fields: dict[str, Any], param: str, code: str | None
) -> None:
    body = {"model": "gpt-5-mini", "messages": user("hello"), **request_fields}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**body)
    assert (caught.value.param, caught.value.code) == (param, code)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{not json", "could not parse the JSON body", id="not_json"),
        pytest.param(b'{"messages": []}', "you must provide a model parameter", id="no_model"),
        pytest.param(
            b'{"model": "gpt-4.1"}', "Missing required parameter: 'messages'", id="no_messages"
        ),
    ],
)
def test_malformed_bodies_get_a_400_in_the_openai_envelope(
    served: tuple[StrictSimulator, str], body: bytes, message: str
) -> None:
    response = httpx.post(f"{served[1]}/chat/completions", content=body, timeout=10)
    error = response.json()["error"]
    assert response.status_code == 400 and message in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("api_key", "outcome"),
    [
        pytest.param("sk-right-key-0000", None, id="right_key"),
        pytest.param(
            "sk-wrong-key-1111", "Incorrect API key provided: sk-********1111", id="wrong_key"
        ),
        pytest.param("", "You didn't provide an API key", id="no_key"),
    ],
)
def test_a_simulator_with_an_api_key_checks_the_bearer_token(
    api_key: str, outcome: str | None
) -> None:
    sim = StrictSimulator(time_scale=0, api_key="sk-right-key-0000")
    headers = {"Authorization": f"Bearer {api_key}" if api_key else ""}
    with ServerThread(asgi_app(sim)) as server:
        response = httpx.post(
            f"{server.base_url}/v1/chat/completions",
            json={"model": "gpt-4.1", "messages": user("hi")},
            headers=headers,
            timeout=10,
        )
    if outcome is None:
        assert response.status_code == 200
    else:
        error = response.json()["error"]
        assert response.status_code == 401 and error["code"] == "invalid_api_key"
        assert outcome in error["message"]


def test_the_sdk_raises_authentication_error_for_a_wrong_key() -> None:
    sim = StrictSimulator(time_scale=0, api_key="sk-right-key-0000")
    with ServerThread(asgi_app(sim)) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="sk-no", max_retries=0) as c:
            with pytest.raises(openai.AuthenticationError):
                c.chat.completions.create(model="gpt-4.1", messages=user("hi"))


def test_a_json_schema_format_is_answered_with_json_that_follows_it(
    client: openai.OpenAI,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 9},
            "n": {"type": "integer", "minimum": 3},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        },
        "required": ["title", "n", "tags"],
        "additionalProperties": False,
    }
    answer = client.chat.completions.create(
        model="gpt-5-mini",
        messages=user("name it"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "t", "schema": schema, "strict": True},
        },
    )
    content = answer.choices[0].message.content
    assert json.loads(content or "") == {"title": "Simulated", "n": 3, "tags": ["a"]}


def test_cut_stream_ends_without_finish_reason_usage_or_done(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4.1",
        messages=user("[sim:cut]"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert 0 < len(chunks) <= 4
    assert all(chunk.choices and chunk.choices[0].finish_reason is None for chunk in chunks)


def test_no_finish_stream_sends_usage_but_never_a_finish_reason(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4.1",
        messages=user("[sim:no_finish]"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None
    assert all(c.choices[0].finish_reason is None for c in chunks if c.choices)


def test_client_closing_a_stream_early_is_counted_as_cancelled() -> None:
    sim = StrictSimulator(profiles=SLOW, time_scale=1)
    with ServerThread(asgi_app(sim)) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c:
            stream = c.chat.completions.create(model="m", messages=user(LONG_REPLY), stream=True)
            next(iter(stream))
            stream.close()
        wait_until(lambda: sim.stats.streams_cancelled == 1, 5, "the stream's cancellation")
    assert (sim.stats.streams_started, sim.stats.streams_completed) == (1, 0)


def test_models_are_listed_and_unknown_paths_get_a_404(
    client: openai.OpenAI, served: tuple[StrictSimulator, str]
) -> None:
    assert {m.id for m in client.models.list()} >= {"gpt-5", "gpt-5-mini", "gpt-4o-mini"}
    response = httpx.post(f"{served[1]}/completions", json={}, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/completions)"


def test_stats_record_what_the_client_sent_upstream(served: tuple[StrictSimulator, str]) -> None:
    sim, base_url = served
    with openai.OpenAI(base_url=base_url, api_key="sk-seen", max_retries=0) as c:
        c.chat.completions.create(model="gpt-4.1", messages=user("recorded?"), user="u-42")
    assert sim.recorder is not None
    assert sim.recorder.bodies[-1]["user"] == "u-42"
    assert sim.recorder.headers[-1]["authorization"] == "Bearer sk-seen"


# --------------------------------------------------------------------------- httpx transport


def transport_client(sim: StrictSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=simulated_transport(sim), base_url="http://simulated.invalid/v1"
    )


def chat(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-5-mini", "messages": user(text), "stream": True, **fields}


def test_transport_streams_chunks_as_they_are_generated() -> None:
    async def run() -> list[float]:
        async with transport_client(StrictSimulator(profiles=FAST, time_scale=1)) as client:
            async with client.stream("POST", "/chat/completions", json=chat(LONG_REPLY)) as r:
                return [time.monotonic() async for _ in r.aiter_raw()]

    arrivals = asyncio.run(run())
    assert len(arrivals) > 50  # one piece per token, paced at 100 tokens/s
    assert arrivals[-1] - arrivals[0] > 0.3


def test_transport_counts_an_early_close_as_cancelled() -> None:
    sim = StrictSimulator(profiles=SLOW, time_scale=1)

    async def run() -> None:
        async with transport_client(sim) as client:
            async with client.stream("POST", "/chat/completions", json=chat(LONG_REPLY)) as r:
                async for _ in r.aiter_raw():
                    break

    asyncio.run(run())
    assert (sim.stats.streams_cancelled, sim.stats.streams_completed) == (1, 0)


def test_stream_envelope_matches_the_recorded_shape() -> None:
    expected = [
        json.loads(e) for e in events((WIRE / "openai-chat-stream-text.sse").read_bytes())[:-1]
    ]

    async def run() -> bytes:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            body = chat("[sim:reply Hello! How can I help you today?]")
            response = await client.post(
                "/chat/completions", json={**body, "stream_options": {"include_usage": True}}
            )
            return response.content

    raw = events(asyncio.run(run()))
    chunks = [json.loads(e) for e in raw[:-1]]
    assert raw[-1] == "[DONE]"
    assert [list(c) for c in chunks] == [list(e) for e in expected]
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        e["choices"][0]["delta"] for e in expected[:-1]
    ]
    assert list(chunks[-1]["usage"]) == list(expected[-1]["usage"])
    assert chunks[-2]["obfuscation"] == "" and all(c["obfuscation"] for c in chunks[:-2])


def test_tool_call_arguments_stream_in_fragments_that_split_strings() -> None:
    args = {"command": "echo hello-from-tool", "description": "Print a greeting"}

    async def run() -> list[dict[str, Any]]:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            response = await client.post(
                "/chat/completions", json=chat(f"[sim:tool Bash {json.dumps(args)}]")
            )
            return [json.loads(e) for e in events(response.content)[:-1]]

    chunks = asyncio.run(run())
    first = chunks[0]["choices"][0]["delta"]
    assert first["content"] is None and first["tool_calls"][0]["function"] == {
        "name": "Bash",
        "arguments": "",
    }
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[1:-1]
    ]
    assert json.loads("".join(fragments)) == args
    assert any(f.count('"') % 2 for f in fragments)  # some fragment ends inside a string
    assert "usage" not in chunks[-1]  # no include_usage: no usage key, no usage chunk


def test_reply_and_tool_directives_stream_the_text_before_the_tool_call() -> None:
    async def run() -> list[dict[str, Any]]:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            body = chat('[sim:reply Let me look.] [sim:tool Read {"path": "a"}]')
            response = await client.post("/chat/completions", json=body)
            return [json.loads(e)["choices"][0]["delta"] for e in events(response.content)[:-1]]

    deltas = asyncio.run(run())
    assert deltas[0] == {"role": "assistant", "content": "", "refusal": None}
    header = next(i for i, d in enumerate(deltas) if "tool_calls" in d)
    assert "".join(d.get("content", "") for d in deltas[:header]) == "Let me look."
    assert deltas[header]["tool_calls"][0]["function"]["name"] == "Read"


def test_the_simulated_upstream_url_answers_without_a_network() -> None:
    async def run() -> httpx.Response:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            return await client.get("http://simulated.invalid/v1/models")

    response = asyncio.run(run())
    assert response.status_code == 200 and response.headers["x-simulated"] == "true"
    assert "gpt-5-mini" in {model["id"] for model in response.json()["data"]}


def test_non_streaming_cut_stops_the_json_body_halfway() -> None:
    async def run() -> httpx.Response:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            return await client.post("/chat/completions", json=chat("[sim:cut]", stream=False))

    response = asyncio.run(run())
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_stall_delays_the_first_chunk_by_literal_seconds() -> None:
    async def run() -> float:
        async with transport_client(StrictSimulator(time_scale=0)) as client:
            async with client.stream(
                "POST", "/chat/completions", json=chat("[sim:stall 0.3]")
            ) as r:
                headers_at = time.monotonic()
                async for _ in r.aiter_raw():
                    return time.monotonic() - headers_at
        return 0.0

    assert asyncio.run(run()) >= 0.29


# --------------------------------------------------------------------------- answers, directly


def respond(sim: StrictSimulator, body: dict[str, Any]) -> dict[str, Any]:
    async def run() -> bytes:
        answer = await sim.respond("POST", "/v1/chat/completions", {}, orjson.dumps(body))
        return b"".join([chunk async for chunk in answer.body])

    doc: dict[str, Any] = orjson.loads(asyncio.run(run()))
    return doc


def test_the_same_seed_and_request_give_the_same_answer() -> None:
    body = {"model": "gpt-5-mini", "messages": user("Tell me about seeds")}
    first, second = (respond(StrictSimulator(time_scale=0, seed=7), body) for _ in "12")
    other = respond(StrictSimulator(time_scale=0, seed=8), body)
    assert {**first, "created": 0} == {**second, "created": 0}
    assert other["id"] != first["id"]


@pytest.mark.parametrize(
    ("fields", "content", "finish"),
    [
        pytest.param(
            {"model": "gpt-5-mini", "max_completion_tokens": 16},
            "",
            "length",
            id="reasoning_spends_the_whole_budget",
        ),
        pytest.param(
            {
                "model": "gpt-4.1",
                "max_tokens": 3,
                "messages": user("[sim:reply one two three four five]"),
            },
            "one two three",
            "length",
            id="text_cut_at_the_budget",
        ),
        pytest.param(
            {
                "model": "gpt-4.1",
                "stop": [" three"],
                "messages": user("[sim:reply one two three four]"),
            },
            "one two",
            "stop",
            id="stop_sequence",
        ),
    ],
)
def test_limits_cut_the_answer_like_openai(
    fields: dict[str, Any], content: str, finish: str
) -> None:
    doc = respond(StrictSimulator(time_scale=0), {"messages": user("hi"), **fields})
    assert doc["choices"][0]["message"]["content"] == content
    assert doc["choices"][0]["finish_reason"] == finish
    limit = fields.get("max_completion_tokens") or fields.get("max_tokens")
    assert limit is None or doc["usage"]["completion_tokens"] <= limit


TOOLS = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in ("Read", "Bash")]


@pytest.mark.parametrize(
    ("fields", "calls"),
    [
        pytest.param(
            {"tool_choice": "required"}, [("Read", "{}")], id="required_calls_the_first_tool"
        ),
        pytest.param(
            {"tool_choice": {"type": "function", "function": {"name": "Bash"}}},
            [("Bash", "{}")],
            id="named_tool_is_called",
        ),
        pytest.param({}, [], id="no_directive_no_call"),
        pytest.param(
            {"messages": user("[sim:tool Read] [sim:tool Bash]"), "tool_choice": "none"},
            [],
            id="tool_choice_none_drops_directives",
        ),
        pytest.param(
            {
                "messages": user('[sim:tool Read {"a":1}] [sim:tool Bash]'),
                "parallel_tool_calls": False,
            },
            [("Read", '{"a":1}')],
            id="no_parallel_calls_keeps_the_first",
        ),
    ],
)
def test_tool_choice_decides_which_tools_are_called(
    fields: dict[str, Any], calls: list[tuple[str, str]]
) -> None:
    body = {"model": "gpt-4.1", "messages": user("please use a tool"), "tools": TOOLS, **fields}
    message = respond(StrictSimulator(time_scale=0), body)["choices"][0]["message"]
    got = [
        (c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls", [])
    ]
    assert got == calls


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("gpt-5-mini", PROFILES["gpt-5-mini"], id="exact"),
        pytest.param("gpt-5-mini-2025-08-07", PROFILES["gpt-5-mini"], id="dated_snapshot"),
        pytest.param("gpt-5.1", PROFILES["gpt-5"], id="longest_prefix"),
        pytest.param("gpt-4.1-mini", PROFILES["gpt-4.1-mini"], id="longer_prefix_wins"),
        pytest.param("llama3", PROFILES["*"], id="unknown_gets_the_default"),
    ],
)
def test_profiles_match_by_longest_prefix(model: str, expected: ModelProfile) -> None:
    assert profile_for(model) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("no directives", Directives(), id="none"),
        pytest.param("[sim:reply a [b] c]", Directives(reply="a [b] c"), id="reply_with_brackets"),
        pytest.param(
            '[sim:tool Bash {"c": "]"}] [sim:tool Read]',
            Directives(tools=(ToolDirective("Bash", '{"c":"]"}'), ToolDirective("Read", "{}"))),
            id="tools",
        ),
        pytest.param("[sim:stall 999]", Directives(stall_s=60.0), id="stall_capped"),
        pytest.param(
            "x [sim:cut] y [sim:no_finish]", Directives(cut=True, no_finish=True), id="flags"
        ),
        pytest.param("[sim:error 503]", Directives(error="503"), id="error"),
    ],
)
def test_directives_are_parsed_from_the_text(text: str, expected: Directives) -> None:
    assert parse_directives(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[sim:error 418]",
        "[sim:tool Bash {not json}]",
        "[sim:stall soon]",
        "[sim:reply open",
        "[sim:cut now]",
    ],
)
def test_malformed_directives_are_refused(text: str) -> None:
    with pytest.raises(DirectiveError):
        parse_directives(text)


def test_asgi_app_closes_the_stream_when_the_client_disconnects() -> None:
    sim = StrictSimulator(profiles=SLOW, time_scale=1)
    sent: list[MutableMapping[str, Any]] = []

    async def run() -> None:
        first_body = asyncio.Event()
        requests = [
            {"type": "http.request", "body": orjson.dumps(chat(LONG_REPLY)), "more_body": False}
        ]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop()
            await first_body.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body":
                first_body.set()

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
        await asyncio.wait_for(asgi_app(sim)(scope, receive, send), timeout=5)

    asyncio.run(run())
    assert sim.stats.streams_cancelled == 1
    assert all(m.get("more_body", True) for m in sent)  # the body was never finished


def test_rounds_directive_repeats_the_tool_calls_for_n_turns_then_reports():
    """`[sim:rounds N]`: a multi-step agent turn, e.g. to grow a Claude CLI conversation."""
    import asyncio

    import orjson

    from claude_gw.testing import StrictSimulator

    sim = StrictSimulator(time_scale=0.0)
    prompt = '[sim:rounds 2] [sim:tool Bash {"command": "ls"}]'
    tools = [{"type": "function", "function": {"name": "Bash", "parameters": {"type": "object"}}}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]

    async def turn() -> dict[str, Any]:
        body = {"model": "gpt-4.1", "messages": messages, "tools": tools}
        response = await sim.respond("POST", "/v1/chat/completions", {}, orjson.dumps(body))
        answer = orjson.loads(b"".join([part async for part in response.body]))
        reply: dict[str, Any] = answer["choices"][0]["message"]
        return reply

    for expected_calls in (1, 1, 0):
        message = asyncio.run(turn())
        calls = message.get("tool_calls") or []
        assert len(calls) == expected_calls
        if calls:
            messages.append(message)
            messages.append({"role": "tool", "tool_call_id": calls[0]["id"], "content": "a.txt"})
    assert message["content"] == "Tool Bash returned: a.txt"


def test_sequence_directive_makes_the_tool_calls_one_per_turn_in_order_then_reports():
    """`[sim:sequence]`: ToolSearch first, then the tool it loaded, as the Claude CLI needs."""
    import asyncio

    import orjson

    from claude_gw.testing import StrictSimulator

    sim = StrictSimulator(time_scale=0.0)
    prompt = '[sim:sequence] [sim:tool A {"n": 1}] [sim:tool B {"n": 2}]'
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("A", "B")
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]

    async def turn() -> dict[str, Any]:
        body = {"model": "gpt-4.1", "messages": messages, "tools": tools}
        response = await sim.respond("POST", "/v1/chat/completions", {}, orjson.dumps(body))
        answer = orjson.loads(b"".join([part async for part in response.body]))
        reply: dict[str, Any] = answer["choices"][0]["message"]
        return reply

    called = []
    for _ in range(3):
        message = asyncio.run(turn())
        calls = message.get("tool_calls") or []
        called.append([(c["function"]["name"], c["function"]["arguments"]) for c in calls])
        for call in calls:
            messages.append(message)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": "ok"})
    assert called == [[("A", '{"n":1}')], [("B", '{"n":2}')], []]
    assert message["content"] == "Tool B returned: ok"


def test_the_default_reply_quotes_the_prompt_not_the_clis_reminders():
    """The Claude CLI sends `<system-reminder>` text before the prompt; a gateway joins the
    text blocks into one string (captured fixture messages_first_print_mode.json)."""
    from claude_gw.simulated.answer import last_user_text

    content = "<system-reminder>\nAttribution for git commits ...\n</system-reminder>\n\nsay hi"
    assert last_user_text([{"role": "user", "content": content}]) == "say hi"
    assert last_user_text([{"role": "user", "content": "plain"}]) == "plain"


def large_request(number: int) -> bytes:
    """A chat request of about 100 KB (27 bytes x 3800 = 102,600 bytes of text)."""
    text = f"request {number} " + "lorem ipsum dolor sit amet " * 3800
    return orjson.dumps({"model": "gpt-5-mini", "messages": user(text)})


def kept_bytes_after(sim: Simulator, requests: int) -> int:
    """Bytes of Python objects still allocated after `sim` answered `requests` large requests
    (after a warm-up), by tracemalloc: exact, where the process's resident size depends on
    what the allocator kept from earlier tests."""

    async def send(count: int) -> None:
        for number in range(count):
            answer = await sim.respond("POST", "/v1/chat/completions", {}, large_request(number))
            async for _ in answer.body:
                pass

    asyncio.run(send(10))  # the tokenizer, the first arenas
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        asyncio.run(send(requests))
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before


@pytest.mark.parametrize("kind", [Simulator, StrictSimulator], ids=["simulated", "strict"])
def test_the_simulator_keeps_no_request_bodies_without_a_recorder(kind: type[Simulator]) -> None:
    """300 requests of 100 KB once kept about 30 MB of bodies (plus headers and paths) for as
    long as the process ran; without a recorder nothing of them stays allocated (the simulated
    backend has none at all)."""
    sim = kind(time_scale=0)
    assert getattr(sim, "recorder", None) is None
    assert kept_bytes_after(sim, 300) < 3_000_000  # kept bodies would be 300 x 100 KB = 30 MB


def test_a_recorder_keeps_every_request_so_the_measurement_sees_what_is_kept() -> None:
    recorder = RequestRecorder()
    sim = StrictSimulator(time_scale=0, recorder=recorder)
    # 300 x 100 KB = 30.8 MB of bodies kept, and the measurement sees them
    assert kept_bytes_after(sim, 300) > 300 * len(large_request(0))
    assert len(recorder.bodies) == len(recorder.paths) == 310  # with the 10 warm-up requests
