"""Anthropic's error answers, as the simulator sends them: status, envelope and headers.

Envelope, status -> type table and the 429 headers follow ../shared/fixtures/wire/anthropic-
errors.json: `{"type": "error", "error": {"type", "message"}, "request_id"}`; 529
`overloaded_error` "Overloaded"; 429 `rate_limit_error` with `retry-after` and
`anthropic-ratelimit-*`. Field errors are worded as the API's validator words them
("max_tokens: Field required").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.simulated.errors import SimError

_INVALID = "invalid_request_error"
# OpenAI-shaped errors from shared code (directive parsing, JSON parsing), by status.
_TYPES = {
    400: _INVALID,
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
RATE_LIMIT_HEADERS: Mapping[str, str] = {
    "retry-after": "2",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-input-tokens-limit": "20000",
    "anthropic-ratelimit-input-tokens-remaining": "0",
    "anthropic-ratelimit-output-tokens-limit": "8000",
    "anthropic-ratelimit-output-tokens-remaining": "8000",
    "anthropic-ratelimit-tokens-limit": "28000",
    "anthropic-ratelimit-tokens-remaining": "8000",
}


class AnthropicError(Exception):
    """An error answer: `body(request_id)` is Anthropic's error envelope."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = _INVALID,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, Any]:
        error = {"type": self.error_type, "message": self.message}
        return {"type": "error", "error": error, "request_id": request_id}


def from_openai(error: SimError) -> AnthropicError:
    """An error raised by code shared with the OpenAI endpoints, in Anthropic's terms."""
    status = 529 if error.status == 503 else error.status
    return AnthropicError(error.message, status=status, error_type=_TYPES.get(status, "api_error"))


def invalid(message: str) -> AnthropicError:
    return AnthropicError(message)


def required(path: str) -> AnthropicError:
    return invalid(f"{path}: Field required")


def not_json() -> AnthropicError:
    return invalid("The request body is not valid JSON.")


def missing_version() -> AnthropicError:
    return invalid("anthropic-version: header is required")


def missing_key() -> AnthropicError:
    return AnthropicError(
        "x-api-key header is required", status=401, error_type="authentication_error"
    )


def invalid_key() -> AnthropicError:
    return AnthropicError("invalid x-api-key", status=401, error_type="authentication_error")


def not_found(method: str, path: str) -> AnthropicError:
    return AnthropicError(f"Not found: {method} {path}", status=404, error_type="not_found_error")


def prompt_too_long(tokens: int, window: int) -> AnthropicError:
    return invalid(f"prompt is too long: {tokens} tokens > {window} maximum")


def rate_limited() -> AnthropicError:
    return AnthropicError(
        "This request would exceed the rate limit for your organization of 20,000 input tokens "
        "per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You "
        "can see the response headers for current usage. Please reduce the prompt length or "
        "the maximum tokens requested, or try again later.",
        status=429,
        error_type="rate_limit_error",
        headers=RATE_LIMIT_HEADERS,
    )


def directed(kind: str, window: int, tokens: int) -> AnthropicError:
    """The error a `[sim:error KIND]` directive asks for (`tokens`: the prompt's size)."""
    if kind == "429":
        return rate_limited()
    if kind == "500":
        return AnthropicError("Internal server error", status=500, error_type="api_error")
    if kind == "503":
        return AnthropicError("Overloaded", status=529, error_type="overloaded_error")
    if kind == "401":
        return invalid_key()
    return prompt_too_long(window + tokens, window)
