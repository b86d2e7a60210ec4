"""Upstream error answers -> the Anthropic error the Claude CLI should get (CLI notes, sec. 7)."""

import json
from pathlib import Path

import pytest

from claude_gw import errors
from claude_gw.translate.errors import upstream_http_error

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
UPSTREAM = "openai at https://api.openai.com/v1"


def fixture(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def test_context_length_exceeded_becomes_a_400_prompt_too_long_so_the_cli_compacts():
    error = upstream_http_error(
        400, fixture("openai-chat-error-400-context-length.json"), {}, upstream=UPSTREAM
    )
    assert isinstance(error, errors.PromptTooLong)
    assert error.http_status == 400
    assert error.to_body()["error"]["type"] == "invalid_request_error"
    assert error.message.startswith("prompt is too long")
    assert "context_length_exceeded" in error.message


def test_rate_limit_keeps_retry_after():
    headers = {"retry-after": "3", "x-ratelimit-remaining-tokens": "0"}
    error = upstream_http_error(
        429, fixture("openai-chat-error-429-rate-limit.json"), headers, upstream=UPSTREAM
    )
    assert error.http_status == 429
    assert error.error_type == "rate_limit_error"
    assert error.headers == {"retry-after": "3"}
    assert UPSTREAM in error.message


def test_insufficient_quota_is_not_retried():
    body = json.dumps(
        {
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        }
    )
    error = upstream_http_error(429, body.encode(), {"retry-after": "1"}, upstream=UPSTREAM)
    assert error.headers == {"x-should-retry": "false"}


@pytest.mark.parametrize(
    ("status", "body", "http_status", "error_type"),
    [
        pytest.param(
            500, fixture("openai-chat-error-500-server-error.json"), 500, "api_error", id="500"
        ),
        pytest.param(502, b"<html>Bad gateway</html>", 502, "api_error", id="502_html"),
        pytest.param(503, b"", 529, "overloaded_error", id="503_overloaded"),
        pytest.param(504, b"", 504, "timeout_error", id="504_timeout"),
        pytest.param(
            401,
            b'{"error":{"message":"Incorrect API key provided: sk-ab***yz"}}',
            502,
            "api_error",
            id="401_gateway_key_rejected",
        ),
        pytest.param(
            404,
            b'{"error":{"message":"The model gpt-9 does not exist"}}',
            404,
            "not_found_error",
            id="404_unknown_model",
        ),
        pytest.param(
            400,
            fixture("openai-chat-error-400-unsupported-value-temperature.json"),
            400,
            "invalid_request_error",
            id="400_unsupported_value",
        ),
        pytest.param(422, b'{"error":"bad"}', 422, "invalid_request_error", id="422_string_error"),
    ],
)
def test_status_mapping(status, body, http_status, error_type):
    error = upstream_http_error(status, body, {}, upstream=UPSTREAM)
    assert (error.http_status, error.error_type) == (http_status, error_type)
    assert UPSTREAM in error.message


def test_the_gateway_key_being_rejected_tells_the_cli_not_to_retry():
    error = upstream_http_error(401, b'{"error":{"message":"bad key"}}', {}, upstream=UPSTREAM)
    assert error.headers["x-should-retry"] == "false"
    assert "gateway's API key" in error.message
