"""The simulated OpenAI Responses API: the official SDK on a real socket, the fixture's event
shapes, reasoning items across turns, and the gateway's own translators reading the output."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import WebSearchToolParam

from claude_gw.simulated import ModelProfile, asgi_app, simulated_transport
from claude_gw.simulated.common import CUT_AFTER_EVENTS
from claude_gw.testing import RequestRecorder, StrictSimulator
from claude_gw.translate.models import target_for
from claude_gw.translate.responses import (
    anthropic_to_responses,
    decode_reasoning_signature,
    responses_to_anthropic,
)
from claude_gw.translate.responses_stream import ResponsesStreamTranslator
from claude_gw.translate.sse import SSEDecoder
from tests.servers import ServerThread

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
WEATHER_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
STATELESS: dict[str, Any] = {"store": False, "include": ["reasoning.encrypted_content"]}
SUMMARY: dict[str, Any] = {"reasoning": {"effort": "low", "summary": "auto"}}
PARIS_CALL = '[sim:reply Let me check.] [sim:tool get_weather {"city": "Paris"}]'


def sse_events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, JSON data) of every frame of an SSE body."""
    decoder = SSEDecoder()
    frames = decoder.feed(raw) + decoder.flush()
    return [(frame.event, json.loads(frame.data)) for frame in frames]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[StrictSimulator, str]]:
    sim = StrictSimulator(time_scale=0, recorder=RequestRecorder())
    with ServerThread(asgi_app(sim)) as server:
        yield sim, f"{server.base_url}/v1"


@pytest.fixture
def client(served: tuple[StrictSimulator, str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=served[1], api_key="sk-test", max_retries=0, timeout=10) as c:
        yield c


def post(served: tuple[StrictSimulator, str], body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{served[1]}/responses", json=body, timeout=10)


# --------------------------------------------------------------------------- the SDK


def test_a_text_answer_names_the_simulated_model_and_adds_up_its_usage(
    client: openai.OpenAI,
) -> None:
    raw = client.responses.with_raw_response.create(model="gpt-4.1", input="Capital of France?")
    response = raw.parse()
    assert raw.headers["x-simulated"] == "true"
    assert response.model == "gpt-4.1-simulated" and response.status == "completed"
    assert [item.type for item in response.output] == ["message"]
    assert "Capital of France?" in response.output_text
    usage = response.usage
    assert usage and usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_a_reasoning_model_answers_with_a_summarised_reasoning_item_first(
    client: openai.OpenAI,
) -> None:
    response = client.responses.create(
        model="gpt-5-mini", input="Why is the sky blue?", **STATELESS, **SUMMARY
    )
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and message.type == "message"
    assert reasoning.encrypted_content and reasoning.encrypted_content.startswith("gAAAAAB")
    assert reasoning.summary and "Why is the sky blue?" in reasoning.summary[0].text
    usage = response.usage
    assert usage and 0 < usage.output_tokens_details.reasoning_tokens < usage.output_tokens


@pytest.mark.parametrize(
    ("fields", "has_encrypted", "has_summary"),
    [
        pytest.param({}, False, False, id="neither_asked"),
        pytest.param(SUMMARY, False, True, id="summary_only"),
        pytest.param(STATELESS, True, False, id="encrypted_only"),
        pytest.param(
            {**STATELESS, "reasoning": {"effort": "minimal", "summary": "auto"}},
            True,
            False,
            id="minimal_effort_has_nothing_to_summarise",
        ),
    ],
)
def test_the_reasoning_item_carries_only_what_the_request_asked_for(
    client: openai.OpenAI, fields: dict[str, Any], has_encrypted: bool, has_summary: bool
) -> None:
    item = client.responses.create(model="gpt-5-mini", input="hi", **fields).output[0]
    assert item.type == "reasoning"
    assert (item.encrypted_content is not None, bool(item.summary)) == (has_encrypted, has_summary)


def test_the_sdk_stream_accumulates_parallel_function_calls(client: openai.OpenAI) -> None:
    weather, stock = {"city": "Edinburgh", "note": "café ] [x]"}, {"ticker": "AAPL"}
    text = f"[sim:tool get_weather {json.dumps(weather)}] [sim:tool get_stock {json.dumps(stock)}]"
    with client.responses.stream(
        model="gpt-5-mini", input=text, tools=[WEATHER_TOOL], **STATELESS
    ) as stream:
        kinds = [event.type for event in stream]
        response = stream.get_final_response()
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", weather),
        ("get_stock", stock),
    ]
    assert len({c.call_id for c in calls}) == 2
    assert kinds[-1] == "response.completed" and kinds.count("response.output_item.done") == 3


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_web_search_is_a_made_up_labelled_search_with_cited_links(
    client: openai.OpenAI, stream: bool
) -> None:
    ask: dict[str, Any] = {
        "model": "gpt-4.1",
        "input": "Perform a web search for the query: Procopius Secret History",
        "tools": [{"type": "web_search"}],
        "include": ["web_search_call.action.sources"],
    }
    if stream:
        with client.responses.stream(**ask) as events:
            kinds = [event.type for event in events]
            response = events.get_final_response()
        assert "response.web_search_call.searching" in kinds
        assert kinds.count("response.output_text.annotation.added") == 3
    else:
        response = client.responses.create(**ask)
    search, message = response.output
    assert search.type == "web_search_call" and search.status == "completed"
    assert search.action.type == "search" and message.type == "message"
    assert search.action.query == "Procopius Secret History"
    urls = [f"https://simulated-search.example/procopius-secret-history/{n}" for n in (1, 2, 3)]
    assert search.action.sources is not None
    assert [source.url for source in search.action.sources] == urls
    (part,) = message.content
    assert part.type == "output_text"
    assert "made up by the simulator" in part.text
    for note, url in zip(part.annotations, urls, strict=True):
        assert note.type == "url_citation" and note.url == url
        assert part.text[note.start_index : note.end_index] == f"[{note.title}]({url})"
    again = client.responses.create(**ask)
    assert again.output_text == part.text  # deterministic


def test_web_search_lists_no_sources_unless_included_and_keeps_to_allowed_domains(
    client: openai.OpenAI,
) -> None:
    tool: WebSearchToolParam = {
        "type": "web_search",
        "filters": {"allowed_domains": ["docs.example.org"]},
    }
    response = client.responses.create(model="gpt-4.1", input="gateways", tools=[tool])
    search, message = response.output
    assert search.type == "web_search_call" and search.action.type == "search"
    assert message.type == "message" and message.content[0].type == "output_text"
    assert search.action.sources is None
    urls = [note.url for note in message.content[0].annotations if note.type == "url_citation"]
    assert urls and all(url.startswith("https://docs.example.org/") for url in urls)
    none = client.responses.create(
        model="gpt-4.1", input="gateways", tools=[tool], max_tool_calls=0
    )
    assert [item.type for item in none.output] == ["message"]


def first_turn(client: openai.OpenAI) -> Any:
    """A streamed reasoning + text + function call turn, as input items for the next turn."""
    with client.responses.stream(
        model="gpt-5-mini", input=PARIS_CALL, tools=[WEATHER_TOOL], **STATELESS, **SUMMARY
    ) as stream:
        output = stream.get_final_response().output
    items: list[dict[str, Any]] = [{"role": "user", "content": PARIS_CALL}]
    for item in output:
        if item.type == "reasoning":
            encrypted = item.encrypted_content
            items.append(
                {"type": "reasoning", "id": item.id, "summary": [], "encrypted_content": encrypted}
            )
        elif item.type == "message":
            parts = [p.text for p in item.content if p.type == "output_text"]
            text = {"type": "output_text", "text": "".join(parts)}
            items.append({"type": "message", "role": "assistant", "content": [text]})
        elif item.type == "function_call":
            call = {"call_id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append({"type": "function_call", **call})
            items.append({"type": "function_call_output", "call_id": item.call_id, "output": "18C"})
    return items


def test_a_second_turn_carrying_the_reasoning_item_back_reports_the_tool_output(
    served: tuple[StrictSimulator, str], client: openai.OpenAI
) -> None:
    sim = served[0]
    items = first_turn(client)
    before = sim.stats.reasoning_items_received
    reply = client.responses.create(
        model="gpt-5-mini", input=items, tools=[WEATHER_TOOL], **STATELESS
    )
    assert reply.output_text == "Tool get_weather returned: 18C"
    assert sim.stats.reasoning_items_received == before + 1
    assert sim.recorder is not None
    assert sim.recorder.bodies[-1]["input"][1]["type"] == "reasoning"


def test_a_reasoning_item_kept_by_a_stored_response_may_come_back_by_id(
    client: openai.OpenAI,
) -> None:
    first = client.responses.create(model="gpt-5-mini", input="[sim:tool get_weather]")
    reasoning, call = first.output
    assert reasoning.type == "reasoning" and call.type == "function_call"
    items: Any = [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "id": reasoning.id, "summary": []},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "rain"},
    ]
    reply = client.responses.create(model="gpt-5-mini", input=items)
    assert reply.output_text == "Tool get_weather returned: rain"


def forge(items: list[dict[str, Any]], **changes: Any) -> list[dict[str, Any]]:
    """`items` with the reasoning item changed (a key set to None is removed)."""
    out = []
    for item in items:
        if item.get("type") == "reasoning":
            item = {k: v for k, v in {**item, **changes}.items() if v is not None}
        out.append(item)
    return out


@pytest.mark.parametrize(
    ("change", "exception", "code", "message"),
    [
        pytest.param(
            lambda items: forge(items, encrypted_content="gAAAAABforgedforgedforged=="),
            openai.BadRequestError,
            "invalid_encrypted_content",
            "could not be verified",
            id="forged_encrypted_content",
        ),
        pytest.param(
            lambda items: forge(items, id="rs_someone_elses"),
            openai.BadRequestError,
            "invalid_encrypted_content",
            "could not be verified",
            id="content_of_another_item",
        ),
        pytest.param(
            lambda items: forge(items, encrypted_content=None),
            openai.NotFoundError,
            None,
            "Items are not persisted when `store` is set to false",
            id="stateless_item_without_encrypted_content",
        ),
        pytest.param(
            lambda items: items[:2],
            openai.BadRequestError,
            None,
            "provided without its required following item",
            id="reasoning_item_with_nothing_after_it",
        ),
    ],
)
def test_reasoning_items_this_simulator_did_not_issue_are_rejected(
    client: openai.OpenAI,
    change: Any,
    exception: type[openai.APIStatusError],
    code: str | None,
    message: str,
) -> None:
    items = change(first_turn(client))
    with pytest.raises(exception) as caught:
        client.responses.create(model="gpt-5-mini", input=items, **STATELESS)
    assert caught.value.code == code and message in caught.value.message


def test_reasoning_items_from_a_simulator_with_another_seed_do_not_verify(
    client: openai.OpenAI,
) -> None:
    items = first_turn(client)
    with ServerThread(asgi_app(StrictSimulator(time_scale=0, seed=99))) as other:
        with openai.OpenAI(base_url=f"{other.base_url}/v1", api_key="k", max_retries=0) as c:
            with pytest.raises(openai.BadRequestError) as caught:
                c.responses.create(model="gpt-5-mini", input=items, **STATELESS)
    assert caught.value.code == "invalid_encrypted_content"


CALL = {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{}"}
OUTPUT = {"type": "function_call_output", "call_id": "call_a", "output": "sunny"}


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        pytest.param(
            {"model": "gpt-4.1", **SUMMARY},
            "reasoning.effort",
            "unsupported_parameter",
            id="reasoning_for_a_non_reasoning_model",
        ),
        pytest.param({"temperature": 0.2}, "temperature", "unsupported_parameter", id="temp"),
        pytest.param(
            {"reasoning": {"effort": "max"}}, "reasoning.effort", "invalid_value", id="effort"
        ),
        pytest.param(
            {"max_output_tokens": 8}, "max_output_tokens", "integer_below_min_value", id="budget"
        ),
        pytest.param(
            {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
            "tools[0].name",
            "missing_required_parameter",
            id="chat_shaped_tool",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": "x"}, OUTPUT]},
            "input",
            None,
            id="output_without_its_call",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": "x"}, CALL]},
            "input",
            None,
            id="call_without_its_output",
        ),
        pytest.param(
            {"input": [{"type": "tool_result", "content": "x"}]},
            "input[0].type",
            "invalid_value",
            id="unknown_item_type",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
            "input[0].content[0].type",
            "invalid_value",
            id="chat_content_part",
        ),
        pytest.param({"messages": []}, "messages", "unknown_parameter", id="unknown_parameter"),
        pytest.param({"include": ["everything"]}, "include[0]", "invalid_value", id="include"),
        pytest.param({"input": "[sim:dance]"}, "input", None, id="unknown_directive"),
    ],
)
def test_invalid_requests_are_rejected_like_openai_rejects_them(
    served: tuple[StrictSimulator, str], fields: dict[str, Any], param: str, code: str | None
) -> None:
    response = post(served, {"model": "gpt-5-mini", "input": "hello", **fields})
    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["param"], error["code"]) == (param, code)


def test_an_unknown_previous_response_id_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-5-mini", input="hi", previous_response_id="resp_1")
    assert caught.value.code == "previous_response_not_found"


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
def test_error_directives_are_http_errors_before_any_event(
    client: openai.OpenAI,
    kind: str,
    exception: type[openai.APIStatusError],
    status: int,
    code: str | None,
    stream: bool,
) -> None:
    with pytest.raises(exception) as caught:
        client.responses.create(model="gpt-5-mini", input=f"[sim:error {kind}]", stream=stream)
    assert caught.value.status_code == status and caught.value.code == code
    if kind == "429":
        assert caught.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_running_out_of_output_tokens_leaves_the_response_incomplete(
    served: tuple[StrictSimulator, str], stream: bool
) -> None:
    text = "[sim:reply " + "word " * 40 + "]"
    body = {"model": "gpt-4.1", "input": text, "max_output_tokens": 16, "stream": stream}
    raw = post(served, body).content
    if stream:
        name, last = sse_events(raw)[-1]
        assert name == "response.incomplete"
        doc = last["response"]
    else:
        doc = json.loads(raw)
    assert doc["status"] == "incomplete"
    assert doc["incomplete_details"] == {"reason": "max_output_tokens"}
    assert doc["usage"]["output_tokens"] == 16 and doc["output"][0]["status"] == "incomplete"


def test_a_cut_stream_ends_without_a_terminal_event(served: tuple[StrictSimulator, str]) -> None:
    raw = post(served, {"model": "gpt-4.1", "input": "[sim:cut]", "stream": True}).content
    names = [name for name, _ in sse_events(raw)]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert len(names) == CUT_AFTER_EVENTS
    assert not {"response.completed", "response.incomplete"} & set(names)


# --------------------------------------------------------------------------- the fixture's shape


def fixture_events() -> list[tuple[str | None, dict[str, Any]]]:
    return sse_events((WIRE / "openai-responses-stream-tools.sse").read_bytes())


def collapsed(names: list[str | None]) -> list[str | None]:
    """Runs of the same event name as one (the number of deltas differs)."""
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


def test_the_stream_matches_the_recorded_event_sequence_and_shapes(
    served: tuple[StrictSimulator, str],
) -> None:
    request = json.loads((WIRE / "openai-responses-request.json").read_text())
    body = {**request, "input": '[sim:reply Let me check the weather.] '
            '[sim:tool get_weather {"city": "Paris", "unit": "c"}]'}  # fmt: skip
    raw = post(served, body).content
    ours, recorded = sse_events(raw), fixture_events()
    assert collapsed([n for n, _ in ours]) == collapsed([n for n, _ in recorded])
    assert all(name == doc["type"] for name, doc in ours)
    assert [doc["sequence_number"] for _, doc in ours] == list(range(len(ours)))
    shapes = {name: list(doc) for name, doc in recorded}
    assert all(list(doc) == shapes[name] for name, doc in ours)
    for index in (0, -1):  # response.created and response.completed
        assert list(ours[index][1]["response"]) == list(recorded[index][1]["response"])
        assert (
            ours[index][1]["response"]["service_tier"]
            == recorded[index][1]["response"]["service_tier"]
        )
    assert raw.endswith(b"\n\n") and b"[DONE]" not in raw


def test_delta_events_carry_an_obfuscation_pad_unless_turned_off(
    served: tuple[StrictSimulator, str],
) -> None:
    body = {"model": "gpt-4.1", "input": "hi", "stream": True}
    padded = sse_events(post(served, body).content)
    plain = body | {"stream_options": {"include_obfuscation": False}}
    unpadded = sse_events(post(served, plain).content)
    assert all("obfuscation" in doc for name, doc in padded if str(name).endswith(".delta"))
    assert not any("obfuscation" in doc for _, doc in unpadded)


# --------------------------------------------------------------------------- gateway translators


def test_the_gateway_translates_the_non_streaming_response_into_an_anthropic_message(
    served: tuple[StrictSimulator, str],
) -> None:
    body = {"model": "gpt-5-mini", "input": PARIS_CALL, "tools": [WEATHER_TOOL]}
    doc = post(served, {**body, **STATELESS, **SUMMARY}).json()
    message = responses_to_anthropic(doc, message_id="msg_gw")
    thinking, text, tool = message["content"]
    assert (
        thinking["type"] == "thinking"
        and thinking["thinking"] == (doc["output"][0]["summary"][0]["text"])
    )
    assert decode_reasoning_signature(thinking["signature"]) == doc["output"][0]
    assert text == {"type": "text", "text": "Let me check."}
    assert (tool["name"], tool["input"]) == ("get_weather", {"city": "Paris"})
    assert message["stop_reason"] == "tool_use"
    usage = doc["usage"]
    assert message["usage"]["output_tokens"] == usage["output_tokens"]
    assert message["usage"]["input_tokens"] == usage["input_tokens"]


def without_ids(message: Any) -> Any:
    """Blocks, stop reason and usage; ids and signatures differ from request to request."""
    blocks = [
        {k: v for k, v in block.items() if k not in ("id", "signature")}
        for block in message["content"]
    ]
    return blocks, message["stop_reason"], message["usage"]


def test_the_gateway_stream_translator_gives_the_message_the_one_shot_answer_gives(
    served: tuple[StrictSimulator, str],
) -> None:
    body = {"model": "gpt-5-mini", "input": PARIS_CALL, "tools": [WEATHER_TOOL]}
    body |= STATELESS | SUMMARY
    oneshot = responses_to_anthropic(post(served, body).json(), message_id="msg_gw")
    events = [doc for _, doc in sse_events(post(served, {**body, "stream": True}).content)]
    translator = ResponsesStreamTranslator(message_id="msg_gw", model="m")
    produced = [event for doc in events for event in translator.feed(doc)]
    produced += translator.finish()
    assert without_ids(translator.message()) == without_ids(oneshot)
    assert [e["type"] for e in produced][-2:] == ["message_delta", "message_stop"]
    signatures = [e for e in produced if e.get("delta", {}).get("type") == "signature_delta"]
    done_item = events[-1]["response"]["output"][0]  # the full encrypted content, not `.added`'s
    assert decode_reasoning_signature(signatures[0]["delta"]["signature"]) == done_item


def test_the_gateway_carries_the_reasoning_item_into_the_next_turn_and_it_is_accepted(
    served: tuple[StrictSimulator, str],
) -> None:
    """Response -> Anthropic message (thinking signature) -> next Anthropic request -> Responses
    request: the simulator verifies the reasoning item the gateway sent back."""
    sim, target = served[0], target_for("gpt-5-mini")
    tool = {"name": "get_weather", "input_schema": {"type": "object"}}
    ask: Any = {"model": "claude-sonnet-4-6", "max_tokens": 4096, "tools": [tool]}
    first_request: Any = {**ask, "messages": [{"role": "user", "content": PARIS_CALL}]}
    first = post(served, anthropic_to_responses(first_request, target=target)).json()
    reply = responses_to_anthropic(first, message_id="msg_gw")
    call_id = reply["content"][-1]["id"]
    result = {"type": "tool_result", "tool_use_id": call_id, "content": "18C"}
    conversation = [
        *first_request["messages"],
        {"role": "assistant", "content": reply["content"]},
        {"role": "user", "content": [result]},
    ]
    before = sim.stats.reasoning_items_received
    follow_up: Any = {**ask, "messages": conversation}
    second = anthropic_to_responses(follow_up, target=target)
    response = post(served, second)
    assert response.status_code == 200, response.text
    assert sim.stats.reasoning_items_received == before + 1
    assert response.json()["output"][-1]["content"][0]["text"] == "Tool get_weather returned: 18C"


# --------------------------------------------------------------------------- timing and stats


def test_the_stream_is_paced_by_the_model_profile() -> None:
    sim = StrictSimulator(profiles={"*": ModelProfile(latency_s=0, ttft_s=0, tokens_per_s=100)})
    body = {"model": "m", "input": "[sim:reply " + " ".join(["word"] * 60) + "]", "stream": True}
    with ServerThread(asgi_app(sim)) as server:
        url = f"{server.base_url}/v1/responses"
        with httpx.stream("POST", url, json=body, timeout=10) as response:
            arrivals = [time.monotonic() for _ in response.iter_raw()]
    assert len(arrivals) > 30  # one frame per text piece, paced at 100 tokens/s
    assert arrivals[-1] - arrivals[0] > 0.4
    assert sim.stats.streams_completed == 1


def test_stats_record_the_path_and_body_the_client_sent(
    served: tuple[StrictSimulator, str], client: openai.OpenAI
) -> None:
    sim = served[0]
    client.responses.create(model="gpt-4.1", input="recorded?", safety_identifier="u-42")
    assert sim.recorder is not None
    assert sim.recorder.paths[-1] == "/v1/responses"
    assert sim.recorder.bodies[-1]["safety_identifier"] == "u-42"
    assert sim.recorder.headers[-1]["authorization"] == "Bearer sk-test"


def test_the_in_process_transport_answers_the_responses_api_too() -> None:
    async def run() -> httpx.Response:
        transport = simulated_transport(StrictSimulator(time_scale=0))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.invalid/v1") as c:
            body = {"model": "gpt-5-mini", "input": "hi", "stream": True}
            return await c.post("/responses", json=body)

    response = asyncio.run(run())
    assert response.status_code == 200 and response.headers["x-simulated"] == "true"
    assert sse_events(response.content)[-1][0] == "response.completed"
