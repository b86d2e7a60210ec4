"""Anthropic Messages request -> OpenAI Chat Completions request.

Contract: `anthropic_to_openai` never mutates its input, returns only JSON-serialisable data,
and for any input raises nothing but `InvalidRequest`, whose message starts with the path of
the offending field (`messages.3.content.1: unsupported content block type 'document'`).
The output may share nested JSON-schema objects with the input's tools: treat both as read-only.

Decisions (the brief and the Claude CLI notes, sections 4 and 8, say why each matters):
- Text blocks of one message are joined with `JOINER` (a blank line). A user message with only
  text becomes a plain string; one with an image becomes a content-part list.
- `tool_result` blocks become `tool` messages placed before the rest of their user message.
  Images in a tool result cannot go in a tool message: the tool message says they follow, and
  they open the next user message behind a text part naming the tool call they belong to.
- A failed tool result (`is_error: true`) starts with `TOOL_ERROR_PREFIX`; an empty one reads
  `EMPTY_TOOL_RESULT`, so no tool message is ever empty.
- A `tool_result` must answer a `tool_use` of the latest assistant message, as both APIs require.
- An assistant message left with neither text nor tool calls (thinking only) is omitted.
- A `role: system` message the CLI put between tool calls and their results moves down past the
  `tool` messages, because OpenAI wants those right after the assistant's `tool_calls`.
- Structured output (`output_config.format`, `output_format`) becomes `response_format` with the
  same JSON schema (`translate.structured` says when it is strict).
- `$schema` is removed from the top level of each tool's schema only: that is where the CLI puts
  it, and OpenAI objects to unknown keys only in strict mode, which is never sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NoReturn, TypeGuard

from claude_gw.errors import InvalidRequest
from claude_gw.translate.models import TargetModel
from claude_gw.translate.structured import response_format
from claude_gw.wire import (
    JSON,
    AnthropicRequest,
    ChatFunction,
    ChatMessage,
    ChatRequest,
    ChatTool,
)

JOINER = "\n\n"
BILLING_HEADER_PREFIX = "x-anthropic-billing-header"
TOOL_ERROR_PREFIX = "Error: "
EMPTY_TOOL_RESULT = "(empty result)"
MAX_STOP_SEQUENCES = 4  # OpenAI's limit
USER_PREFIX = "cgw-"
# "Reserved placeholder that keeps deferred tool loading active; never call this tool."
DROPPED_TOOL_NAMES = frozenset({"DeferredToolPlaceholder"})
EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "xhigh": "high"}
# Thinking cannot go back to Chat Completions; a past web search (server_tool_use and its
# result) cannot be replayed to an OpenAI API, and the text after it says what it found.
DROPPED_BLOCK_TYPES = frozenset(
    {"thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result"}
)


def anthropic_to_openai(req: AnthropicRequest, *, target: TargetModel) -> ChatRequest:
    """The Chat Completions request for `req`, addressed to `target` (see the module docstring)."""
    doc: Any = req
    if not _is_object(doc):
        _fail("body", f"must be a JSON object, not {type(doc).__name__}")
    out: ChatRequest = {"model": target.name, "messages": _messages(doc)}
    out["max_completion_tokens"] = _max_tokens(doc.get("max_tokens"))
    _add_tools(out, doc)
    if (output_format := response_format(doc)) is not None:
        out["response_format"] = output_format
    _add_sampling(out, doc, target)
    _add_stop_and_user(out, doc)
    _add_stream(out, doc.get("stream"))
    return out


# --------------------------------------------------------------------------- validation helpers


def _fail(path: str, problem: str) -> NoReturn:
    raise InvalidRequest(f"{path}: {problem}")


def _show(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    # a JSON object is a dict: the exact type test is 10x cheaper than the ABC's
    return type(value) is dict or isinstance(value, Mapping)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(value: Any, path: str, *, non_empty: bool = False) -> str:
    if not isinstance(value, str) or (non_empty and not value):
        _fail(path, f"must be a {'non-empty ' if non_empty else ''}string, not {_show(value)}")
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not _is_object(value):
        _fail(path, f"must be an object, not {_show(value)}")
    return value


def unsupported(path: str, kind: str) -> NoReturn:
    _fail(path, f"unsupported content block type {kind!r}")


def _max_tokens(value: Any) -> int:
    if value is None:
        _fail("max_tokens", "required")
    if not _is_int(value) or value < 1:
        _fail("max_tokens", f"must be a positive integer, not {_show(value)}")
    return int(value)


# --------------------------------------------------------------------------- messages


def _messages(doc: Mapping[str, Any]) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    system = top_system(doc.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    raw = doc.get("messages")
    if not isinstance(raw, list) or not raw:
        _fail("messages", f"required, and must be a non-empty list, not {_show(raw)}")
    open_calls: dict[str, str] = {}  # tool_use id -> tool name, from the latest assistant message
    for i, message in enumerate(raw):
        out.extend(_message(message, f"messages.{i}", open_calls))
    return _system_after_tool_messages(out)


def top_system(system: Any) -> str:
    """The top-level system prompt as one text, without the per-session billing header block."""
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        _fail("system", f"must be a string or a list of text blocks, not {_show(system)}")
    texts = [text_of_block(block, f"system.{j}") for j, block in enumerate(system)]
    return JOINER.join(text for text in texts if not text.startswith(BILLING_HEADER_PREFIX))


def _message(message: Any, path: str, open_calls: dict[str, str]) -> list[ChatMessage]:
    if not _is_object(message):
        _fail(path, f"must be an object with role and content, not {_show(message)}")
    role = message.get("role")
    if role not in ("user", "assistant", "system"):
        _fail(f"{path}.role", f"must be 'user', 'assistant' or 'system', not {_show(role)}")
    blocks = content_blocks(
        message.get("content"), f"{path}.content", allow_empty=role == "assistant"
    )
    if role == "system":
        texts = [text_of_block(block, f"{path}.content.{j}") for j, block in enumerate(blocks)]
        return [{"role": "system", "content": JOINER.join(texts)}]
    if role == "user":
        return _user(blocks, f"{path}.content", open_calls)
    return _assistant(blocks, f"{path}.content", open_calls)


def content_blocks(content: Any, path: str, *, allow_empty: bool) -> list[Mapping[str, Any]]:
    """Message content as a list of blocks each with a string `type` (a string is one text)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        _fail(path, f"must be a string or a list of content blocks, not {_show(content)}")
    if not content and not allow_empty:
        _fail(path, "must not be empty")
    for j, block in enumerate(content):
        if not _is_object(block) or not isinstance(block.get("type"), str):
            _fail(f"{path}.{j}", f"must be a content block with a string type, not {_show(block)}")
    return content


def text_of_block(block: Any, path: str) -> str:
    if not _is_object(block) or block.get("type") != "text":
        _fail(path, f"must be a text block, not {_show(block)}")
    return _string(block.get("text"), f"{path}.text")


def text_part(text: str) -> JSON:
    return {"type": "text", "text": text}


def _user(
    blocks: list[Mapping[str, Any]], path: str, open_calls: dict[str, str]
) -> list[ChatMessage]:
    tool_messages: list[ChatMessage] = []
    parts: list[JSON] = []
    for j, block in enumerate(blocks):
        kind, block_path = block["type"], f"{path}.{j}"
        if kind == "tool_result":
            tool_message, images = tool_result(block, block_path, open_calls)
            tool_messages.append(tool_message)
            parts.extend(images)
        elif kind == "text":
            parts.append(text_part(text_of_block(block, block_path)))
        elif kind == "image":
            parts.append(image_part(block, block_path))
        else:
            unsupported(block_path, kind)
    if not parts:
        return tool_messages
    return [*tool_messages, {"role": "user", "content": user_content(parts)}]


def user_content(parts: list[JSON]) -> str | list[JSON]:
    if all(part["type"] == "text" for part in parts):
        return JOINER.join(part["text"] for part in parts)
    return parts


def image_part(block: Mapping[str, Any], path: str) -> JSON:
    source = _object(block.get("source"), f"{path}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = _string(source.get("media_type"), f"{path}.source.media_type", non_empty=True)
        data = _string(source.get("data"), f"{path}.source.data", non_empty=True)
        url = f"data:{media_type};base64,{data}"
    elif kind == "url":
        url = _string(source.get("url"), f"{path}.source.url", non_empty=True)
    else:
        _fail(f"{path}.source.type", f"unsupported image source type {_show(kind)}")
    return {"type": "image_url", "image_url": {"url": url}}


# --------------------------------------------------------------------------- tool results


def tool_result(
    block: Mapping[str, Any], path: str, open_calls: dict[str, str]
) -> tuple[ChatMessage, list[JSON]]:
    """The `tool` message for one tool_result, and the user parts carrying its images."""
    call_id = _string(block.get("tool_use_id"), f"{path}.tool_use_id", non_empty=True)
    if call_id not in open_calls:
        _fail(
            f"{path}.tool_use_id",
            f"{call_id!r} matches no tool_use block in the preceding assistant message",
        )
    is_error = block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        _fail(f"{path}.is_error", f"must be a boolean, not {_show(is_error)}")
    texts, images = _tool_result_content(block.get("content"), f"{path}.content")
    if images:
        texts.append(f"[{len(images)} image(s) from this result follow in the next user message]")
        note = f"The result of tool call {call_id} ({open_calls[call_id]}) included these images:"
        images.insert(0, text_part(note))
    text = JOINER.join(texts) or EMPTY_TOOL_RESULT
    content = TOOL_ERROR_PREFIX + text if is_error else text
    return {"role": "tool", "tool_call_id": call_id, "content": content}, images


def _tool_result_content(content: Any, path: str) -> tuple[list[str], list[JSON]]:
    """Non-empty texts and image parts of a tool result's content."""
    if content is None or isinstance(content, str):
        return ([content] if content else []), []
    if not isinstance(content, list):
        _fail(path, f"must be a string or a list of content blocks, not {_show(content)}")
    texts: list[str] = []
    images: list[JSON] = []
    for j, block in enumerate(content_blocks(content, path, allow_empty=True)):
        kind, block_path = block["type"], f"{path}.{j}"
        if kind == "text":
            texts.append(text_of_block(block, block_path))
        elif kind == "tool_reference":
            name = _string(block.get("tool_name"), f"{block_path}.tool_name", non_empty=True)
            texts.append(f"Tool loaded: {name}")
        elif kind == "image":
            images.append(image_part(block, block_path))
        else:
            unsupported(block_path, kind)
    return [text for text in texts if text], images


def _system_after_tool_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Move system messages that sit between `tool_calls` and their `tool` messages below them."""
    out: list[ChatMessage] = []
    held: list[ChatMessage] = []
    for message in messages:
        if message["role"] == "tool":
            out.append(message)
        elif message["role"] == "system" and out and _awaits_tool_messages(out[-1]):
            held.append(message)
        else:
            out.extend(held)
            held.clear()
            out.append(message)
    return out + held


def _awaits_tool_messages(message: ChatMessage) -> bool:
    return message["role"] == "tool" or "tool_calls" in message


# --------------------------------------------------------------------------- assistant


def _assistant(
    blocks: list[Mapping[str, Any]], path: str, open_calls: dict[str, str]
) -> list[ChatMessage]:
    texts: list[str] = []
    calls: list[JSON] = []
    for j, block in enumerate(blocks):
        kind, block_path = block["type"], f"{path}.{j}"
        if kind == "text":
            texts.append(text_of_block(block, block_path))
        elif kind == "tool_use":
            calls.append(tool_call(block, block_path))
        elif kind not in DROPPED_BLOCK_TYPES:  # Chat Completions cannot take thinking back
            unsupported(block_path, kind)
    open_calls.clear()
    open_calls.update((call["id"], call["function"]["name"]) for call in calls)
    if not texts and not calls:
        return []
    message: ChatMessage = {"role": "assistant", "content": JOINER.join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls  # type: ignore[typeddict-item]
    return [message]


def tool_call(block: Mapping[str, Any], path: str) -> JSON:
    call_id = _string(block.get("id"), f"{path}.id", non_empty=True)
    name = _string(block.get("name"), f"{path}.name", non_empty=True)
    arguments = _object(block.get("input"), f"{path}.input")
    compact = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": compact}}


# --------------------------------------------------------------------------- tools


def _add_tools(out: ChatRequest, doc: Mapping[str, Any]) -> None:
    tools = _tools(doc.get("tools"))
    names = {tool["function"]["name"] for tool in tools}
    choice, parallel = _tool_choice(doc.get("tool_choice"), names)
    if not tools:
        return  # tool_choice / parallel_tool_calls without tools is an OpenAI error
    out["tools"] = tools
    if choice is not None:
        out["tool_choice"] = choice
    if parallel is not None:
        out["parallel_tool_calls"] = parallel


def _tools(raw: Any) -> list[ChatTool]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail("tools", f"must be a list, not {_show(raw)}")
    out: list[ChatTool] = []
    for i, tool in enumerate(raw):
        path = f"tools.{i}"
        tool = _object(tool, path)
        kind = tool.get("type")
        if kind is not None and not isinstance(kind, str):
            _fail(f"{path}.type", f"must be a string, not {_show(kind)}")
        if kind not in (None, "custom"):
            continue  # an Anthropic server tool (web_search_20250305, ...): no OpenAI equivalent
        name = _string(tool.get("name"), f"{path}.name", non_empty=True)
        if name not in DROPPED_TOOL_NAMES:
            out.append({"type": "function", "function": _function(tool, path, name)})
    return out


def _function(tool: Mapping[str, Any], path: str, name: str) -> ChatFunction:
    """name, description, parameters; `defer_loading`, `cache_control` and `$schema` dropped."""
    function: ChatFunction = {"name": name}
    description = tool.get("description")
    if description is not None:
        function["description"] = _string(description, f"{path}.description")
    schema = _object(tool.get("input_schema"), f"{path}.input_schema")
    if isinstance(schema, dict) and "$schema" not in schema:
        function["parameters"] = schema  # the client's own object: there is nothing to drop
    else:
        function["parameters"] = {key: value for key, value in schema.items() if key != "$schema"}
    return function


def _tool_choice(raw: Any, names: set[str]) -> tuple[str | JSON | None, bool | None]:
    """OpenAI `tool_choice` and `parallel_tool_calls` (None: do not send)."""
    if raw is None:
        return None, None
    raw = _object(raw, "tool_choice")
    disable_parallel = raw.get("disable_parallel_tool_use")
    if disable_parallel is not None and not isinstance(disable_parallel, bool):
        _fail(
            "tool_choice.disable_parallel_tool_use",
            f"must be a boolean, not {_show(disable_parallel)}",
        )
    parallel = False if disable_parallel else None
    kind = raw.get("type")
    simple = {"auto": "auto", "any": "required", "none": "none"}
    if isinstance(kind, str) and kind in simple:
        return simple[kind], parallel
    if kind != "tool":
        _fail("tool_choice.type", f"must be 'auto', 'any', 'tool' or 'none', not {_show(kind)}")
    name = _string(raw.get("name"), "tool_choice.name", non_empty=True)
    if name not in names:
        _fail("tool_choice.name", f"no tool named {name!r} is sent upstream")
    return {"type": "function", "function": {"name": name}}, parallel


# --------------------------------------------------------------------------- parameters


def _add_sampling(out: ChatRequest, doc: Mapping[str, Any], target: TargetModel) -> None:
    """reasoning_effort for reasoning targets; temperature/top_p (rejected by those) otherwise."""
    effort = _reasoning_effort(doc)
    for key in ("temperature", "top_p"):
        value = doc.get(key)
        if value is not None and not _is_number(value):
            _fail(key, f"must be a number, not {_show(value)}")
        if value is not None and not target.reasoning:
            out[key] = value
    if effort is not None and target.reasoning:
        out["reasoning_effort"] = effort


def _reasoning_effort(doc: Mapping[str, Any]) -> str | None:
    """`output_config.effort` wins; otherwise derived from `thinking`; None: send nothing."""
    config = doc.get("output_config")
    effort = None if config is None else _object(config, "output_config").get("effort")
    if effort is None:
        return _effort_from_thinking(doc.get("thinking"))
    if not isinstance(effort, str) or effort not in EFFORTS:
        _fail("output_config.effort", f"must be one of {', '.join(EFFORTS)}, not {_show(effort)}")
    return EFFORTS[effort]


def _effort_from_thinking(thinking: Any) -> str | None:
    if thinking is None:
        return None
    kind = _object(thinking, "thinking").get("type")
    if kind == "disabled":
        return None
    if kind == "adaptive":
        return "medium"
    if kind != "enabled":
        _fail("thinking.type", f"must be 'enabled', 'adaptive' or 'disabled', not {_show(kind)}")
    budget = thinking.get("budget_tokens")
    if not _is_int(budget) or budget < 1:
        _fail("thinking.budget_tokens", f"must be a positive integer, not {_show(budget)}")
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def _add_stop_and_user(out: ChatRequest, doc: Mapping[str, Any]) -> None:
    stops = doc.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
            _fail("stop_sequences", f"must be a list of strings, not {_show(stops)}")
        if stops:
            out["stop"] = list(stops[:MAX_STOP_SEQUENCES])
    metadata = doc.get("metadata")
    user_id = None if metadata is None else _object(metadata, "metadata").get("user_id")
    if user_id is not None and _string(user_id, "metadata.user_id"):
        out["user"] = user_tag(user_id)


def user_tag(user_id: str) -> str:
    """OpenAI `user` for an Anthropic `metadata.user_id`: short, stable, not reversible.

    The CLI's user_id is a 150-character JSON string (device, account, session); OpenAI's
    `user` is meant to be a short opaque id (64 characters at most).
    """
    digest = hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()
    return USER_PREFIX + digest[:24]


def _add_stream(out: ChatRequest, stream: Any) -> None:
    if stream is not None and not isinstance(stream, bool):
        _fail("stream", f"must be a boolean, not {_show(stream)}")
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # usage arrives in a last chunk
