"""OpenAI's error answers, as the simulator sends them: status, envelope and headers.

Wording follows the live API as quoted in the fixtures under ../shared/fixtures/wire/
(`openai-chat-error-*.json`) and in public issue reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_INVALID = "invalid_request_error"


class SimError(Exception):
    """An error answer: `body()` is OpenAI's `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = _INVALID,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.error_type, "param": self.param}
        return {"error": {**error, "code": self.code}}


def not_json() -> SimError:
    return SimError(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
        "contact us through our help center at help.openai.com.)"
    )


def context_length(window: int, tokens: int) -> SimError:
    return SimError(
        f"This model's maximum context length is {window} tokens. However, your messages "
        f"resulted in {tokens} tokens. Please reduce the length of the messages.",
        param="messages",
        code="context_length_exceeded",
    )


def invalid_api_key(key: str | None) -> SimError:
    if key is None:
        message = (
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
            "as the password field (with blank username) if you're accessing the API from your "
            "browser and are prompted for a username and password. You can obtain an API key "
            "from https://platform.openai.com/account/api-keys."
        )
    else:
        message = (
            f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
    return SimError(message, status=401, code="invalid_api_key")


def _masked(key: str) -> str:
    return f"{key[:3]}{'*' * 8}{key[-4:]}" if len(key) > 12 else "*" * 8


def rate_limited(model: str, tokens: int) -> SimError:
    return SimError(
        f"Rate limit reached for {model} in organization org-simulated on tokens per min "
        f"(TPM): Limit 200000, Used 190384, Requested {tokens}. Please try again in 1.684s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        status=429,
        error_type="tokens",
        code="rate_limit_exceeded",
        headers={
            "retry-after": "2",
            "retry-after-ms": "1684",
            "x-ratelimit-limit-requests": "5000",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-requests": "4999",
            "x-ratelimit-remaining-tokens": "9616",
            "x-ratelimit-reset-requests": "12ms",
            "x-ratelimit-reset-tokens": "1.684s",
        },
    )


def server_error(request_id: str) -> SimError:
    return SimError(
        "The server had an error processing your request. Sorry about that! You can retry your "
        "request, or contact us through our help center at help.openai.com if you keep seeing "
        f"this error. (Please include the request ID {request_id} in your email.)",
        status=500,
        error_type="server_error",
    )


def overloaded() -> SimError:
    return SimError(
        "The server is overloaded or not ready yet.", status=503, error_type="server_error"
    )


def not_found(method: str, path: str) -> SimError:
    return SimError(f"Invalid URL ({method} {path})", status=404)


def directed(kind: str, model: str, window: int, tokens: int, request_id: str) -> SimError:
    """The error a `[sim:error KIND]` directive asks for (`tokens`: the prompt's size)."""
    if kind == "429":
        return rate_limited(model, tokens)
    if kind == "500":
        return server_error(request_id)
    if kind == "503":
        return overloaded()
    if kind == "401":
        return invalid_api_key(None)
    return context_length(window, window + tokens)
