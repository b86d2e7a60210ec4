"""`claude-gw logs summary|convert` on a mix of Kong and claude_gw files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claude_gw.config import Settings
from claude_gw.logs.read import read_logs, read_parquet
from claude_gw.server.runner import BackgroundGateway

KONG = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "kong" / "claude.json"


def run_logs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claude_gw", "logs", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={"PATH": os.environ["PATH"]},
    )


@pytest.fixture(scope="module")
def mixed_logs(tmp_path_factory) -> Path:
    """A folder with: Kong's fixture gzipped, a claude_gw log of 5 gpt-5-mini calls (one an
    upstream 429), and a file with two bad lines around a good one."""
    folder = tmp_path_factory.mktemp("logs")
    (folder / "kong.json.gz").write_bytes(gzip.compress(KONG.read_bytes()))
    settings = Settings(upstream_url="simulated", log_path=folder / "ours.json", port=0)
    with BackgroundGateway(settings) as gateway:
        for prompt in [
            "[sim:reply a]",
            "[sim:reply b]",
            "[sim:reply c]",
            "[sim:reply d]",
            "[sim:error 429]",
        ]:
            httpx.post(
                f"{gateway.url}/anything/v1/messages",
                timeout=30,
                json={
                    "model": "gpt-5-mini",
                    "max_tokens": 4000,
                    "messages": [{"role": "user", "content": prompt}],
                },
            )
    good = KONG.read_text().splitlines()[0]
    (folder / "mixed.json").write_text(f'not json\n{good}\n{{"cut": ')
    return folder


def test_summary_of_kong_and_claude_gw_files_counts_every_model_call(mixed_logs):
    result = run_logs("summary", "--format", "json", str(mixed_logs), cwd=mixed_logs)
    assert result.returncode == 0, result.stderr
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    # Kong's fixture has 4 gpt-5-mini calls, ours 5, the mixed file 1 more.
    assert rows["gpt-5-mini"]["requests"] == 10
    assert rows["gpt-5-mini"]["error_rate"] == pytest.approx(1 / 10)
    assert rows["gpt-5"]["requests"] == 3 and rows["gpt-4.1"]["requests"] == 4
    assert "21 line(s) read, 19 record(s) loaded, 2 skipped" in result.stderr
    assert "mixed.json:1: not_json" in result.stderr
    assert "mixed.json:3: truncated_line" in result.stderr


def test_summary_table_and_csv_formats(mixed_logs):
    table = run_logs("summary", str(mixed_logs / "kong.json.gz"), cwd=mixed_logs)
    header = table.stdout.splitlines()[0]
    for column in (
        "model",
        "requests",
        "error_rate",
        "p50_latency_ms",
        "p95_latency_ms",
        "p50_ttft_ms",
        "tokens_per_s",
        "cached_tokens",
        "reasoning_share",
        "cost",
    ):
        assert column in header
    csv = run_logs(
        "summary",
        "--by",
        "day",
        "--format",
        "csv",
        str(mixed_logs / "kong.json.gz"),
        cwd=mixed_logs,
    )
    assert csv.stdout.splitlines()[0].startswith("day,requests,error_rate")
    assert csv.stdout.splitlines()[1].startswith("2025-12-10,13,")


def test_convert_writes_parquet_that_reads_back_as_the_same_frame(mixed_logs, tmp_path):
    out = tmp_path / "all.parquet"
    result = run_logs("convert", str(mixed_logs / "*.json*"), "-o", str(out), cwd=mixed_logs)
    assert result.returncode == 0, result.stderr
    assert "wrote 19 records" in result.stderr
    expected = read_logs(str(mixed_logs / "*.json*"))
    assert_frame_equal(read_parquet(out), expected)
    assert read_parquet(out).filter(pl.col("shape") == "claude_gw-1").height == 5


def test_logs_of_a_missing_file_is_one_clear_line(tmp_path):
    result = run_logs("summary", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("claude-gw: logs:") and "Traceback" not in result.stderr
