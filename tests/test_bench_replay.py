"""The replay benchmark (bench/bench_replay.py) runs end to end on a small N and reports every
field: the fake upstream in its own process, every request answered and recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest

from bench.bench_replay import Result, main, make_requests, upstream_process

N = 50
FIELDS = set(Result.__dataclass_fields__) | {
    "date",
    "machine",
    "load_before",
    "runner",
    "output_file",
    "pinned",
    "runs",
}


@pytest.mark.parametrize(
    ("options", "runner"),
    [
        pytest.param([], "areplay", id="areplay"),
        pytest.param(["--no-output"], "areplay", id="areplay_without_result_file"),
        *(
            pytest.param(["--plain", client], f"plain {client} (baseline)", id=f"plain_{client}")
            for client in ("aiohttp", "httpx", "openai", "openai-aiohttp")
        ),
        pytest.param(["--no-pin"], "areplay", id="areplay_unpinned"),
    ],
)
def test_benchmark_sends_every_request_and_reports_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], runner: str
) -> None:
    out = tmp_path / "result.json"
    args = ["--requests", str(N), "--concurrency", "8", "--repeat", "2", "--out", str(out)]
    code = main([*args, *options])
    doc = orjson.loads(out.read_bytes())
    assert code == 0
    assert FIELDS <= set(doc)
    assert doc["runner"] == runner
    assert (doc["requests"], doc["upstream_calls"], doc["ok_records"]) == (N, N, N)
    assert doc["error_records"] == 0
    assert doc["ideal_rps"] == pytest.approx(8 / 0.020)
    assert doc["ratio"] == pytest.approx(doc["throughput_rps"] / doc["ideal_rps"], rel=0.01)
    assert doc["runner_cpu_s"] > 0 and doc["upstream_cpu_s"] >= 0
    assert doc["verdict"] in ("PASS", "FAIL")
    assert len(doc["runs"]) == 2 and doc["throughput_rps"] == min(
        run["throughput_rps"] for run in doc["runs"]
    )  # of two runs, the report is the slower one
    printed = capsys.readouterr().out
    assert "| throughput / ideal |" in printed and doc["verdict"] in printed


def test_make_requests_gives_distinct_bodies_and_ids() -> None:
    requests = make_requests(20)
    assert len({r.key for r in requests}) == 20
    assert len({r.source_id for r in requests}) == 20


def test_fake_upstream_answers_a_chat_completion_after_its_delay() -> None:
    async def post(url: str) -> tuple[int, dict[str, object], float]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            started = asyncio.get_running_loop().time()
            response = await client.post(url, json={"model": "m", "messages": []})
            return (
                response.status_code,
                response.json(),
                asyncio.get_running_loop().time() - started,
            )

    with upstream_process(0.05) as upstream:
        status, doc, seconds = asyncio.run(post(f"{upstream.base_url}/v1/chat/completions"))
        assert upstream.calls() == 1
    assert status == 200
    assert doc["object"] == "chat.completion" and "usage" in doc
    assert seconds >= 0.05
