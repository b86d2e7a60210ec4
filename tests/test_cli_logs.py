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

from claude_gw.config import Listen, Settings
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
def mixed_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with: Kong's fixture gzipped, a claude_gw log of 5 gpt-5-mini calls (one an
    upstream 429), and a file with two bad lines around a good one."""
    folder = tmp_path_factory.mktemp("logs")
    (folder / "kong.json.gz").write_bytes(gzip.compress(KONG.read_bytes()))
    settings = Settings(upstream_url="simulated", log_path=folder / "ours.json")
    with BackgroundGateway(settings, Listen(port=0)) as gateway:
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
        "p50_latency_s",
        "p95_latency_s",
        "p50_ttft_s",
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


DATA = Path(__file__).resolve().parents[1] / "data"


def test_the_table_is_in_human_formats(tmp_path):
    table = run_logs("summary", str(DATA / "kong-3.13.json"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    rows = {line.split("|")[1].strip(): line for line in table.stdout.splitlines()[2:]}
    gpt5_mini = [cell.strip() for cell in rows["gpt-5-mini"].split("|")[1:-1]]
    header = [cell.strip() for cell in table.stdout.splitlines()[0].split("|")[1:-1]]
    cells = dict(zip(header, gpt5_mini, strict=True))
    # 4 calls; latencies 1846, 9219, 4412, 6790 ms: the median (4412 + 6790) / 2 = 5601 ms
    assert cells["p50_latency_s"] == "5.60"
    assert cells["prompt_tokens"] == "29,856"
    # (212*0.25 + 87*2 + 14231*0.25 + 612*2 + 1564*0.25 + 13824*0.025 + 241*2 + 25*0.25
    #  + 456*2) / 1e6 = $0.0071456, computed: Kong logged 0 (no costs configured)
    assert (cells["cost"], cells["computed"]) == ("$0.007146", "4")
    assert cells["error_rate"] == "0.0%"


def test_the_table_ends_with_a_row_over_all_calls(tmp_path):
    table = run_logs("summary", str(DATA / "kong-3.13.json"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    header = [cell.strip() for cell in table.stdout.splitlines()[0].split("|")[1:-1]]
    last = [cell.strip() for cell in table.stdout.splitlines()[-1].split("|")[1:-1]]
    cells = dict(zip(header, last, strict=True))
    # models: (unknown) 1, haiku 1, gpt-4.1 4, gpt-5 3, gpt-5-mini 4 calls = 13; failed:
    # (unknown) 1, haiku 1, gpt-4.1 1, gpt-5 1 = 4 of 13 = 30.8 %
    assert (cells["model"], cells["requests"], cells["error_rate"]) == ("(all)", "13", "30.8%")
    # prompt tokens 41,970 + 44,438 + 29,856 (the failed calls logged 0) = 116,264
    assert cells["prompt_tokens"] == "116,264"
    # cost $0.06094 + $0.06118 (Kong's own) + $0.0071456 (computed for gpt-5-mini) = $0.1293
    assert (cells["cost"], cells["computed"]) == ("$0.1293", "4")


def test_json_output_has_no_totals_row(tmp_path):
    result = run_logs("summary", "--format", "json", str(DATA / "kong-3.13.json"), cwd=tmp_path)
    assert [row["model"] for row in json.loads(result.stdout)][-1] == "gpt-5-mini"


@pytest.mark.parametrize(
    ("by", "first"),
    [
        ("capture", "hello-bash"),
        ("agent", "main"),
        ("target", "(original)"),
        ("cost_source", "logged"),
        ("provider", "simulated"),
        ("session", "4aaed2d1-8154-43f5-868e-c81eb0c45b23"),
    ],
)
def test_summary_groups_by_every_documented_key(tmp_path, by, first):
    result = run_logs(
        "summary", "--by", by, "--format", "json", str(DATA / "claude_gw-sessions.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0][by if by != "session" else "session_id"] == first
    assert sum(row["requests"] for row in rows) == 7


def test_since_and_until_keep_the_requests_in_the_window(tmp_path):
    # data/kong-3.13.json: 13 calls on 2025-12-10, data/claude_gw-sessions.json: 7 in 2026-11
    files = [str(DATA / "kong-3.13.json"), str(DATA / "claude_gw-sessions.json")]

    def total(*window: str) -> int:
        result = run_logs("summary", "--format", "json", *window, *files, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return sum(row["requests"] for row in json.loads(result.stdout))

    assert total() == 20
    assert total("--since", "2026-01-01") == 7
    assert total("--until", "2025-12-10") == 13  # a bare date includes that whole day
    assert total("--since", "2025-12-10T15:30", "--until", "2025-12-11") < 13


def test_a_window_without_requests_says_so_and_fails(tmp_path):
    result = run_logs(
        "summary", "--until", "2020-01-01", str(DATA / "kong-3.13.json"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "no records before 2020-01-02 00:00 UTC in" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_date_is_refused_by_the_option(tmp_path):
    result = run_logs("summary", "--since", "yesterday", str(DATA / "kong-3.13.json"), cwd=tmp_path)
    assert result.returncode == 2 and "not an ISO date or time: 'yesterday'" in result.stderr


@pytest.mark.parametrize(("mode", "cost"), [("logged", 0.0), ("auto", 0.0071456)])
def test_the_cost_option_picks_the_cost_mode(tmp_path, mode, cost):
    result = run_logs(
        "summary", "--cost", mode, "--format", "json", str(DATA / "kong-3.13.json"), cwd=tmp_path
    )
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    assert rows["gpt-5-mini"]["cost"] == pytest.approx(cost)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty_file"),
        pytest.param(b"# a README\n\nsome text\n", id="not_a_log"),
    ],
)
def test_input_without_records_names_the_file_and_fails(tmp_path, content):
    path = tmp_path / "notes.md"
    path.write_bytes(content)
    result = run_logs("summary", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"claude-gw: logs: no records in {path}"


def test_convert_into_a_missing_directory_is_one_clear_line(tmp_path):
    out = tmp_path / "missing" / "all.parquet"
    result = run_logs("convert", str(DATA / "kong-3.13.json"), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"claude-gw: logs: cannot write {out}: no directory {str(out.parent)!r}"
    )


def test_convert_keeps_the_cost_columns(tmp_path):
    out = tmp_path / "kong.parquet"
    result = run_logs(
        "convert", "--cost", "calculate", str(DATA / "kong-3.13.json"), "-o", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    frame = read_parquet(out)
    assert_frame_equal(frame, read_logs(DATA / "kong-3.13.json", cost="calculate"))
    assert set(frame["cost_source"].to_list()) == {"computed", "none"}


def test_every_option_of_summary_and_convert_has_help():
    import argparse

    from claude_gw.cli import build_parser

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(action.choices)

    logs = subparsers(build_parser())["logs"]
    for name, parser in subparsers(logs).items():
        for action in parser._actions:
            assert action.help, (name, action.dest)


WITHOUT_POLARS = (
    "import sys; sys.modules['polars'] = None; "  # `import polars` now fails as when not installed
    "from claude_gw.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["logs", "summary"], []),
        (["logs", "convert"], ["-o", "out.parquet"]),
        (["report"], ["-o", "report.html"]),
    ],
    ids=["summary", "convert", "report"],
)
def test_a_bare_install_is_told_which_extra_to_add(tmp_path, command, extra):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_POLARS, *command, str(DATA / "kong-3.13.json"), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    name = "report" if command == ["report"] else "logs"
    assert result.stderr == (
        f"claude-gw: {name}: needs the analysis extra (polars is missing): "
        "pip install 'claude_gw[analysis]'\n"
    )
