"""The gateway on a real loopback socket, driven by the official `anthropic` SDK, in front of
the simulated OpenAI backend (a test double for api.openai.com, see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from claude_gw.config import Settings
from claude_gw.logs.record import build_record
from claude_gw.logs.writer import LogWriter
from claude_gw.routing import Routing
from claude_gw.server.app import create_app
from claude_gw.server.messages import OVERHEAD_HEADER
from claude_gw.server.runner import build_upstream, close_upstream
from tests.servers import ServerThread
from tests.waiting import wait_until

UPSTREAM_KEY = "sk-test-upstream-key-0123456789"
CLIENT_KEY = "sk-ant-client-key-must-not-be-logged"
KONG = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong" / "claude.json"


@dataclass
class Gateway:
    url: str  # base URL with the tutorial's /anything prefix
    log_path: Path
    server: ServerThread
    clients: list[anthropic.Anthropic] = field(default_factory=list)

    def stop(self) -> None:
        """Close the clients handed out, then stop the server (which flushes the log)."""
        for client in self.clients:
            client.close()
        self.clients.clear()
        self.server.stop()

    def records(self) -> list[dict[str, Any]]:
        """The log lines, after stopping."""
        self.stop()
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def client(self, **kwargs) -> anthropic.Anthropic:
        # Recent SDKs send the key as `Authorization: Bearer`; the Claude CLI sends `x-api-key`
        # (or both, with apiKeyHelper). Send both, as the CLI can.
        client = anthropic.Anthropic(
            base_url=self.url,
            api_key=CLIENT_KEY,
            max_retries=0,
            default_headers={"x-api-key": CLIENT_KEY},
            **kwargs,
        )
        self.clients.append(client)
        return client


def start_gateway(tmp_path: Path, upstream_url: str, *, record_builder=None, **options) -> Gateway:
    options = {"api_key": UPSTREAM_KEY, "log_path": tmp_path / "claude.json", **options}
    settings = Settings(upstream_url=upstream_url, **options)
    upstream = build_upstream(settings)
    writer = LogWriter(settings.log_path)
    writer.start()

    async def shutdown() -> None:
        await close_upstream(upstream)
        writer.close()

    extra = {} if record_builder is None else {"record_builder": record_builder}
    app = create_app(
        settings, upstream=upstream, log_writer=writer, on_shutdown=[shutdown], **extra
    )
    server = ServerThread(app).__enter__()
    return Gateway(f"{server.base_url}/anything", settings.log_path, server)


@pytest.fixture
def gateway(tmp_path, fake_openai) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path, fake_openai, ping_interval=0.3, read_timeout=20)
    yield gw
    gw.stop()


def ask(text: str, **extra) -> dict[str, Any]:
    return {
        "model": extra.pop("model", "gpt-5-mini"),
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


WEATHER_TOOL: anthropic.types.ToolParam = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


# --------------------------------------------------------------------------- success paths


def test_sdk_oneshot_text_answer_is_an_anthropic_message(gateway):
    message = gateway.client().messages.create(**ask("say hi"))
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.model.endswith("-simulated")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (record,) = gateway.records()
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "oneshot"
    assert record["response"]["status"] == 200


def test_sdk_streaming_text_matches_the_final_message_and_logs_usage(gateway):
    with gateway.client().messages.stream(**ask("say hi")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    (record,) = gateway.records()
    usage = record["ai"]["proxy"]["usage"]
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert usage["completion_tokens"] == final.usage.output_tokens
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0  # gpt-5-mini reasons
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_streamed_parallel_tool_calls_arrive_as_tool_use_blocks(gateway):
    prompt = (
        'check both [sim:tool get_weather {"city": "Paris"}] '
        '[sim:tool get_weather {"city": "Oslo"}]'
    )
    with gateway.client().messages.stream(**ask(prompt, tools=[WEATHER_TOOL])) as stream:
        final = stream.get_final_message()
    calls = [block for block in final.content if block.type == "tool_use"]
    assert [call.input for call in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.stop_reason == "tool_use"
    (record,) = gateway.records()
    assert record["claude_gw"]["tool_calls"] == 2
    assert record["claude_gw"]["stop_reason"] == "tool_use"


def test_tool_result_round_trip_reaches_the_upstream_as_a_tool_message(gateway, simulator):
    client = gateway.client()
    first = client.messages.create(
        **ask('[sim:tool get_weather {"city": "Paris"}]', tools=[WEATHER_TOOL])
    )
    call = next(block for block in first.content if block.type == "tool_use")
    followup = client.messages.create(
        model="gpt-5-mini",
        max_tokens=1024,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}
                ],
            },
        ],
    )
    assert "sunny, 21C" in followup.content[0].text
    sent = simulator.recorder.bodies[-1]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}


def test_count_tokens_is_answered_locally_and_logged(gateway, simulator):
    count = gateway.client().messages.count_tokens(
        model="gpt-5-mini", messages=[{"role": "user", "content": "hello world " * 50}]
    )
    assert 90 <= count.input_tokens <= 130
    assert simulator.stats.requests == 0
    (record,) = gateway.records()
    assert record["claude_gw"]["endpoint"] == "count_tokens"
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] == count.input_tokens
    assert record["ai"]["proxy"]["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert record["ai"]["proxy"]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


def test_any_prefix_and_query_string_are_accepted_and_both_key_headers_too(gateway):
    base = gateway.url.removesuffix("/anything")
    for prefix in ("", "/anything", "/team/a/b"):
        response = httpx.post(
            f"{base}{prefix}/v1/messages?beta=true",
            json=ask("hi"),
            headers={"x-api-key": CLIENT_KEY, "authorization": f"Bearer {CLIENT_KEY}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert float(response.headers[OVERHEAD_HEADER]) >= 0
    records = gateway.records()
    assert [r["request"]["querystring"] for r in records] == [{"beta": "true"}] * 3


def test_claude_model_names_are_mapped_and_the_client_model_is_logged(
    tmp_path, fake_openai, simulator
):
    from claude_gw.routing import ModelRule

    gw = start_gateway(
        tmp_path,
        fake_openai,
        routing=Routing(model="gpt-4.1", model_map=(ModelRule("claude-haiku-*", "gpt-5-nano"),)),
    )
    client = gw.client()
    client.messages.create(**{**ask("hi"), "model": "claude-haiku-5-5"})
    client.messages.create(**{**ask("hi"), "model": "claude-opus-5-5"})
    assert [body["model"] for body in simulator.recorder.bodies] == ["gpt-5-nano", "gpt-4.1"]
    records = gw.records()
    assert [r["claude_gw"]["client_model"] for r in records] == [
        "claude-haiku-5-5",
        "claude-opus-5-5",
    ]
    assert [r["ai"]["proxy"]["meta"]["request_model"] for r in records] == ["gpt-5-nano", "gpt-4.1"]


def test_the_upstream_gets_the_gateway_key_never_the_client_key(gateway, simulator):
    gateway.client().messages.create(**ask("hi"))
    headers = simulator.recorder.headers[-1]
    assert headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert CLIENT_KEY not in json.dumps(headers)


def test_concurrent_streams_each_get_their_own_answer_and_one_whole_log_line(gateway):
    async def one(client: anthropic.AsyncAnthropic, i: int) -> str:
        async with client.messages.stream(**ask(f"[sim:reply answer number {i}]")) as stream:
            return "".join([text async for text in stream.text_stream])

    async def run() -> list[str]:
        async with anthropic.AsyncAnthropic(
            base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0
        ) as client:
            return await asyncio.gather(*(one(client, i) for i in range(24)))

    answers = asyncio.run(run())
    assert answers == [f"answer number {i}" for i in range(24)]
    records = gateway.records()
    assert len(records) == 24
    assert len({r["request"]["id"] for r in records}) == 24


# --------------------------------------------------------------------------- the log record


def test_log_record_has_kongs_shape_and_no_key(gateway):
    gateway.client().messages.create(**ask("hi"))
    with gateway.client().messages.stream(**ask("hi")) as stream:
        stream.get_final_message()
    records = gateway.records()
    raw = gateway.log_path.read_text()
    assert CLIENT_KEY not in raw and UPSTREAM_KEY not in raw
    kong = json.loads(KONG.read_text().splitlines()[1])
    for record in records:
        assert set(kong) - set(record) <= {"tries"} or "tries" in record
        assert set(kong["ai"]["proxy"]["meta"]) == set(record["ai"]["proxy"]["meta"])
        assert set(kong["ai"]["proxy"]["usage"]) == set(record["ai"]["proxy"]["usage"])
        assert isinstance(record["upstream_status"], str)
        assert record["request"]["headers"]["x-api-key"] == "REDACTED"
        assert record["request"]["headers"]["authorization"] == "REDACTED"
        assert record["claude_gw"]["v"] == 1
        assert record["ai"]["proxy"]["meta"]["provider_name"] == "openai"


# --------------------------------------------------------------------------- errors


def anthropic_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["type"] == "error", body
    assert set(body["error"]) == {"type", "message"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("request_kwargs", "status", "error_type", "starts_with"),
    [
        pytest.param(
            {"content": b"{not json"},
            400,
            "invalid_request_error",
            "the request body is not valid JSON",
            id="malformed_json",
        ),
        pytest.param(
            {"content": b"[1, 2]"},
            400,
            "invalid_request_error",
            "the request body must be a JSON object",
            id="json_not_an_object",
        ),
        pytest.param(
            {"json": {"model": "gpt-5-mini", "max_tokens": 10}},
            400,
            "invalid_request_error",
            "",
            id="missing_messages",
        ),
        pytest.param(
            {"json": ask("x" * 5000)},
            400,
            "invalid_request_error",
            "prompt is too long",
            id="body_over_the_limit",
        ),
    ],
)
def test_bad_requests_get_a_400_in_the_anthropic_shape(
    tmp_path, fake_openai, request_kwargs, status, error_type, starts_with
):
    gw = start_gateway(tmp_path, fake_openai, max_body_bytes=4096)
    response = httpx.post(f"{gw.url}/v1/messages", timeout=10, **request_kwargs)
    assert response.status_code == status
    error = anthropic_error(response)
    assert error["type"] == error_type and error["message"].startswith(starts_with)
    (record,) = gw.records()
    assert record["source"] == "kong" and record["upstream_status"] == ""
    assert record["claude_gw"]["error_type"] == error_type


def test_unknown_path_is_a_404_and_wrong_method_a_405(gateway):
    missing = httpx.post(f"{gateway.url}/v1/complete", json={}, timeout=10)
    assert missing.status_code == 404 and anthropic_error(missing)["type"] == "not_found_error"
    wrong = httpx.get(f"{gateway.url}/v1/messages", timeout=10)
    assert wrong.status_code == 405
    assert len(gateway.records()) == 2


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize(
    ("directive", "status", "error_type", "message_part"),
    [
        pytest.param("[sim:error 429]", 429, "rate_limit_error", "answered 429", id="rate_limit"),
        pytest.param("[sim:error 500]", 500, "api_error", "answered 500", id="server_error"),
        pytest.param(
            "[sim:error context_length]",
            400,
            "invalid_request_error",
            "prompt is too long",
            id="context_length",
        ),
    ],
)
def test_upstream_errors_before_the_first_byte_are_http_errors(
    gateway, directive, status, error_type, message_part, stream
):
    response = httpx.post(
        f"{gateway.url}/v1/messages", json=ask(directive, stream=stream), timeout=10
    )
    assert response.status_code == status
    error = anthropic_error(response)
    assert error["type"] == error_type and message_part in error["message"]
    if status == 429:
        assert response.headers["retry-after"]
    if status != 400:
        assert "127.0.0.1" in error["message"]  # names the upstream
    (record,) = gateway.records()
    assert record["upstream_status"] == (str(status) if status != 400 else "400")
    assert record["response"]["status"] == status


def test_unreachable_upstream_is_a_502_naming_it(tmp_path):
    gw = start_gateway(tmp_path, "http://127.0.0.1:9/v1")  # port 9 (discard): nothing listens
    response = httpx.post(f"{gw.url}/v1/messages", json=ask("hi"), timeout=10)
    assert response.status_code == 502
    assert (
        "cannot reach upstream openai at http://127.0.0.1:9/v1"
        in anthropic_error(response)["message"]
    )
    (record,) = gw.records()
    assert record["claude_gw"]["error_type"] == "api_error"


def test_upstream_timeout_is_a_504(tmp_path, fake_openai):
    gw = start_gateway(tmp_path, fake_openai, read_timeout=0.5)
    response = httpx.post(f"{gw.url}/v1/messages", json=ask("[sim:stall 3]"), timeout=10)
    assert response.status_code == 504
    assert anthropic_error(response)["type"] == "timeout_error"
    gw.records()


# --------------------------------------------------------------------------- stream behaviour


def sse_events(response: httpx.Response) -> list[tuple[str | None, dict[str, Any]]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def test_a_silent_upstream_gets_pings_so_the_cli_does_not_abort(gateway):
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        json=ask("[sim:stall 1.5] hi", stream=True),
        timeout=10,
    ) as response:
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[1] == "ping"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)


def test_the_overhead_header_of_a_stream_is_the_gateway_time_the_record_logs(gateway):
    # The upstream stalls 0.6 s after its headers; the first ping (0.3 s) sends the headers. That
    # wait is the upstream's, as in the record, so the header leaves it out.
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        json=ask("[sim:stall 0.6] hi", stream=True),
        timeout=10,
    ) as response:
        header = float(response.headers[OVERHEAD_HEADER])
        events = sse_events(response)
    assert [name for name, _ in events][:2] == ["message_start", "ping"]
    (record,) = gateway.records()
    logged = record["claude_gw"]["gateway_overhead_ms"]
    assert header <= logged + 0.01  # the record adds the time after the upstream's last event
    assert logged - header < 20
    assert header < 150  # 300 ms and more when the header counted the stall as the gateway's


def test_a_stream_cut_by_the_upstream_ends_with_an_error_event(gateway):
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        json=ask("[sim:cut] hello there", stream=True),
        timeout=10,
    ) as response:
        assert response.status_code == 200
        events = sse_events(response)
    assert events[-1][0] == "error"
    assert "closed the stream" in events[-1][1]["error"]["message"]
    (record,) = gateway.records()
    assert record["claude_gw"]["error_type"] == "api_error"


def test_client_disconnect_mid_stream_cancels_the_upstream_and_is_logged(tmp_path):
    from claude_gw.simulated import asgi_app
    from claude_gw.testing import StrictSimulator as Simulator

    slow = Simulator(time_scale=1.0)
    with ServerThread(asgi_app(slow)) as upstream_server:
        gw = start_gateway(tmp_path, f"{upstream_server.base_url}/v1", ping_interval=0.2)
        with httpx.stream(
            "POST", f"{gw.url}/v1/messages", json=ask("[sim:stall 5] hi", stream=True), timeout=10
        ) as response:
            first = next(response.iter_lines())
            assert first == "event: message_start"
        wait_until(lambda: slow.stats.streams_cancelled >= 1, 10, "the stream's cancellation")
        assert slow.stats.streams_cancelled == 1
        (record,) = gw.records()
    assert record["claude_gw"]["error_type"] == "client_disconnected"
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"


# --------------------------------------------------------------------------- backends, routing


def test_backend_options_reach_the_upstream_like_azure_openai_needs_them(tmp_path):
    """Azure OpenAI: a deployment URL, `api-version` in the query, the key in `api-key`."""
    from claude_gw.simulated import asgi_app
    from claude_gw.testing import StrictSimulator as Simulator

    seen: list[dict[str, Any]] = []
    inner = asgi_app(Simulator(time_scale=0.0))

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            seen.append(
                {
                    "path": scope["path"],
                    "query": scope["query_string"].decode(),
                    "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                }
            )
        await inner(scope, receive, send)

    with ServerThread(recording) as upstream:
        gw = start_gateway(
            tmp_path,
            f"{upstream.base_url}/openai/deployments/gpt-5-mini",
            provider_name="azure",
            auth_header="api-key",
            upstream_query=(("api-version", "2024-10-21"),),
            upstream_headers=(("X-Team", "platform"),),
        )
        assert gw.client().messages.create(**ask("hi")).content
        (record,) = gw.records()
    (request,) = seen
    assert request["path"] == "/openai/deployments/gpt-5-mini/chat/completions"
    assert request["query"] == "api-version=2024-10-21"
    assert request["headers"]["api-key"] == UPSTREAM_KEY
    assert "authorization" not in request["headers"]
    assert request["headers"]["x-team"] == "platform"
    assert record["ai"]["proxy"]["meta"]["provider_name"] == "azure"
    assert (
        record["upstream_uri"]
        == "/openai/deployments/gpt-5-mini/chat/completions?api-version=2024-10-21"
    )


def test_each_record_names_the_routing_rule_that_chose_its_model(tmp_path, fake_openai, simulator):
    gw = start_gateway(
        tmp_path,
        fake_openai,
        routing=Routing(
            subagent_model="gpt-5-nano", long_context_model="gpt-4.1", long_context_tokens=500
        ),
    )
    client = gw.client()
    client.messages.create(**ask("hi"))
    client.messages.create(
        **ask("hi"), extra_headers={"x-claude-code-agent-id": "0123456789abcdef"}
    )
    client.messages.create(**ask("long " * 2000))
    assert [body["model"] for body in simulator.recorder.bodies] == [
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
    ]
    rules = [r["claude_gw"]["route_rule"] for r in gw.records()]
    assert rules == ["client", "subagent", "long_context"]


def test_a_bug_in_the_record_builder_stops_only_its_own_line(tmp_path, fake_openai, caplog):
    def build(exchange, context):
        if exchange.client_model == "break-the-builder":
            raise ValueError("a bug in the record builder")
        return build_record(exchange, context)

    gateway = start_gateway(tmp_path, fake_openai, record_builder=build)
    client = gateway.client()
    broken = client.messages.create(**ask("first", model="break-the-builder"))
    fine = client.messages.create(**ask("second"))
    assert broken.content and fine.content  # the answers do not depend on the log
    records = gateway.records()
    assert [r["ai"]["proxy"]["meta"]["request_model"] for r in records] == ["gpt-5-mini"]
    assert "could not build the log record" in caplog.text
