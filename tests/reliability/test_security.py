"""Security over a real socket: no key in any log line, error body or console output; request
bodies logged only with payload logging on; traversal paths and oversized headers refused."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_gw.config import Secret, Settings
from claude_gw.server.runner import build_gateway
from tests.servers import ServerThread
from tests.waiting import wait_for_lines

UPSTREAM_KEY = "sk-test-upstream-key-0123456789"  # the `simulator` fixture's key
CLIENT_KEY = "sk-ant-security-client-key-0123456789"
SECRET_PROMPT = "payload-marker-7f3a"
Start = Callable[..., tuple[str, Path]]  # start(**settings) -> (base URL, log path)
CLIENT_HEADERS = {
    "x-api-key": CLIENT_KEY,
    "authorization": f"Bearer {CLIENT_KEY}",
    "api-key": CLIENT_KEY,
}


def ask(text: str, *, stream: bool = False) -> dict[str, object]:
    return {
        "model": "gpt-5-mini",
        "max_tokens": 16,
        "stream": stream,
        "messages": [{"role": "user", "content": f"{SECRET_PROMPT} {text}"}],
    }


@pytest.fixture
def serve(tmp_path: Path, fake_openai: str) -> Iterator[Start]:
    servers: list[ServerThread] = []

    def start(**options: Any) -> tuple[str, Path]:
        log_path = tmp_path / f"claude-{len(servers)}.json"
        settings = Settings(
            upstream_url=fake_openai,
            api_key=Secret(UPSTREAM_KEY),
            log_path=log_path,
            **options,
        )
        server = ServerThread(build_gateway(settings)).__enter__()
        servers.append(server)
        return server.base_url, log_path

    yield start
    for server in servers:
        server.stop()


def exercise(base: str) -> list[bytes]:
    """Successes, upstream errors and client errors; every answer's bytes."""
    seen = []
    with httpx.Client(timeout=10, headers=CLIENT_HEADERS) as client:
        for body in (
            ask("hi"),
            ask("hi", stream=True),
            ask("[sim:error 401]"),
            ask("[sim:error 429]"),
            ask("[sim:error 500]", stream=True),
        ):
            response = client.post(f"{base}/v1/messages", json=body)
            seen.append(repr(response.headers.raw).encode() + response.content)
        for content in (b"{broken", b"[]"):
            seen.append(client.post(f"{base}/v1/messages", content=content).content)
        seen.append(client.post(f"{base}/v1/nothing", json={}).content)
    return seen


def test_no_key_appears_in_any_log_line_answer_or_console_output(
    serve: Start, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        base, log_path = serve(log_payloads=True)
        answers = exercise(base)
    log = log_path.read_bytes() if log_path.exists() else b""
    out, err = capfd.readouterr()
    places = {
        "answers": b"".join(answers),
        "log": log,
        "console": (out + err + caplog.text).encode(),
    }
    for name, data in places.items():
        for key in (CLIENT_KEY, UPSTREAM_KEY):
            assert key.encode() not in data, f"{key} leaked into the {name}"


@pytest.mark.parametrize(
    ("log_payloads", "logged"),
    [pytest.param(False, False, id="payload_logging_off"), pytest.param(True, True, id="on")],
)
def test_request_bodies_are_logged_only_with_payload_logging_on(
    serve: Start, log_payloads: bool, logged: bool
) -> None:
    base, log_path = serve(log_payloads=log_payloads)
    response = httpx.post(f"{base}/v1/messages", json=ask("hi"), timeout=10)
    assert response.status_code == 200
    wait_for_lines(log_path, 1)
    (record,) = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert (SECRET_PROMPT in json.dumps(record)) is logged


def raw_request(base: str, head: bytes) -> bytes:
    """Send raw bytes (no client-side path normalisation); the answer's bytes (b"" when the
    server reset the connection instead of answering)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(head)
        except ConnectionResetError:
            return b""
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # the server refused the request mid-send: what a refusal may look like
    return b"".join(chunks)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(b"/../../etc/passwd", id="dot_dot"),
        pytest.param(b"/%2e%2e/%2e%2e/etc/passwd", id="encoded_dot_dot"),
        pytest.param(b"/anything/..%2f..%2fetc%2fpasswd", id="encoded_slashes"),
        pytest.param(b"/..\\..\\etc\\passwd", id="backslashes"),
    ],
)
def test_path_traversal_is_refused_with_a_404(serve: Start, target: bytes) -> None:
    base, _ = serve()
    answer = raw_request(
        base, b"GET " + target + b" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"404", answer[:300]
    assert b"root:" not in answer and b'"type":"error"' in answer


def test_oversized_headers_are_refused_and_the_gateway_keeps_serving(serve: Start) -> None:
    base, _ = serve()
    huge = b"x-padding: " + b"a" * 200_000 + b"\r\n"
    answer = raw_request(
        base, b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n" + huge + b"connection: close\r\n\r\n"
    )
    status = int(answer.split()[1]) if answer else 0
    assert 400 <= status < 500 or answer == b"", answer[:300]
    assert httpx.post(f"{base}/v1/messages", json=ask("hi"), timeout=10).status_code == 200
