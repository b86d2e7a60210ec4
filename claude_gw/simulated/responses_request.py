"""The chat-shaped request a Responses API request amounts to (instructions and items as
messages, flat tools nested), for the shared answer logic and the token count."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claude_gw.simulated.errors import SimError

ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")


def items(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The input as a list of items, each with its `type` (short-form messages get one)."""
    raw = doc.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        raise SimError("'input' must be a string or a non-empty array of items.", param="input")
    found = [{**item, "type": item.get("type", "message")} for item in raw]
    if any(item["type"] not in ITEM_TYPES for item in found):
        raise SimError(f"Every input item's type must be one of {ITEM_TYPES}.", param="input")
    return found


def to_chat(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The chat-shaped request this validated Responses request amounts to, for the answer
    logic and the token count: instructions and items as messages, flat tools nested."""
    messages: list[dict[str, Any]] = []
    if doc.get("instructions"):
        messages.append({"role": "system", "content": doc["instructions"]})
    for item in items(doc):
        _add_item(messages, item)
    chat: dict[str, Any] = {"model": doc["model"], "messages": messages}
    tools = [_chat_tool(t) for t in doc.get("tools") or [] if t.get("type") == "function"]
    if tools:
        chat["tools"] = tools
    choice = doc.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif isinstance(choice, str):
        chat["tool_choice"] = choice
    if doc.get("parallel_tool_calls") is False:
        chat["parallel_tool_calls"] = False
    effort = (doc.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    if doc.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = doc["max_output_tokens"]
    text_format = (doc.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        spec = {key: value for key, value in text_format.items() if key != "type"}
        chat["response_format"] = {"type": "json_schema", "json_schema": spec}
    return chat


def _add_item(messages: list[dict[str, Any]], item: Mapping[str, Any]) -> None:
    kind = item["type"]
    if kind == "message":
        messages.append({"role": item["role"], "content": _text_parts(item["content"])})
    elif kind == "function_call":
        call = {
            "id": item["call_id"],
            "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]},
        }
        last = messages[-1] if messages else {}
        if last.get("role") == "assistant":  # one assistant turn: its text and its calls
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        content = _output_text(item["output"])
        messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
    # Reasoning items carry nothing the answer depends on.


def _text_parts(content: str | list[Any]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    texts = [part.get("text") or part.get("refusal") or "" for part in content]
    return [{"type": "text", "text": text} for text in texts if text]


def _output_text(output: str | list[Any]) -> str:
    if isinstance(output, str):
        return output
    texts = [part.get("text") for part in output if isinstance(part, dict)]
    return "\n".join(text for text in texts if isinstance(text, str)) or json.dumps(output)


def _chat_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = {"name": tool["name"], "parameters": tool.get("parameters") or {}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}
