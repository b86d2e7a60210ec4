"""The gateway benchmark's machinery (bench/gateway.py) on a tiny run, and its fake upstream
(bench/fake_openai.py, a TEST DOUBLE of OpenAI's Chat Completions) read by the official
`openai` SDK. LiteLLM is never installed here (`--no-litellm`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from openai import AsyncOpenAI
from openai.types import CompletionUsage

from bench import fake_openai
from bench.gateway import main
from bench.gateway_load import Run, Sample, percentile
from bench.gateway_procs import Service, start_fake_upstream


@pytest.fixture
def upstream() -> Iterator[Service]:
    service = start_fake_upstream(core=None, chunks=5)
    try:
        yield service
    finally:
        service.stop(5)


def test_quick_run_measures_every_cell_and_loses_no_log_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gateway.json"
    options = ["--quick", "--no-litellm", "--no-pin", "--concurrency", "1", "4"]
    code = main([*options, "--duration", "0.2", "--hold-streams", "6", "--out", str(out)])
    doc = orjson.loads(out.read_bytes())
    assert code == 0
    assert sorted(doc["cells"]) == [
        "non-streaming/1",
        "non-streaming/4",
        "streaming/1",
        "streaming/4",
    ]
    for key, cell in doc["cells"].items():
        for name in ("direct (floor)", "claude-gw"):
            result = cell[name]
            assert result["requests"] > 0 and result["errors"] == 0, (key, name)
            assert result["p99_ms"] >= result["p50_ms"] > 0
            streamed = cell["mode"] == "streaming"
            assert (result["first_event_p50_ms"] is not None) == streamed
        assert cell["claude-gw"]["cpu_ms_per_request"] > 0
        assert cell["claude-gw"]["peak_rss_mb"] > 10
    hold = doc["hold"]["claude-gw"]
    assert (hold["requests"], hold["errors"], hold["open_streams_max"]) == (6, 0, 6)
    log = doc["claude_gw_log"]
    assert log["messages"] == log["status_200"] == doc["sent"]["claude-gw"]
    assert doc["upstream_stats"]["chat"] >= doc["sent"]["claude-gw"] + doc["sent"]["direct (floor)"]
    verdicts = {t["target"]: t["verdict"] for t in doc["targets"]}
    assert len(verdicts) == 8 and set(verdicts.values()) <= {"PASS", "FAIL", "n/a"}
    assert [v for k, v in verdicts.items() if "LiteLLM" in k] == ["n/a", "n/a"]
    printed = capsys.readouterr().out
    assert "| concurrency | contender | req/s |" in printed and "none lost" in printed


def test_fake_upstream_stream_is_read_by_the_openai_sdk_with_usage_details(
    upstream: Service,
) -> None:
    async def read() -> tuple[str, CompletionUsage | None]:
        async with AsyncOpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test") as client:
            stream = await client.chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            text, usage = "", None
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                if chunk.usage is not None:
                    usage = chunk.usage
            return text, usage

    text, usage = asyncio.run(read())
    assert text == fake_openai.TEXT
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 11264
    assert usage.completion_tokens_details.reasoning_tokens == 64


def test_fake_upstream_answers_one_shot_and_counts_and_can_be_reconfigured(
    upstream: Service,
) -> None:
    async def ask() -> str | None:
        async with AsyncOpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test") as client:
            answer = await client.chat.completions.create(
                model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}]
            )
            return answer.choices[0].message.content

    assert asyncio.run(ask()) == fake_openai.TEXT
    changed = httpx.post(f"{upstream.url}/config", json={"chunks": 2}, timeout=5).json()
    assert changed == {"delay": 0.0, "chunks": 2, "chunk_interval": 0.0}
    body = {"model": "m", "messages": [], "stream": True}
    streamed = httpx.post(f"{upstream.url}/v1/chat/completions", json=body, timeout=5).text
    assert streamed.count("data: ") == 5  # role, 2 content chunks, finish, [DONE]: no usage asked
    assert streamed.endswith("data: [DONE]\n\n")
    stats = httpx.get(f"{upstream.url}/stats", timeout=5).json()
    assert (stats["chat"], stats["stream"], stats["non_stream"]) == (2, 1, 1)
    assert httpx.get(f"{upstream.url}/nope", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(1, [fake_openai.TEXT], id="one_part"),
        pytest.param(3, None, id="words_kept_whole"),
        pytest.param(200, None, id="more_parts_than_words"),
    ],
)
def test_split_text_pieces_join_back_to_the_text(parts: int, expected: list[str] | None) -> None:
    pieces = fake_openai.split_text(fake_openai.TEXT, parts)
    assert len(pieces) == parts
    assert "".join(pieces) == fake_openai.TEXT
    if expected is not None:
        assert pieces == expected


def test_open_streams_counts_overlaps_between_first_event_and_end() -> None:
    run = Run(wall=1.0)
    run.samples = [
        Sample(start=0.0, latency=1.0, first_event=0.1, ok=True),
        Sample(start=0.5, latency=1.0, first_event=0.1, ok=True),  # overlaps the first
        Sample(start=2.0, latency=1.0, first_event=0.1, ok=True),  # alone
        Sample(start=0.0, latency=3.0, first_event=None, ok=False),  # never streamed
    ]
    assert run.open_streams_max() == 2
    assert run.errors == 1


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.99) == 5.0


def test_the_baseline_table_gives_this_trees_figures_over_the_baselines() -> None:
    from bench.gateway_report import BASELINE, FLOOR, GATEWAY, baseline_table

    def figures(rps: float, cpu: float, p50: float, p99: float) -> dict[str, float]:
        return {"rps": rps, "cpu_ms_per_request": cpu, "p50_ms": p50, "p99_ms": p99}

    cell = {
        "mode": "streaming",
        "concurrency": 32,
        FLOOR: figures(8000, 0.05, 1.0, 2.0),
        GATEWAY: figures(950, 1.05, 3.0, 9.0),
        BASELINE: figures(1000, 1.00, 2.5, 10.0),
    }
    rows = baseline_table({"cells": {"streaming/32": cell}}).splitlines()
    # 950/1000, 1.05/1.00, 3.0/2.5, 9/10; added p50: 3.0 - 1.0 and 2.5 - 1.0
    assert rows[2] == "| streaming | 32 | 0.950 | 1.050 | 1.200 | 0.900 | 2.00 / 1.50 |"
