"""Operations: the log file rotated away mid-run, a log that cannot be opened at start-up, a
disk that fails while serving, and the default bind address."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import orjson
import pytest

from claude_gw.config import Listen, Settings
from claude_gw.logs.writer import LogWriter
from claude_gw.server.runner import build_gateway
from tests.reliability.asgi_driver import call, simulated_app
from tests.servers import ServerThread
from tests.waiting import wait_for_lines

ASK = {"model": "gpt-5-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def post_many(url: str, count: int) -> list[int]:
    with httpx.Client(timeout=10) as client:
        return [client.post(f"{url}/v1/messages", json=ASK).status_code for _ in range(count)]


def test_a_log_file_moved_away_mid_run_keeps_its_lines_and_logging_goes_on_in_a_new_file(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "claude.json"
    moved = tmp_path / "claude.json.1"
    settings = Settings(upstream_url="simulated", log_path=log_path)
    with ServerThread(build_gateway(settings)) as server:
        before = post_many(server.base_url, 2)
        wait_for_lines(log_path, 2)
        log_path.rename(moved)
        after = post_many(server.base_url, 3)
    assert before + after == [200] * 5
    old = [json.loads(line) for line in moved.read_text().splitlines()]
    new = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert (len(old), len(new)) == (2, 3)


def test_a_log_path_that_cannot_be_opened_refuses_to_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the log directory should be")
    with pytest.raises(OSError):
        build_gateway(Settings(upstream_url="simulated", log_path=blocker / "claude.json"))


def test_a_failing_disk_is_reported_loudly_and_the_gateway_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    writer = LogWriter(tmp_path / "claude.json", write_fn=disk_full)
    writer.start()

    async def serve_three() -> list[int]:
        app, client = simulated_app(writer)
        try:
            return [(await call(app, orjson.dumps(ASK))).status for _ in range(3)]
        finally:
            await client.aclose()

    with caplog.at_level(logging.ERROR, logger="claude_gw.logs.writer"):
        statuses = asyncio.run(serve_three())
        writer.close()
    assert statuses == [200, 200, 200]
    assert writer.lines_failed == 3 and writer.lines_written == 0
    assert "No space left on device" in caplog.text


def test_the_default_bind_address_is_loopback_only() -> None:
    assert Listen().host == "127.0.0.1"
    assert Listen.from_env({}).host == "127.0.0.1"
