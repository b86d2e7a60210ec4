"""Responses API requests: the checks OpenAI makes, as the strict simulator makes them.

Wording of the errors follows live answers quoted in public issue reports (for instance "No
tool call found for function call output with call_id ...", "Item with id 'rs_...' not found.
Items are not persisted when `store` is set to false. ...", "The encrypted content gAAA...
could not be verified.").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import ModelProfile
from claude_gw.simulated.vault import Vault
from claude_gw.testing import openai_errors as errors
from claude_gw.testing.structured import check_format, check_name

KNOWN_PARAMETERS = frozenset(
    "access_programs background background_options context_management conversation image "
    "include input instructions max_output_tokens max_tool_calls metadata model moderation "
    "parallel_tool_calls previous_response_id prompt prompt_cache_key prompt_cache_options "
    "prompt_cache_retention reasoning safety_identifier service_tier store stream "
    "stream_options temperature text tool_choice tools top_logprobs top_p truncation "
    "user".split()
)
INCLUDABLE = (
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
)
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
SUMMARIES = ("auto", "concise", "detailed")
BUILT_IN_TOOLS = (
    "function",
    "custom",
    "web_search",
    "web_search_preview",
    "file_search",
    "code_interpreter",
    "computer_use_preview",
    "image_generation",
    "local_shell",
    "mcp",
)
MIN_OUTPUT_TOKENS = 16
_TYPES: Mapping[str, tuple[tuple[type, ...], str]] = {
    "instructions": ((str,), "a string"),
    "max_output_tokens": ((int,), "an integer"),
    "stream": ((bool,), "a boolean"),
    "store": ((bool,), "a boolean"),
    "parallel_tool_calls": ((bool,), "a boolean"),
    "include": ((list,), "an array"),
    "reasoning": ((dict,), "an object"),
    "stream_options": ((dict,), "an object"),
    "tool_choice": ((str, dict), "a string or an object"),
    "temperature": ((int, float), "a number"),
    "top_p": ((int, float), "a number"),
}


def validate_responses(doc: Mapping[str, Any], profile: ModelProfile, vault: Vault) -> int:
    """Raise `SimError` for the first thing OpenAI would reject in this Responses request;
    return how many (verified) reasoning items its input carries."""
    for name in doc:
        if name not in KNOWN_PARAMETERS:
            raise SimError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    if not isinstance(doc.get("model"), str) or not doc["model"]:
        raise errors.missing("model")
    _check_types(doc)
    _check_parameters(doc, profile)
    _check_tools(doc.get("tools"))
    items = _items(doc)
    for index, item in enumerate(items):
        _check_item(index, item)
    _check_calls(items)
    store = doc.get("store") is not False
    reasoning = [(i, item) for i, item in enumerate(items) if item["type"] == "reasoning"]
    for index, item in reasoning:
        _check_reasoning(index, item, items, store, vault)
    return len(reasoning)


def _check_types(doc: Mapping[str, Any]) -> None:
    for name, (types, expected) in _TYPES.items():
        value = doc.get(name)
        if value is not None and (not isinstance(value, types) or _is_bool_number(value, types)):
            raise errors.invalid_type(name, expected, value)


def _is_bool_number(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, bool) and bool not in types


def _check_parameters(doc: Mapping[str, Any], profile: ModelProfile) -> None:
    previous = doc.get("previous_response_id")
    if previous is not None:  # the simulator keeps no responses: every id is unknown
        raise SimError(
            f"Previous response with id '{previous}' not found.",
            status=404,
            param="previous_response_id",
            code="previous_response_not_found",
        )
    if doc.get("stream_options") is not None and doc.get("stream") is not True:
        raise errors.stream_options_without_stream()
    limit = doc.get("max_output_tokens")
    if isinstance(limit, int) and limit < MIN_OUTPUT_TOKENS:
        raise SimError(
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
            f"{MIN_OUTPUT_TOKENS}, but got {limit} instead.",
            param="max_output_tokens",
            code="integer_below_min_value",
        )
    for index, value in enumerate(doc.get("include") or []):
        if value not in INCLUDABLE:
            raise errors.invalid_value(f"include[{index}]", value, INCLUDABLE)
    _check_reasoning_parameter(doc.get("reasoning"), profile)
    text = doc.get("text")
    if text is not None:
        if not isinstance(text, dict):
            raise errors.invalid_type("text", "an object", text)
        check_format(text.get("format"), "text.format")
    if profile.reasoning:
        for name in ("temperature", "top_p"):
            value = doc.get(name)
            if value is not None and value != 1:
                raise errors.unsupported_parameter(name)


def _check_reasoning_parameter(reasoning: Mapping[str, Any] | None, profile: ModelProfile) -> None:
    if not reasoning:
        return
    effort, summary = reasoning.get("effort"), reasoning.get("summary")
    if not profile.reasoning:
        raise errors.unsupported_parameter("reasoning.effort" if effort else "reasoning.summary")
    if effort is not None and effort not in profile.reasoning_tokens:
        raise errors.invalid_value("reasoning.effort", effort, list(profile.reasoning_tokens))
    if summary is not None and summary not in SUMMARIES:
        raise errors.invalid_value("reasoning.summary", summary, SUMMARIES)


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise errors.invalid_type("tools", "an array", tools)
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise errors.invalid_type(param, "an object", tool)
        if tool.get("type") not in BUILT_IN_TOOLS:
            raise errors.invalid_value(f"{param}.type", tool.get("type"), BUILT_IN_TOOLS)
        if tool["type"] == "function":  # flat: a nested `function` object has no `name` here
            check_name(f"{param}.name", tool.get("name"))


def _items(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The input as a list of items, each with its `type` (short-form messages get one)."""
    raw = doc.get("input")
    if raw is None:
        raise errors.missing("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise errors.invalid_type("input", "a string or an array", raw)
    if not raw:
        raise errors.empty_array("input")
    items = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise errors.invalid_type(f"input[{index}]", "an object", item)
        kind = item.get("type", "message" if "role" in item else None)
        if kind not in ITEM_TYPES:
            raise errors.invalid_value(f"input[{index}].type", kind, ITEM_TYPES)
        items.append({**item, "type": kind})
    return items


def _check_item(index: int, item: Mapping[str, Any]) -> None:
    param = f"input[{index}]"
    kind = item["type"]
    if kind == "message":
        _check_message(param, item)
    elif kind == "function_call":
        for name in ("call_id", "arguments"):
            if not isinstance(item.get(name), str):
                raise _missing_or_type(f"{param}.{name}", item.get(name), "a string")
        check_name(f"{param}.name", item.get("name"))
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise _missing_or_type(f"{param}.call_id", item.get("call_id"), "a string")
        if not isinstance(item.get("output"), str | list):
            raise _missing_or_type(f"{param}.output", item.get("output"), "a string or an array")
    else:
        if not isinstance(item.get("id"), str):
            raise _missing_or_type(f"{param}.id", item.get("id"), "a string")
        if not isinstance(item.get("summary"), list):
            raise _missing_or_type(f"{param}.summary", item.get("summary"), "an array")


def _missing_or_type(param: str, value: Any, expected: str) -> SimError:
    return errors.missing(param) if value is None else errors.invalid_type(param, expected, value)


def _check_message(param: str, item: Mapping[str, Any]) -> None:
    role = item.get("role")
    if role is None:
        raise errors.missing(f"{param}.role")
    if role not in ROLES:
        raise errors.invalid_value(f"{param}.role", role, ROLES)
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _missing_or_type(f"{param}.content", content, "a string or an array")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise errors.invalid_value(f"{param}.content[{index}].type", kind, allowed)


def _check_calls(items: list[dict[str, Any]]) -> None:
    """Every output answers an earlier call, and every call gets an output (stateless input)."""
    called: set[str] = set()
    answered: set[str] = set()
    for item in items:
        if item["type"] == "function_call":
            called.add(item["call_id"])
        elif item["type"] == "function_call_output":
            if item["call_id"] not in called:
                raise SimError(
                    f"No tool call found for function call output with call_id {item['call_id']}.",
                    param="input",
                )
            answered.add(item["call_id"])
    for item in items:
        if item["type"] == "function_call" and item["call_id"] not in answered:
            message = f"No tool output found for function call {item['call_id']}."
            raise SimError(message, param="input")


def _check_reasoning(
    index: int, item: Mapping[str, Any], items: list[dict[str, Any]], store: bool, vault: Vault
) -> None:
    """A reasoning item must come from this simulator, by its encrypted content or (stored
    responses only) by its id, and must be followed by the item it led to."""
    item_id, encrypted = item["id"], item.get("encrypted_content")
    if isinstance(encrypted, str) and encrypted:
        if not vault.opens(item_id, encrypted):
            raise SimError(
                f"The encrypted content {encrypted[:4]}...{encrypted[-4:]} could not be verified.",
                code="invalid_encrypted_content",
            )
    elif not store:
        raise SimError(
            f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to "
            "false. Try again with `store` set to true, or remove this item from your input.",
            status=404,
            param="input",
        )
    elif not vault.stored(item_id):
        raise SimError(f"Item with id '{item_id}' not found.", status=404, param="input")
    if index == len(items) - 1:
        raise SimError(
            f"Item '{item_id}' of type 'reasoning' was provided without its required following "
            "item.",
            param="input",
        )
