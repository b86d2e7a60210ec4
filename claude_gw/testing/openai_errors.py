"""OpenAI's 400 answers to requests it refuses, as the strict simulator sends them.

Wording follows the live API as quoted in the fixtures under ../shared/fixtures/wire/
(`openai-chat-error-*.json`) and in public issue reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from claude_gw.simulated.errors import SimError

_INVALID = "invalid_request_error"


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
