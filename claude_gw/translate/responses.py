"""Anthropic Messages <-> OpenAI Responses API: the request, the non-streaming answer, signatures.

Contract: `anthropic_to_responses` never mutates its input, returns only JSON-serialisable data
and raises nothing but `InvalidRequest`, for exactly the requests `anthropic_to_openai` rejects
(it runs first: one validation and one set of parameter rules for both upstream APIs).
`responses_to_anthropic` raises nothing but `UpstreamError`.

Decisions:
- Stateless: `store: false`; reasoning targets also get `include: ["reasoning.encrypted_content"]`
  and `reasoning: {"effort", "summary": "auto"}` (effort by the chat translator's rules). A
  non-reasoning target gets neither (OpenAI rejects `reasoning` for those models) but keeps
  `temperature`/`top_p`.
- The top-level system prompt (billing header dropped) becomes `instructions`, the documented
  place for it. A `role: system` message in the conversation becomes a `developer` message for a
  reasoning target and a `system` message otherwise, as OpenAI names those roles; like the chat
  translator, one that sits between a `function_call` and its output moves below the outputs.
- A reasoning item comes back as a thinking block whose signature is the item itself, encoded
  (`encode_reasoning_signature`); the next request sends it back unchanged, in its place among
  the assistant's items. Thinking blocks with any other signature, `redacted_thinking` blocks,
  and reasoning items that nothing follows in their assistant message (OpenAI rejects those) are
  dropped.
- Tool results follow the chat translator: text output, `is_error` prefix, `tool_reference` as
  text, images in a user message right after the outputs. Tools are flat functions with an
  explicit `strict: false` (the spec requires the field; strict mode would reject the CLI's
  schemas, whose optional properties are not all listed in `required`).
- Structured output goes in `text.format`: the chat `response_format`'s schema, name and
  strictness, flat.
- `metadata.user_id` becomes `safety_identifier` (the Responses name that replaced `user`), as the
  same short hash. `stop_sequences` are dropped: the Responses API has no stop parameter.
- Answer: each `message` item becomes one text block (its output_text and refusal parts joined);
  a refusal part makes the stop reason `refusal`. The stop reason comes from `status` through
  the chat `finish_reason` it matches (`responses_finish_reason`), so tool calls win the same way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from claude_gw.errors import UpstreamError
from claude_gw.translate.models import TargetModel

# The block rules of the chat translators, shared so that both upstream APIs translate blocks
# alike.
from claude_gw.translate.request import (
    DROPPED_BLOCK_TYPES,
    JOINER,
    anthropic_to_openai,
    content_blocks,
    image_part,
    text_of_block,
    text_part,
    tool_call,
    tool_result,
    top_system,
    unsupported,
    user_content,
)
from claude_gw.translate.response import (
    map_finish_reason,
    token_count,
    tool_input,
    usage_to_anthropic,
)
from claude_gw.translate.responses_search import (
    SearchOptions,
    citations_of,
    is_search_call,
    search_parameters,
    search_result_block,
    search_usage,
    search_use_block,
)
from claude_gw.translate.structured import text_format
from claude_gw.wire import (
    JSON,
    AnthropicRequest,
    AnthropicResponse,
    ChatRequest,
    ChatTool,
    ChatUsage,
)

SIGNATURE_PREFIX = "cgw1."  # bump the digit if the encoded payload ever changes shape
REASONING_SUMMARY = "auto"
INCLUDE = ("reasoning.encrypted_content",)
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def anthropic_to_responses(req: AnthropicRequest, *, target: TargetModel) -> dict[str, Any]:
    """The Responses API request for `req`, addressed to `target` (see the module docstring)."""
    chat = anthropic_to_openai(req, target=target)  # validates all of `req`; raises InvalidRequest
    doc: Mapping[str, Any] = req
    out: dict[str, Any] = {"model": target.name}
    instructions = top_system(doc.get("system"))
    if instructions:
        out["instructions"] = instructions
    out["input"] = _input(doc["messages"], "developer" if target.reasoning else "system")
    out["store"] = False
    out.update(_parameters(chat, target))
    _add_search(out, search_parameters(doc))
    return out


def _add_search(out: dict[str, Any], search: JSON) -> None:
    """The web_search tools after the functions, their limit, and their sources included."""
    if not search:
        return
    out["tools"] = [*out.get("tools", []), *search["tools"]]
    if "max_tool_calls" in search:
        out["max_tool_calls"] = search["max_tool_calls"]
    out["include"] = [*out.get("include", []), *search["include"]]


# --------------------------------------------------------------------------- parameters


def _parameters(chat: ChatRequest, target: TargetModel) -> JSON:
    """Everything but `input`, reshaped from the chat request the same Anthropic request gave."""
    out: JSON = {"max_output_tokens": chat["max_completion_tokens"]}
    if "tools" in chat:
        out["tools"] = [_flat_tool(tool) for tool in chat["tools"]]
    if "tool_choice" in chat:
        out["tool_choice"] = _flat_tool_choice(chat["tool_choice"])
    if "parallel_tool_calls" in chat:
        out["parallel_tool_calls"] = chat["parallel_tool_calls"]
    if "response_format" in chat:
        out["text"] = text_format(chat["response_format"])
    if target.reasoning:
        effort = chat.get("reasoning_effort")
        out["reasoning"] = {"summary": REASONING_SUMMARY}
        if effort is not None:
            out["reasoning"] = {"effort": effort, "summary": REASONING_SUMMARY}
        out["include"] = list(INCLUDE)
    for key in ("temperature", "top_p"):
        if key in chat:
            out[key] = chat[key]
    if "user" in chat:
        out["safety_identifier"] = chat["user"]
    if chat.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_obfuscation": False}  # quirk 5: no padding on deltas
    return out


def _flat_tool(tool: ChatTool) -> JSON:
    function = tool["function"]
    out: JSON = {"type": "function", "name": function["name"]}
    if "description" in function:
        out["description"] = function["description"]
    out["parameters"] = function["parameters"]
    out["strict"] = False
    return out


def _flat_tool_choice(choice: str | JSON) -> str | JSON:
    if isinstance(choice, str):
        return choice  # auto, required and none are spelled the same
    return {"type": "function", "name": choice["function"]["name"]}


# --------------------------------------------------------------------------- input items


def _input(messages: list[Any], instruction_role: str) -> list[JSON]:
    """The `input` items for already validated Anthropic messages."""
    items: list[JSON] = []
    open_calls: dict[str, str] = {}  # tool_use id -> tool name, from the latest assistant message
    for i, message in enumerate(messages):
        path = f"messages.{i}.content"
        blocks = content_blocks(message.get("content"), path, allow_empty=True)
        role = message.get("role")
        if role == "system":
            texts = [text_of_block(block, f"{path}.{j}") for j, block in enumerate(blocks)]
            items.append(_message(instruction_role, JOINER.join(texts)))
        elif role == "user":
            items.extend(_user_items(blocks, path, open_calls))
        else:
            items.extend(_assistant_items(blocks, path, open_calls))
    return _instructions_after_outputs(items)


def _message(role: str, content: str | list[JSON]) -> JSON:
    return {"type": "message", "role": role, "content": content}


def _user_items(
    blocks: list[Mapping[str, Any]], path: str, open_calls: dict[str, str]
) -> list[JSON]:
    """function_call_output items first, then one user message with the remaining parts."""
    outputs: list[JSON] = []
    parts: list[JSON] = []  # chat-shaped parts, converted at the end
    for j, block in enumerate(blocks):
        kind, block_path = block["type"], f"{path}.{j}"
        if kind == "tool_result":
            tool_message, images = tool_result(block, block_path, open_calls)
            call_id, output = tool_message["tool_call_id"], tool_message["content"]
            outputs.append({"type": "function_call_output", "call_id": call_id, "output": output})
            parts.extend(images)
        elif kind == "text":
            parts.append(text_part(text_of_block(block, block_path)))
        elif kind == "image":
            parts.append(image_part(block, block_path))
        else:
            unsupported(block_path, kind)
    if not parts:
        return outputs
    content = user_content(parts)
    if not isinstance(content, str):
        content = [_input_part(part) for part in content]
    return [*outputs, _message("user", content)]


def _input_part(part: JSON) -> JSON:
    """A chat content part (`text` or `image_url`) as a Responses input part."""
    if part["type"] == "text":
        return {"type": "input_text", "text": part["text"]}
    return {"type": "input_image", "image_url": part["image_url"]["url"], "detail": "auto"}


def _assistant_items(
    blocks: list[Mapping[str, Any]], path: str, open_calls: dict[str, str]
) -> list[JSON]:
    """Reasoning, message and function_call items in the order of the assistant's blocks."""
    items: list[JSON] = []
    calls: dict[str, str] = {}
    for j, block in enumerate(blocks):
        kind, block_path = block["type"], f"{path}.{j}"
        if kind == "text":
            _add_output_text(items, text_of_block(block, block_path))
        elif kind == "tool_use":
            item = _function_call(tool_call(block, block_path))
            calls[item["call_id"]] = item["name"]
            items.append(item)
        elif kind == "thinking":
            reasoning = decode_reasoning_signature(block.get("signature"))
            if reasoning is not None:
                items.append(reasoning)
        elif kind not in DROPPED_BLOCK_TYPES:
            unsupported(block_path, kind)
    open_calls.clear()
    open_calls.update(calls)
    while items and items[-1]["type"] == "reasoning":
        items.pop()  # "provided without its required following item" otherwise
    return items


def _function_call(call: JSON) -> JSON:
    """A chat tool call (from the chat translator's `tool_call`) as a function_call item."""
    function = call["function"]
    return {
        "type": "function_call",
        "call_id": call["id"],
        "name": function["name"],
        "arguments": function["arguments"],
    }


def _add_output_text(items: list[JSON], text: str) -> None:
    """Consecutive text blocks share one assistant message item; empty texts are left out."""
    if not text:
        return
    part = {"type": "output_text", "text": text, "annotations": []}
    if items and items[-1]["type"] == "message":
        items[-1]["content"].append(part)
    else:
        items.append(_message("assistant", [part]))


def _instructions_after_outputs(items: list[JSON]) -> list[JSON]:
    """Move system/developer messages that follow a `function_call` below its outputs."""
    out: list[JSON] = []
    held: list[JSON] = []
    for item in items:
        if item["type"] == "function_call_output":
            out.append(item)
        elif item.get("role") in ("system", "developer") and out and _is_call(out[-1]):
            held.append(item)
        else:
            out.extend(held)
            held.clear()
            out.append(item)
    return out + held


def _is_call(item: JSON) -> bool:
    return bool(item["type"] == "function_call")


# --------------------------------------------------------------------------- signatures


def encode_reasoning_signature(item: Mapping[str, Any]) -> str:
    """A thinking block signature carrying a reasoning item: `cgw1.` + base64url(compact JSON).

    The JSON holds the item's `id`, `encrypted_content` and `summary`. An item without
    `encrypted_content` cannot be sent back to a stateless request, so it gets `""`.
    """
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str) or not encrypted:
        return ""
    summary = item.get("summary")
    payload = {
        "id": item.get("id"),
        "encrypted_content": encrypted,
        "summary": summary if isinstance(summary, list) else [],
    }
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return SIGNATURE_PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_reasoning_signature(sig: Any) -> JSON | None:
    """The reasoning item an `encode_reasoning_signature` string carries; None for anything else.

    Anthropic's own signatures, other gateways' and corrupt ones all give None, never an error.
    """
    if not isinstance(sig, str) or not sig.startswith(SIGNATURE_PREFIX):
        return None
    text = sig[len(SIGNATURE_PREFIX) :]
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        return None
    if not isinstance(payload, dict):
        return None
    item_id, encrypted, summary = (payload.get(k) for k in ("id", "encrypted_content", "summary"))
    if not (isinstance(item_id, str) and item_id and isinstance(encrypted, str) and encrypted):
        return None
    if not isinstance(summary, list) or not all(isinstance(part, dict) for part in summary):
        return None
    return {"type": "reasoning", "id": item_id, "encrypted_content": encrypted, "summary": summary}


# --------------------------------------------------------------------------- the answer


def responses_to_anthropic(
    resp: dict[str, Any],
    *,
    message_id: str,
    model: str | None = None,
    search: SearchOptions | None = None,
) -> AnthropicResponse:
    """The Anthropic Message for a Response object; `model=None` keeps the upstream's name.
    `search`: the request offered web search (its usage then counts searches, even none).

    Raises `UpstreamError` for a failed Response, an `error`, or a body that is not a Response.
    """
    output = _output(resp)
    content: list[JSON] = []
    refused = False
    searches = 0
    for index, item in enumerate(output):
        kind = item.get("type") if isinstance(item, Mapping) else None
        if is_search_call(item):
            use = search_use_block(item, message_id, searches)
            cited = citations_of(_next_message(output, index))
            content += [use, search_result_block(use["id"], item, cited, search)]
            searches += 1
        elif kind == "reasoning":
            content.append(reasoning_to_thinking(item))
        elif kind == "message":
            text, refusal = message_text(item)
            refused = refused or refusal
            if text:
                content.append({"type": "text", "text": text})
        elif kind == "function_call":
            content.append(_tool_use(item, index, message_id))
        # Other items (built-in tool calls the gateway never asks for) have no Anthropic block.
    has_calls = any(block["type"] == "tool_use" for block in content)
    stop_reason = map_finish_reason(responses_finish_reason(resp), has_tool_calls=has_calls)
    usage = usage_to_anthropic(responses_usage_to_chat(resp.get("usage")))
    if search is not None or searches:
        usage["server_tool_use"] = search_usage(searches)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model if model is not None else str(resp.get("model") or ""),
        "content": content,
        "stop_reason": "refusal" if refused else stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _next_message(output: list[Any], index: int) -> Any:
    """The first message item after `index` (before any other search), or None."""
    for item in output[index + 1 :]:
        if is_search_call(item):
            return None
        if isinstance(item, Mapping) and item.get("type") == "message":
            return item
    return None


def reasoning_to_thinking(item: Mapping[str, Any]) -> JSON:
    """The thinking block for a reasoning item: its summary texts, the item as signature."""
    return {
        "type": "thinking",
        "thinking": reasoning_text(item),
        "signature": encode_reasoning_signature(item),
    }


def reasoning_text(item: Mapping[str, Any]) -> str:
    """A reasoning item's summary texts, joined by a blank line (may be empty)."""
    summary = item.get("summary")
    parts = summary if isinstance(summary, list) else []
    texts = [part.get("text") for part in parts if isinstance(part, Mapping)]
    return JOINER.join(text for text in texts if isinstance(text, str) and text)


def message_text(item: Mapping[str, Any]) -> tuple[str, bool]:
    """A message item's text (output_text and refusal parts, in order) and whether it refused."""
    content = item.get("content")
    texts: list[str] = []
    refused = False
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        text = part.get("refusal") if kind == "refusal" else part.get("text")
        if kind in ("output_text", "refusal") and isinstance(text, str):
            texts.append(text)
            refused = refused or kind == "refusal"
    return "".join(texts), refused


def responses_finish_reason(response: Mapping[str, Any]) -> str | None:
    """The chat `finish_reason` a Response's status amounts to (wire README table), or None.

    completed -> stop; incomplete for max_output_tokens -> length, for content_filter ->
    content_filter. `map_finish_reason` then turns it into the Anthropic stop reason.
    """
    status = response.get("status")
    if status == "completed":
        return "stop"
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, Mapping) else None
    if status == "incomplete" and isinstance(reason, str):
        return _INCOMPLETE_REASONS.get(reason)
    return None


def responses_usage_to_chat(usage: Any) -> ChatUsage | None:
    """Responses usage in the OpenAI chat shape the log record is built from; None if absent.

    input/output tokens become prompt/completion tokens (same inclusions: cached within input,
    reasoning within output); the details keep `cached_tokens`/`reasoning_tokens` (0 if
    missing) and any other numeric entries, such as `cache_write_tokens`.
    """
    if not isinstance(usage, Mapping):
        return None
    prompt = token_count(usage.get("input_tokens"))
    completion = token_count(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": token_count(usage.get("total_tokens")) or prompt + completion,
        "prompt_tokens_details": _details(usage.get("input_tokens_details"), "cached_tokens"),
        "completion_tokens_details": _details(
            usage.get("output_tokens_details"), "reasoning_tokens"
        ),
    }


def _details(raw: Any, key: str) -> JSON:
    details = raw if isinstance(raw, Mapping) else {}
    out: JSON = {
        name: token_count(value)
        for name, value in details.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    out[key] = token_count(details.get(key))
    return out


def failure_message(error: Any) -> str:
    """`message (code)` for a Response `error` object or an in-stream `error` event."""
    if not isinstance(error, Mapping):
        return str(error)
    message = error.get("message") or json.dumps(error)
    code = error.get("code")
    return f"{message} ({code})" if code else str(message)


def _output(resp: Any) -> list[Any]:
    if not isinstance(resp, Mapping):
        raise UpstreamError(f"upstream answer is not a response: {type(resp).__name__}")
    error = resp.get("error")
    if error or resp.get("status") == "failed":
        detail = failure_message(error) if error else "no error detail"
        raise UpstreamError(f"upstream response failed: {detail}")
    output = resp.get("output")
    if not isinstance(output, list):
        raise UpstreamError("upstream answer is not a response: it has no output list")
    return output


def _tool_use(item: Mapping[str, Any], index: int, message_id: str) -> JSON:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise UpstreamError(f"upstream function call {index} has no name")
    return {
        "type": "tool_use",
        "id": call_id_for(item, index, message_id),
        "name": name,
        "input": tool_input(item.get("arguments")),
    }


def call_id_for(item: Mapping[str, Any], index: int, message_id: str) -> str:
    """The item's `call_id`, or `call_<output index>_<message id>` when it has none."""
    call_id = item.get("call_id")
    return call_id if isinstance(call_id, str) and call_id else f"call_{index}_{message_id}"
