"""The runner against fake upstreams on loopback: limits, retries, error rows, resuming,
the cache."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from claude_gw.logs.read import read_logs
from claude_gw.replay import ReplayRequest, RetryPolicy, Target, areplay, replay
from claude_gw.simulated import serve_simulated
from claude_gw.testing import StrictSimulator
from tests.replay.fakes import ALWAYS_FAIL, FakeChat
from tests.servers import ServerThread

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=5.0, timeout=10.0)


def ask(source_id: str, text: str | None = None) -> ReplayRequest:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text or f"question {source_id}"}],
    }
    return ReplayRequest(source_id, body)


def chat_target(url: str, name: str = "fake", **kwargs) -> Target:
    return Target(
        name, kind="chat", base_url=f"{url}/v1", model="gpt-4.1", api_key_env="", **kwargs
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_in_flight_requests_never_exceed_the_concurrency_limit():
    fake = FakeChat(delay=0.05)
    with ServerThread(fake) as server:
        results = replay(
            [ask(str(i)) for i in range(8)],
            [chat_target(server.base_url)],
            concurrency=2,
            policy=FAST,
        )
    assert len(results) == 8 and fake.calls == 8
    assert fake.max_in_flight == 2


def test_retry_after_is_honoured_before_the_second_try():
    fake = FakeChat(failures=1, status=429, retry_after="0.3")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with ServerThread(fake) as server:
        results = replay([ask("a")], [chat_target(server.base_url)], policy=FAST, sleep=sleep)
    assert waits == [0.3]
    assert results[0]["replay"]["attempts"] == 2 and results[0]["response"]["status"] == 200


def test_retry_after_really_delays_the_next_try():
    fake = FakeChat(failures=1, status=429, retry_after="0.4")
    with ServerThread(fake) as server:
        start = time.monotonic()
        results = replay([ask("a")], [chat_target(server.base_url)], policy=FAST)
        elapsed = time.monotonic() - start
    assert results[0]["response"]["status"] == 200 and elapsed >= 0.4


@pytest.mark.parametrize(
    ("status", "attempts"),
    [
        pytest.param(500, 3, id="server_error_is_retried_until_the_attempts_run_out"),
        pytest.param(503, 3, id="overloaded_is_retried"),
        pytest.param(400, 1, id="bad_request_is_not_retried"),
        pytest.param(404, 1, id="not_found_is_not_retried"),
    ],
)
def test_which_failures_are_retried(status, attempts):
    fake = FakeChat(failures=10, status=status)
    with ServerThread(fake) as server:
        results = replay([ask("a")], [chat_target(server.base_url)], policy=FAST)
    assert fake.calls == attempts
    assert results[0]["replay"]["attempts"] == attempts
    assert results[0]["response"]["status"] >= 400 and results[0]["claude_gw"]["error_type"]


def test_a_target_that_always_fails_gives_error_rows_while_the_others_finish(tmp_path):
    fake = FakeChat()
    with ServerThread(fake) as server:
        good = chat_target(server.base_url, "good")
        dead = Target("dead", kind="chat", base_url="http://127.0.0.1:9/v1", api_key_env="")
        results = replay(
            [ask(str(i)) for i in range(3)],
            [good, dead],
            policy=FAST,
            output=str(tmp_path / "out.json"),
        )
    by_target = Counter((r["replay"]["target"], r["response"]["status"] == 200) for r in results)
    assert by_target == {("good", True): 3, ("dead", False): 3}
    assert len(lines(tmp_path / "out.json")) == 6


def test_a_request_that_always_fails_gives_one_error_row():
    fake = FakeChat()
    with ServerThread(fake) as server:
        results = replay(
            [ask("ok"), ask("bad", ALWAYS_FAIL)], [chat_target(server.base_url)], policy=FAST
        )
    status = {r["replay"]["source_id"]: r["response"]["status"] for r in results}
    assert status["ok"] == 200 and status["bad"] >= 500


def test_a_missing_key_of_a_remote_target_gives_error_rows_without_sending():
    # The key is looked up before anything is sent: no request leaves for the .invalid host.
    target = Target(
        "keyed",
        kind="chat",
        base_url="https://replay-target.invalid/v1",
        api_key_env="REPLAY_TEST_KEY",
    )
    results = replay([ask("a")], [target], policy=FAST, environ={})
    assert results[0]["response"]["status"] >= 400
    assert "REPLAY_TEST_KEY is not set" in results[0]["claude_gw"]["error_message"]


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_a_loopback_target_needs_no_key_whatever_its_kind(kind):
    # Each kind's default key variable (OPENAI_API_KEY, ANTHROPIC_API_KEY) is unset here; the
    # strict fake serves the Anthropic API too.
    with serve_simulated(StrictSimulator()) as base_url:
        target = Target("local", kind=kind, base_url=base_url, model="gpt-5-nano")
        (record,) = replay([ask("a")], [target], policy=FAST, environ={})
    assert record["response"]["status"] == 200, record["claude_gw"]["error_message"]
    assert record["ai"]["proxy"]["meta"]["response_model"] == "gpt-5-nano-simulated"


def test_a_loopback_target_gets_its_key_when_the_variable_is_set():
    fake = FakeChat()
    with ServerThread(fake) as server:
        target = Target(
            "keyed", kind="chat", base_url=f"{server.base_url}/v1", api_key_env="REPLAY_TEST_KEY"
        )
        replay([ask("a")], [target], policy=FAST, environ={"REPLAY_TEST_KEY": "sk-local-0123"})
    assert fake.authorizations == ["Bearer sk-local-0123"]


def test_the_key_from_environ_is_sent_as_a_bearer_token_and_never_logged(tmp_path):
    fake = FakeChat()
    with ServerThread(fake) as server:
        target = Target(
            "keyed", kind="chat", base_url=f"{server.base_url}/v1", api_key_env="REPLAY_TEST_KEY"
        )
        out = tmp_path / "out.json"
        replay(
            [ask("a")],
            [target],
            policy=FAST,
            environ={"REPLAY_TEST_KEY": "sk-secret-123456"},
            output=str(out),
        )
    assert fake.calls == 1 and "sk-secret-123456" not in out.read_text()


def test_a_run_cancelled_halfway_then_rerun_has_no_duplicates_and_no_losses(tmp_path):
    fake = FakeChat(delay=0.02)
    out = tmp_path / "out.json"
    requests = [ask(str(i)) for i in range(10)]

    async def cancelled_run(url: str) -> None:
        done = asyncio.Event()
        seen = []

        def on_result(record: dict[str, Any]) -> None:
            seen.append(record)
            if len(seen) == 4:
                done.set()

        task = asyncio.create_task(
            areplay(
                requests,
                [chat_target(url)],
                output=str(out),
                concurrency=2,
                policy=FAST,
                on_result=on_result,
            )
        )
        await asyncio.wait_for(done.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with ServerThread(fake) as server:
        asyncio.run(cancelled_run(server.base_url))
        first = len(lines(out))
        replay(requests, [chat_target(server.base_url)], output=str(out), policy=FAST)
    ids = Counter(r["replay"]["source_id"] for r in lines(out))
    assert 4 <= first < 10
    assert ids == {str(i): 1 for i in range(10)}


def test_a_rerun_of_a_finished_run_sends_nothing(tmp_path):
    fake = FakeChat()
    out = str(tmp_path / "out.json")
    with ServerThread(fake) as server:
        replay([ask("a"), ask("b")], [chat_target(server.base_url)], output=out, policy=FAST)
        again = replay(
            [ask("a"), ask("b")], [chat_target(server.base_url)], output=out, policy=FAST
        )
    assert fake.calls == 2 and again == []


def test_the_cache_prevents_sending_the_same_request_twice(tmp_path):
    fake = FakeChat()
    with ServerThread(fake) as server:
        target = chat_target(server.base_url)
        first = replay([ask("a"), ask("b")], [target], cache=str(tmp_path / "cache"), policy=FAST)
        renamed = chat_target(server.base_url, "same-model-other-name")
        second = replay([ask("a"), ask("b")], [renamed], cache=str(tmp_path / "cache"), policy=FAST)
    assert fake.calls == 2
    assert [r["replay"]["cached"] for r in first] == [False, False]
    assert [r["replay"]["cached"] for r in second] == [True, True]
    assert {r["ai"]["proxy"]["payload"]["response"] for r in second} == {
        r["ai"]["proxy"]["payload"]["response"] for r in first
    }


def test_errors_are_not_cached(tmp_path):
    fake = FakeChat(failures=1, status=400)
    with ServerThread(fake) as server:
        target = chat_target(server.base_url)
        replay([ask("a")], [target], cache=str(tmp_path / "cache"), policy=FAST)
        second = replay([ask("a")], [target], cache=str(tmp_path / "cache"), policy=FAST)
    assert fake.calls == 2 and second[0]["response"]["status"] == 200


def test_target_params_are_added_to_the_upstream_body():
    fake = FakeChat()
    with ServerThread(fake) as server:
        target = chat_target(server.base_url, params={"reasoning_effort": "low", "seed": 7})
        replay([ask("a")], [target], policy=FAST)
    assert fake.bodies[0]["reasoning_effort"] == "low" and fake.bodies[0]["seed"] == 7
    assert "stream" not in fake.bodies[0]


def test_rpm_limit_spaces_the_starts():
    fake = FakeChat()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with ServerThread(fake) as server:
        replay(
            [ask(str(i)) for i in range(3)],
            [chat_target(server.base_url)],
            rpm=60,
            concurrency=1,
            policy=FAST,
            sleep=sleep,
        )
    # the sleep is a no-op, so the clock hardly moves: the starts are due 1 s and 2 s from now
    assert len(waits) == 2 and 0.9 < waits[0] <= 1.0 and 1.9 < waits[1] <= 2.0


def test_results_load_with_read_logs_in_our_shape(tmp_path):
    fake = FakeChat()
    out = tmp_path / "out.json"
    with ServerThread(fake) as server:
        replay([ask("a")], [chat_target(server.base_url)], output=str(out), policy=FAST)
    frame = read_logs(out, payloads=True)
    row = frame.row(0, named=True)
    assert row["shape"] == "claude_gw-1" and row["status"] == 200
    assert row["request_model"] == "gpt-4.1" and row["response_model"] == "gpt-4.1-fake"
    assert row["requested_model"] == "claude-sonnet-4-5"
    assert row["prompt_tokens"] == 11 and row["completion_tokens"] == 3
    assert json.loads(row["request_payload"])["messages"][0]["content"] == "question a"
    assert json.loads(row["response_payload"])["content"][0]["text"] == "fake answer"


def test_replay_works_inside_a_running_event_loop():
    fake = FakeChat()

    async def notebook_cell(url: str) -> list[dict[str, Any]]:
        return replay([ask("a")], [chat_target(url)], policy=FAST)

    with ServerThread(fake) as server:
        results = asyncio.run(notebook_cell(server.base_url))
    assert results[0]["response"]["status"] == 200


def test_progress_bar_counts_every_result_with_the_errors_and_cost_so_far(capsys):
    fake = FakeChat()
    with ServerThread(fake) as server:
        replay(
            [ask("a"), ask("b"), ask("c", ALWAYS_FAIL)],
            [chat_target(server.base_url)],
            policy=RetryPolicy(attempts=1, timeout=10.0),
            progress=True,
        )
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()[-1]
    # two answers of gpt-4.1 (11 prompt + 3 completion tokens each: $2/M in, $8/M out)
    assert "3/3" in bar and "errors=1" in bar and "cost=$0.0001" in bar


def test_waiting_for_a_free_slot_is_not_counted_as_latency():
    fake = FakeChat(delay=0.2)
    with ServerThread(fake) as server:
        start = time.monotonic()
        results = replay(
            [ask("a"), ask("b")], [chat_target(server.base_url)], concurrency=1, policy=FAST
        )
        elapsed = time.monotonic() - start
    assert elapsed >= 0.4  # the second request waited for the first one's slot
    for record in results:
        assert 200 <= record["latencies"]["request"] < 350


def test_answers_of_the_simulated_backend_are_logged_as_simulated():
    with serve_simulated() as base_url:
        target = Target("nano", kind="chat", base_url=base_url, model="gpt-5-nano")
        (record,) = replay([ask("a")], [target], policy=FAST, environ={"OPENAI_API_KEY": "x"})
    meta = record["ai"]["proxy"]["meta"]
    assert meta["provider_name"] == "simulated" and record["claude_gw"]["simulated"] is True
    assert meta["response_model"] == "gpt-5-nano-simulated"
    assert record["claude_gw"]["cost_source"] == "genai-prices"
    assert record["ai"]["proxy"]["usage"]["cost"] > 0


def test_without_keep_nothing_is_returned_and_everything_is_written(tmp_path):
    fake = FakeChat()
    out = tmp_path / "out.json"
    seen: list[dict[str, Any]] = []
    with ServerThread(fake) as server:
        results = replay(
            [ask(str(i)) for i in range(5)],
            [chat_target(server.base_url)],
            policy=FAST,
            output=str(out),
            keep=False,
            on_result=seen.append,
        )
    assert results == []
    assert sorted(r["replay"]["source_id"] for r in seen) == [str(i) for i in range(5)]
    assert [r["replay"]["source_id"] for r in lines(out)] == [
        r["replay"]["source_id"] for r in seen
    ]


def test_an_unwritable_result_file_stops_the_run_with_the_error(tmp_path):
    fake = FakeChat()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with ServerThread(fake) as server, pytest.raises(OSError):
        replay(
            [ask(str(i)) for i in range(5)],
            [chat_target(server.base_url)],
            policy=FAST,
            output=str(blocker / "out.json"),
        )


def test_a_try_without_an_answer_in_time_is_a_timeout_and_is_retried():
    fake = FakeChat(delay=1.0)
    policy = RetryPolicy(attempts=2, base_delay=0.01, timeout=0.2)
    with ServerThread(fake) as server:
        start = time.monotonic()
        (record,) = replay([ask("a")], [chat_target(server.base_url)], policy=policy)
        elapsed = time.monotonic() - start
    assert record["response"]["status"] == 504 and record["replay"]["attempts"] == 2
    assert record["claude_gw"]["error_type"] == "timeout_error"
    assert "no answer from upstream openai at" in record["claude_gw"]["error_message"]
    assert "in 0.2s" in record["claude_gw"]["error_message"]
    assert fake.calls == 2 and elapsed < 1.0  # neither try waited for the 1 s answer
