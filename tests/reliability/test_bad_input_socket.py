"""A handful of bad inputs over a real socket (uvicorn's HTTP parsing in front of the app):
the same contract as test_bad_input.py, a 4xx Anthropic error and one log line each."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from claude_gw.config import Secret, Settings
from claude_gw.server.runner import build_gateway
from tests.servers import ServerThread

VALID = b'{"model":"gpt-5-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
CASES = [
    pytest.param(b"\xff\xfe\x00garbage", {}, id="random_bytes"),
    pytest.param(VALID.replace(b'"hi"', b'"h\xc0i"'), {}, id="invalid_utf8_in_a_string"),
    pytest.param(b"a=1&b=2", {"content-type": "application/x-www-form-urlencoded"}, id="form"),
    pytest.param(b"[" * 5000 + b"]" * 5000, {}, id="deep_nesting"),
    pytest.param(VALID.replace(b"5", b'"five"'), {}, id="max_tokens_of_the_wrong_type"),
    pytest.param(VALID.replace(b'"hi"', b"null"), {}, id="null_content"),
    pytest.param(b"", {"content-type": "text/plain"}, id="empty_body"),
]


@pytest.mark.parametrize(("body", "headers"), CASES)
def test_bad_input_over_a_socket_is_a_4xx_anthropic_error_logged_once(
    tmp_path: Path, fake_openai: str, body: bytes, headers: dict[str, str]
) -> None:
    log_path = tmp_path / "claude.json"
    key = Secret("sk-test-upstream-key-0123456789")  # the `simulator` fixture's key
    settings = Settings(upstream_url=fake_openai, api_key=key, log_path=log_path)
    with ServerThread(build_gateway(settings)) as server:
        response = httpx.post(
            f"{server.base_url}/v1/messages", content=body, headers=headers, timeout=10
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["type"] == "error"
    (line,) = log_path.read_text().splitlines()
    assert json.loads(line)["response"]["status"] == response.status_code
