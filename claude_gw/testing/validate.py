"""Request checks the simulator makes the way OpenAI's Chat Completions API makes them.

Each check raises `SimError` (a 400 in OpenAI's envelope) for the first problem it finds, so a
translation bug in the gateway fails against the simulator as it would against OpenAI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.simulated.profiles import ModelProfile
from claude_gw.testing import openai_errors as errors
from claude_gw.testing.structured import check_format, check_name

ROLES = ("system", "developer", "user", "assistant", "tool")
PART_TYPES: Mapping[str, tuple[str, ...]] = {
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
    "system": ("text",),
    "developer": ("text",),
    "tool": ("text",),
}
MAX_TOOLS = 128


def validate_request(doc: Mapping[str, Any], profile: ModelProfile) -> None:
    """Raise `SimError` for the first thing OpenAI would reject in this chat request."""
    model, messages = doc.get("model"), doc.get("messages")
    if not isinstance(model, str) or not model:
        raise errors.no_model()
    if messages is None:
        raise errors.missing("messages")
    if not isinstance(messages, list):
        raise errors.invalid_type("messages", "an array", messages)
    if not messages:
        raise errors.empty_array("messages")
    check_parameters(doc, profile)
    check_tools(doc.get("tools"))
    for index, message in enumerate(messages):
        check_message(index, message)
    check_tool_sequence(messages)


def check_parameters(doc: Mapping[str, Any], profile: ModelProfile) -> None:
    check_types(doc)
    if doc.get("stream_options") is not None and doc.get("stream") is not True:
        raise errors.stream_options_without_stream()
    check_format(doc.get("response_format"), "response_format")
    effort = doc.get("reasoning_effort")
    if not profile.reasoning:
        if effort is not None:
            raise errors.unsupported_parameter("reasoning_effort")
        return
    if doc.get("max_tokens") is not None:
        raise errors.unsupported_parameter("max_tokens", instead="max_completion_tokens")
    for name in ("temperature", "top_p"):
        value = doc.get(name)
        if value is not None and value != 1:
            raise errors.unsupported_value(name, value)
    if effort is not None and effort not in profile.reasoning_tokens:
        raise errors.invalid_value("reasoning_effort", effort, list(profile.reasoning_tokens))


# Optional parameters whose JSON type the simulator relies on.
_TYPES: Mapping[str, tuple[tuple[type, ...], str]] = {
    "stream_options": ((dict,), "an object"),
    "tool_choice": ((str, dict), "a string or an object"),
    "stop": ((str, list), "a string or an array"),
    "reasoning_effort": ((str,), "a string"),
    "max_completion_tokens": ((int,), "an integer"),
    "max_tokens": ((int,), "an integer"),
}


def check_types(doc: Mapping[str, Any]) -> None:
    for name, (types, expected) in _TYPES.items():
        value = doc.get(name)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise errors.invalid_type(name, expected, value)
    if isinstance(doc.get("stop"), list) and not all(isinstance(s, str) for s in doc["stop"]):
        raise errors.invalid_type("stop", "an array of strings", doc["stop"])


def check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise errors.invalid_type("tools", "an array", tools)
    if len(tools) > MAX_TOOLS:
        raise errors.too_long("tools", "array", MAX_TOOLS, len(tools))
    for index, tool in enumerate(tools):
        check_tool(f"tools[{index}]", tool)


def check_tool(param: str, tool: Any) -> None:
    if not isinstance(tool, dict):
        raise errors.invalid_type(param, "an object", tool)
    if tool.get("type") != "function":
        raise errors.invalid_value(f"{param}.type", tool.get("type"), ["function", "custom"])
    function = tool.get("function")
    if not isinstance(function, dict):
        raise errors.missing(f"{param}.function")
    check_name(f"{param}.function.name", function.get("name"))


def check_message(index: int, message: Any) -> None:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise errors.invalid_type(param, "an object", message)
    role = message.get("role")
    if role is None:
        raise errors.missing(f"{param}.role")
    if role not in ROLES:
        raise errors.invalid_value(f"{param}.role", role, ROLES)
    check_content(param, role, message)
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise errors.invalid_type(f"{param}.tool_calls", "an array", calls)
    for call_index, call in enumerate(calls or []):
        check_tool_call(f"{param}.tool_calls[{call_index}]", call)
    if role == "tool" and not message.get("tool_call_id"):
        raise errors.missing(f"{param}.tool_call_id")


def check_content(param: str, role: str, message: Mapping[str, Any]) -> None:
    content = message.get("content")
    if content is None:
        if role != "assistant" or not message.get("tool_calls"):
            raise errors.missing(f"{param}.content")
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise errors.invalid_type(f"{param}.content", "a string or an array", content)
    for part_index, part in enumerate(content):
        part_param = f"{param}.content[{part_index}]"
        if not isinstance(part, dict):
            raise errors.invalid_type(part_param, "an object", part)
        if part.get("type") not in PART_TYPES[role]:
            raise errors.invalid_value(f"{part_param}.type", part.get("type"), PART_TYPES[role])


def check_tool_call(param: str, call: Any) -> None:
    if not isinstance(call, dict):
        raise errors.invalid_type(param, "an object", call)
    if not call.get("id"):
        raise errors.missing(f"{param}.id")
    function = call.get("function")
    if not isinstance(function, dict):
        raise errors.missing(f"{param}.function")
    check_name(f"{param}.function.name", function.get("name"))
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        raise errors.invalid_type(f"{param}.function.arguments", "a string", arguments)


def check_tool_sequence(messages: list[Mapping[str, Any]]) -> None:
    """Tool messages answer the assistant message right before them, all of its calls, before
    anything else is said."""
    owner: int | None = None
    offered: set[str] = set()
    pending: list[str] = []
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            call_id = message["tool_call_id"]
            if owner is None:
                raise errors.tool_without_call(index)
            if call_id not in offered:
                raise errors.unknown_tool_call_id(index, call_id)
            pending = [p for p in pending if p != call_id]
            continue
        if pending and owner is not None:
            raise errors.unanswered_tool_calls(owner, pending)
        calls = (message.get("tool_calls") or []) if message["role"] == "assistant" else []
        owner = index if calls else None
        pending = [call["id"] for call in calls]
        offered = set(pending)
    if pending and owner is not None:
        raise errors.unanswered_tool_calls(owner, pending)
