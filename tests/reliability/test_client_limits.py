"""Clients that try to exhaust the gateway, over real loopback sockets, against the gateway as
`claude-gw serve` runs it (`BackgroundGateway`: uvicorn with the guarded protocol), each with the
answer it must get: slow headers and silent connections closed within the header timeout, idle
keep-alive connections closed, connections beyond the cap refused while real requests are still
answered and logged, oversized headers answered 431, what the HTTP parser rejects answered 400,
a body that never ends answered 408, and bodies beyond the in-flight cap answered 529 with
`retry-after`. Every refusal is an Anthropic error body and one log line.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_gw.config import Listen, Settings
from claude_gw.server.runner import BackgroundGateway
from tests.reliability.faulty_upstream import FaultyUpstream
from tests.reliability.test_load import wait_until_idle
from tests.waiting import wait_for_lines

ASK = {"model": "gpt-5-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
HEAD = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"


@contextmanager
def gateway(tmp_path: Path, **limits: Any) -> Iterator[BackgroundGateway]:
    settings = Settings(upstream_url="simulated", log_path=tmp_path / "claude.json")
    with BackgroundGateway(settings, Listen(port=0, **limits)) as gw:
        yield gw


def connect(gw: BackgroundGateway) -> socket.socket:
    host, port = gw.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_all(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or `timeout`), and when it closed."""
    sock.settimeout(timeout)
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data, time.monotonic() - started


def answer_of(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def records(gw: BackgroundGateway) -> list[dict[str, Any]]:
    path = gw.log_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_headers_sent_a_byte_at_a_time_get_a_408_within_the_header_timeout(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, header_timeout=1.0) as gw:
        sock = connect(gw)
        started = time.monotonic()
        sock.sendall(HEAD)
        sock.settimeout(0.1)
        answer = b""
        for byte in b"x-slow: " + b"a" * 92:  # 1 byte every 0.1 s: 10 s if the gateway waited
            try:
                sock.sendall(bytes([byte]))
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
        rest, _ = read_all(sock, 5)
        elapsed = time.monotonic() - started
        sock.close()
        wait_for_lines(gw.log_path, 1)
    status, _, body = answer_of(answer + rest)
    assert status == 408 and body["type"] == "error"
    assert body["error"]["type"] == "timeout_error"
    assert "--header-timeout" in body["error"]["message"]
    assert 1.0 <= elapsed < 6.0  # slack for a busy machine; the client would take 10 s
    (record,) = records(gw)
    assert record["response"]["status"] == 408
    assert record["claude_gw"]["error_type"] == "timeout_error"


def test_a_later_request_on_a_connection_gets_its_own_header_timeout(tmp_path: Path) -> None:
    # The header deadline runs from each request's first byte: a slow second request is
    # refused one timeout after it began, not when the first request's time runs out.
    body = json.dumps(ASK).encode()
    first = HEAD + b"content-length: %d\r\n\r\n%s" % (len(body), body)
    with gateway(tmp_path, header_timeout=1.0) as gw:
        sock = connect(gw)
        sock.sendall(first)
        answer = b""
        while b"}" not in answer.partition(b"\r\n\r\n")[2]:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        time.sleep(0.6)  # the first request's timeout ends in the middle of the second one
        began = time.monotonic()
        sock.sendall(HEAD)
        sock.settimeout(0.1)
        reply = b""
        for byte in b"x-slow: " + b"a" * 92:
            try:
                sock.sendall(bytes([byte]))
                reply += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if reply:
                break
        refused_after = time.monotonic() - began
        rest, _ = read_all(sock, 5)
        sock.close()
        wait_for_lines(gw.log_path, 2)
    status, _, error = answer_of(reply + rest)
    assert status == 408 and error["error"]["type"] == "timeout_error"
    assert 1.0 <= refused_after < 6.0, refused_after
    assert [r["response"]["status"] for r in records(gw)] == [200, 408]


def test_a_silent_connection_is_closed_at_the_header_timeout_unanswered_and_unlogged(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, header_timeout=0.5) as gw:
        sock = connect(gw)
        data, closed_after = read_all(sock, 5)
        sock.close()
        time.sleep(0.1)  # the writer's linger: a line would be there by now
    assert data == b"" and 0.4 < closed_after < 4.0  # read_all would wait 5 s
    assert records(gw) == []


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    with gateway(tmp_path, idle_timeout=0.5) as gw:
        with httpx.Client(timeout=10) as client:
            assert client.post(f"{gw.url}/v1/messages", json=ASK).status_code == 200
            (connection,) = client._transport._pool.connections  # type: ignore[attr-defined]  # httpx internals
            deadline = time.monotonic() + 5
            while connection.is_available() and time.monotonic() < deadline:
                # httpcore sees the server's close on its idle connection when it looks
                time.sleep(0.1)
                connection.has_expired()
            closed = not connection.is_available() or connection.has_expired()
            # a new request still works (on a new connection)
            assert client.post(f"{gw.url}/v1/messages", json=ASK).status_code == 200
    assert closed


def test_connections_beyond_the_cap_get_a_529_and_are_logged_while_others_are_served(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, max_connections=5, header_timeout=30.0) as gw:
        idle = [connect(gw) for _ in range(5)]  # the cap, taken by connections that say nothing
        time.sleep(0.2)
        refused = httpx.post(f"{gw.url}/v1/messages", json=ASK, timeout=10)
        for sock in idle:
            sock.close()
        time.sleep(0.2)
        served = httpx.post(f"{gw.url}/v1/messages", json=ASK, timeout=10)
        wait_for_lines(gw.log_path, 2)
    assert refused.status_code == 529
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["type"] == "overloaded_error"
    assert "--max-connections" in refused.json()["error"]["message"]
    assert served.status_code == 200
    assert [r["response"]["status"] for r in records(gw)] == [529, 200]


def test_an_overlong_header_gets_a_431_in_the_anthropic_shape_and_one_short_log_line(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, max_header_bytes=32 * 1024) as gw:
        response = httpx.post(
            f"{gw.url}/v1/messages", json=ASK, headers={"x-big": "a" * 40_000}, timeout=10
        )
        wait_for_lines(gw.log_path, 1)
    assert response.status_code == 431
    assert response.json()["error"]["type"] == "request_too_large"
    assert "32 KiB" in response.json()["error"]["message"]
    (line,) = gw.log_path.read_text().splitlines()
    assert json.loads(line)["response"]["status"] == 431
    assert len(line) < 16_000  # the header is cut short in the log, not copied whole


def test_a_header_of_many_megabytes_is_answered_431_at_the_cap_and_others_are_served(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, max_header_bytes=64 * 1024) as gw:
        sock = connect(gw)
        sock.sendall(HEAD + b"x-huge: ")
        sent, answer = 0, b""
        for _ in range(200):  # up to 200 MiB, 1 MiB at a time, until the gateway answers
            sock.settimeout(2)
            try:
                sent += sock.send(b"a" * (1 << 20))
                sock.settimeout(0.01)
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
        answer += read_all(sock, 5)[0]
        sock.close()
        started = time.monotonic()
        other = httpx.post(f"{gw.url}/v1/messages", json=ASK, timeout=10)
        other_s = time.monotonic() - started
        wait_for_lines(gw.log_path, 2)
    status, _, body = answer_of(answer)
    assert status == 431 and body["error"]["type"] == "request_too_large"
    assert sent <= 8 * (1 << 20)  # answered within a few reads past the 64 KiB cap
    assert other.status_code == 200 and other_s < 2
    refused, _ = gw.log_path.read_text().splitlines()
    assert json.loads(refused)["response"]["status"] == 431 and len(refused) < 16_000


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GARBAGE\r\n\r\n", id="not_a_request_line"),
        pytest.param(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", id="header"),
        pytest.param(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n"
            b"transfer-encoding: chunked\r\n\r\n",
            id="length_and_chunked",
        ),
    ],
)
def test_what_the_http_parser_rejects_gets_a_400_in_the_anthropic_shape_and_a_log_line(
    tmp_path: Path, raw: bytes
) -> None:
    with gateway(tmp_path) as gw:
        sock = connect(gw)
        sock.sendall(raw)
        answer, _ = read_all(sock, 5)
        sock.close()
        wait_for_lines(gw.log_path, 1)
    status, headers, body = answer_of(answer)
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("the request is not valid HTTP")
    (record,) = records(gw)
    assert record["response"]["status"] == 400


def test_a_body_that_stops_coming_gets_a_408_after_the_body_timeout(tmp_path: Path) -> None:
    with gateway(tmp_path, body_timeout=1.0) as gw:
        sock = connect(gw)
        started = time.monotonic()
        sock.sendall(HEAD + b"content-length: 1000\r\n\r\n" + b'{"model": ')
        answer, _ = read_all(sock, 10)
        elapsed = time.monotonic() - started
        sock.close()
        wait_for_lines(gw.log_path, 1)
    status, _, body = answer_of(answer)
    assert status == 408 and "--body-timeout" in body["error"]["message"]
    assert 1.0 <= elapsed < 6.0  # answered and closed by the gateway (read_all waits 10 s)
    (record,) = records(gw)
    assert record["response"]["status"] == 408


async def big_requests(url: str, count: int, size: int) -> list[httpx.Response]:
    text = "[fault:slow] " + "x" * size  # the faulty upstream streams slowly: they overlap
    body = {**ASK, "stream": True, "messages": [{"role": "user", "content": text}]}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(*(client.post(url, json=body) for _ in range(count)))


def test_bodies_beyond_the_in_flight_cap_get_529_with_retry_after_and_are_logged(
    tmp_path: Path,
) -> None:
    # Bodies of 512 KiB and a bit (under aiohttp's 1 MiB "large body" warning, an error here):
    # three fit in 1.8 MB, a fourth would make 2.1 MB.
    with FaultyUpstream(slow_gap_s=0.3) as upstream:
        settings = Settings(
            upstream_url=upstream.base_url,
            log_path=tmp_path / "claude.json",
        )
        with BackgroundGateway(settings, Listen(port=0, max_inflight_bytes=1_800_000)) as gw:
            responses = asyncio.run(big_requests(f"{gw.url}/v1/messages", 8, 512 * 1024))
            wait_for_lines(gw.log_path, 8)
        wait_until_idle(upstream)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 3 + [529] * 5
    for refused in (r for r in responses if r.status_code == 529):
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["type"] == "overloaded_error"
        assert "--max-inflight" in refused.json()["error"]["message"]
    assert sorted(r["response"]["status"] for r in records(gw)) == statuses


def test_pipelined_requests_on_one_connection_are_all_answered_under_the_limits(
    tmp_path: Path,
) -> None:
    # 2 KB bodies: each read holds more bytes than the 1 KiB header cap, all of them fine
    body = json.dumps({**ASK, "messages": [{"role": "user", "content": "x" * 2000}]}).encode()
    request = HEAD + b"content-length: %d\r\n\r\n" % len(body) + body
    with FaultyUpstream() as upstream:  # answers at once: the three answers take milliseconds
        settings = Settings(
            upstream_url=upstream.base_url,
            log_path=tmp_path / "claude.json",
        )
        listen = Listen(port=0, max_header_bytes=1024, idle_timeout=0.5)
        with BackgroundGateway(settings, listen) as gw:
            sock = connect(gw)
            sock.sendall(request * 3)  # three requests in one write: parsed at once
            answers, _ = read_all(sock, 10)
            sock.close()
            wait_for_lines(gw.log_path, 3)
        wait_until_idle(upstream)
    assert answers.count(b"HTTP/1.1 200 OK") == 3
    assert [r["response"]["status"] for r in records(gw)] == [200, 200, 200]
