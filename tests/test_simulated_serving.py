"""`serve_simulated`: the simulated backend (a test double, no real model) on a loopback port,
driven by the official openai SDK over a real socket."""

from __future__ import annotations

import socket
import threading

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from claude_gw.simulated import SIMULATED_SUFFIX, Simulator, serve_simulated

QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say something short."}]


def serving_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "claude-gw-simulated"]


def test_the_openai_sdk_gets_a_chat_answer_with_reasoning_usage_over_the_socket():
    sim = Simulator(time_scale=0.0)
    with serve_simulated(sim) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
            answer = client.chat.completions.create(model="gpt-5-nano", messages=QUESTION)
    assert answer.model == "gpt-5-nano" + SIMULATED_SUFFIX
    assert answer.choices[0].message.content
    assert answer.usage is not None and answer.usage.completion_tokens_details is not None
    reasoning = answer.usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None and 0 < reasoning < answer.usage.completion_tokens
    assert sim.stats.requests == 1  # the simulator passed in is the one that answered


def test_the_openai_sdk_streams_responses_with_reasoning_usage():
    with serve_simulated(Simulator(time_scale=0.0)) as base_url:
        with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
            with client.responses.stream(model="gpt-5-mini", input="Hello there") as stream:
                final = stream.get_final_response()
    assert final.model == "gpt-5-mini" + SIMULATED_SUFFIX
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0
    assert final.output_text


def test_leaving_the_block_stops_the_server_and_frees_the_port():
    with serve_simulated(Simulator(time_scale=0.0)) as base_url:
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        assert httpx.get(f"{base_url}/models", timeout=5).status_code == 200
        assert len(serving_threads()) == 1
    assert serving_threads() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/models", timeout=5)
    with socket.socket() as again:  # nothing holds the port any more
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_a_port_already_taken_is_an_oserror():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(OSError), serve_simulated(port=taken.getsockname()[1]):
            pass  # pragma: no cover - the block is never entered
