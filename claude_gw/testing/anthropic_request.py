"""Anthropic Messages requests: the checks Anthropic makes, and the chat-shaped request they
amount to for the shared answer logic.

Messages are the validator's (`messages.1.content.0: ...`) and the tool pairing rules' as
Anthropic words them; unknown top-level fields are let through, since the CLI sends new ones
behind `anthropic-beta` headers. So are `role: "system"` messages in the conversation (the CLI
sends them under the `mid-conversation-system-2026-04-07` beta, see ../shared/notes/claude-
cli.md): they take no part in role alternation or tool pairing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from claude_gw.testing import anthropic_errors as errors

MIN_THINKING_BUDGET = 1024
BLOCK_TYPES: Mapping[str, tuple[str, ...]] = {
    "user": ("text", "image", "document", "search_result", "tool_result"),
    "assistant": (
        "text",
        "tool_use",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
    ),
    "system": ("text",),
}
THINKING_TYPES = ("enabled", "disabled", "adaptive")
TOOL_CHOICES = ("auto", "any", "tool", "none")
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def validate_messages(doc: Mapping[str, Any], *, count_only: bool = False) -> int:
    """Raise `AnthropicError` for the first thing Anthropic would reject in this request (a
    `count_tokens` request when `count_only`: no `max_tokens` then); return how many thinking
    blocks the conversation carries."""
    if not isinstance(doc.get("model"), str) or not doc["model"]:
        raise errors.required("model")
    if not count_only:
        _check_max_tokens(doc.get("max_tokens"))
    messages = doc.get("messages")
    if messages is None:
        raise errors.required("messages")
    if not isinstance(messages, list):
        raise errors.invalid("messages: Input should be a valid list")
    if not messages:
        raise errors.invalid("messages: at least one message is required")
    for index, message in enumerate(messages):
        _check_message(index, message, last=index == len(messages) - 1)
    turns = [(index, m) for index, m in enumerate(messages) if m["role"] != "system"]
    _check_alternation(turns)
    _check_tool_pairs(turns)
    _check_system(doc.get("system"))
    _check_tools(doc.get("tools"), doc.get("tool_choice"))
    if not count_only:
        _check_thinking(doc)
        if "stream" in doc and not isinstance(doc["stream"], bool):
            raise errors.invalid("stream: Input should be a valid boolean")
    return sum(
        1 for message in messages for block in _blocks(message) if block["type"] == "thinking"
    )


def _check_max_tokens(value: Any) -> None:
    if value is None:
        raise errors.required("max_tokens")
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise errors.invalid("max_tokens: Input should be greater than or equal to 1")


def _blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _check_message(index: int, message: Any, *, last: bool) -> None:
    path = f"messages.{index}"
    if not isinstance(message, dict):
        raise errors.invalid(f"{path}: Input should be a valid dictionary")
    role = message.get("role")
    if not isinstance(role, str) or role not in BLOCK_TYPES:
        raise errors.invalid(f"{path}.role: Input should be 'user', 'assistant' or 'system'")
    content = message.get("content")
    if content is None:
        raise errors.required(f"{path}.content")
    if not isinstance(content, str | list):
        raise errors.invalid(f"{path}.content: Input should be a valid list")
    if not content and not (last and role == "assistant"):
        raise errors.invalid(
            f"{path}: all messages must have non-empty content except for the optional final "
            "assistant message"
        )
    for number, block in enumerate(content if isinstance(content, list) else []):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES[role]:
            expected = ", ".join(f"'{t}'" for t in BLOCK_TYPES[role])
            raise errors.invalid(
                f"{path}.content.{number}: Input tag '{kind}' found using 'type' does not match "
                f"any of the expected tags: {expected}"
            )


def _check_alternation(turns: list[tuple[int, dict[str, Any]]]) -> None:
    for (_, previous), (_, message) in itertools.pairwise(turns):
        if message["role"] == previous["role"]:
            raise errors.invalid(
                'messages: roles must alternate between "user" and "assistant", but found '
                f'multiple "{message["role"]}" roles in a row'
            )


def _check_tool_pairs(turns: list[tuple[int, dict[str, Any]]]) -> None:
    """tool_result blocks answer the tool_use blocks of the turn right before, all of them."""
    offered: list[str] = []
    offered_by = 0
    for index, message in turns:
        blocks = _blocks(message)
        results = [(n, b) for n, b in enumerate(blocks) if b["type"] == "tool_result"]
        answered = {block.get("tool_use_id") for _, block in results}
        for number, block in results:
            if block.get("tool_use_id") not in offered:
                raise errors.invalid(
                    f"messages.{index}.content.{number}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` block "
                    "must have a corresponding `tool_use` block in the previous message."
                )
        unanswered = [call_id for call_id in offered if call_id not in answered]
        if unanswered:
            raise errors.invalid(
                f"messages.{offered_by}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(unanswered)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        offered = [str(b.get("id")) for b in blocks if b["type"] == "tool_use"]
        offered_by = index


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise errors.invalid("system: Input should be a valid list")
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise errors.invalid(f"system.{index}.type: Input should be 'text'")


def _check_tools(tools: Any, choice: Any) -> None:
    if tools is not None and not isinstance(tools, list):
        raise errors.invalid("tools: Input should be a valid list")
    for index, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise errors.invalid(f"tools.{index}: Input should be a valid dictionary")
        if tool.get("type") not in (None, "custom"):
            continue  # a server tool (web_search_...): its own schema, not checked here
        for name in ("name", "input_schema"):
            if tool.get(name) is None:
                raise errors.required(f"tools.{index}.custom.{name}")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in TOOL_CHOICES:
        raise errors.invalid(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if kind == "tool" and not choice.get("name"):
        raise errors.required("tool_choice.tool.name")


def _check_thinking(doc: Mapping[str, Any]) -> None:
    thinking = doc.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in THINKING_TYPES:
        raise errors.invalid(
            f"thinking: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'enabled', 'disabled', 'adaptive'"
        )
    if kind == "disabled":
        return
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if budget is None:
            raise errors.required("thinking.enabled.budget_tokens")
        if not isinstance(budget, int) or budget < MIN_THINKING_BUDGET:
            raise errors.invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to "
                f"{MIN_THINKING_BUDGET}"
            )
        if budget >= doc["max_tokens"]:
            raise errors.invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                f"documentation at {_DOCS}#max-tokens-and-context-window-size"
            )
    temperature = doc.get("temperature")
    if temperature is not None and temperature != 1:
        raise errors.invalid(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            f"documentation at {_DOCS}#feature-compatibility"
        )


# --------------------------------------------------------------------------- chat shape


def to_chat(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The chat-shaped request this validated Messages request amounts to: the system prompt
    first, tool results as tool messages before the rest of their user turn (the gateway's
    chat translation does the same), tool_use blocks as tool calls."""
    messages: list[dict[str, Any]] = []
    system = doc.get("system")
    if system:
        text = system if isinstance(system, str) else "\n".join(b["text"] for b in system)
        messages.append({"role": "system", "content": text})
    for message in doc["messages"]:
        if message["role"] == "user":
            messages += _user_messages(_blocks(message))
        elif message["role"] == "system":
            text = "\n".join(block.get("text") or "" for block in _blocks(message))
            messages.append({"role": "system", "content": text})
        else:
            messages.append(_assistant_message(_blocks(message)))
    chat: dict[str, Any] = {"model": doc["model"], "messages": messages}
    tools = [_chat_tool(t) for t in doc.get("tools") or [] if t.get("type") in (None, "custom")]
    if tools:
        chat["tools"] = tools
    chat.update(_chat_tool_choice(doc.get("tool_choice")))
    chat["max_completion_tokens"] = doc.get("max_tokens")
    if doc.get("stop_sequences"):
        chat["stop"] = list(doc["stop_sequences"])
    return chat


def _user_messages(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if block["type"] == "tool_result":
            content = {"role": "tool", "tool_call_id": block.get("tool_use_id")}
            out.append({**content, "content": _result_text(block.get("content"))})
        elif block["type"] == "text" and block.get("text"):
            parts.append({"type": "text", "text": block["text"]})
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = [b.get("text") for b in content or [] if isinstance(b, dict)]
    return "\n".join(text for text in texts if isinstance(text, str))


def _assistant_message(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    text = "".join(b.get("text") or "" for b in blocks if b["type"] == "text")
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = [
        {
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input"))},
        }
        for block in blocks
        if block["type"] == "tool_use"
    ]
    if calls:
        message["tool_calls"] = calls
    return message


def _chat_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = {"name": tool["name"], "parameters": tool.get("input_schema") or {}}
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: Mapping[str, Any] | None) -> dict[str, Any]:
    if choice is None:
        return {}
    out: dict[str, Any] = {}
    kind = choice["type"]
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out


def thinking_budget(doc: Mapping[str, Any]) -> int | None:
    """The most thinking the request allows: `budget_tokens`, `max_tokens` for adaptive
    thinking, None when thinking is off."""
    thinking = doc.get("thinking") or {}
    if thinking.get("type") == "enabled":
        return int(thinking["budget_tokens"])
    if thinking.get("type") == "adaptive":
        return int(doc["max_tokens"])
    return None
