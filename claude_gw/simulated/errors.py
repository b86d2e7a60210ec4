"""OpenAI's error answers, as the simulator sends them: status, envelope and headers.

Wording follows the live API as quoted in the fixtures under ../shared/fixtures/wire/
(`openai-chat-error-*.json`) and in public issue reports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


def json_type(value: Any) -> str:
    """How OpenAI names a JSON value's type in `Invalid type` messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _listing(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])}, and {quoted[-1]}"


def not_json() -> SimError:
    return SimError(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
        "contact us through our help center at help.openai.com.)"
    )


def no_model() -> SimError:
    return SimError("you must provide a model parameter")


def missing(param: str) -> SimError:
    return SimError(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid_type(param: str, expected: str, value: Any) -> SimError:
    return SimError(
        f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, value: Any, supported: Sequence[str]) -> SimError:
    return SimError(
        f"Invalid value: '{value}'. Supported values are: {_listing(supported)}.",
        param=param,
        code="invalid_value",
    )


def empty_array(param: str) -> SimError:
    return SimError(
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an "
        "empty array instead.",
        param=param,
        code="empty_array",
    )


def too_long(param: str, kind: str, limit: int, length: int) -> SimError:
    return SimError(
        f"Invalid '{param}': {kind} too long. Expected {'an' if kind == 'array' else 'a'} {kind} "
        f"with maximum length {limit}, but got {'an' if kind == 'array' else 'a'} {kind} with "
        f"length {length} instead.",
        param=param,
        code=f"{kind}_above_max_length",
    )


def bad_pattern(param: str, pattern: str) -> SimError:
    return SimError(
        f"Invalid '{param}': string does not match pattern. Expected a string that matches the "
        f"pattern '{pattern}'.",
        param=param,
        code="invalid_value",
    )


def unsupported_parameter(param: str, instead: str | None = None) -> SimError:
    hint = f" Use '{instead}' instead." if instead else ""
    return SimError(
        f"Unsupported parameter: '{param}' is not supported with this model.{hint}",
        param=param,
        code="unsupported_parameter",
    )


def unsupported_value(param: str, value: Any) -> SimError:
    return SimError(
        f"Unsupported value: '{param}' does not support {json.dumps(value)} with this model. "
        "Only the default (1) value is supported.",
        param=param,
        code="unsupported_value",
    )


def stream_options_without_stream() -> SimError:
    return SimError(
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        param="stream_options",
    )


def tool_without_call(index: int) -> SimError:
    # "preceeding" [sic]: the live API's spelling.
    return SimError(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
        "message with 'tool_calls'.",
        param=f"messages.[{index}].role",
    )


def unknown_tool_call_id(index: int, call_id: str) -> SimError:
    return SimError(
        f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of "
        "previous message.",
        param=f"messages.[{index}].tool_call_id",
    )


def unanswered_tool_calls(index: int, call_ids: Sequence[str]) -> SimError:
    return SimError(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(call_ids)}",
        param=f"messages.[{index}].role",
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
