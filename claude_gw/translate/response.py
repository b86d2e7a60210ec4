"""OpenAI Chat Completions response -> Anthropic Messages response (non-streaming).

`map_finish_reason` and `usage_to_anthropic` are shared with the streaming translator, and
`parse_tool_arguments` may be: the same rules then hold whether the client streams or not.

Decisions:
- Block order: thinking (from `reasoning_content` or `reasoning`, the vLLM / DeepSeek /
  OpenRouter fields), text, refusal text, then tool_use blocks in the upstream's order.
- A refusal becomes a text block and stop_reason `refusal` (OpenAI itself says `stop`).
- Tool arguments that are empty become `{}`; arguments that are not a JSON object become
  `{"_raw_arguments": <text>}` (`RAW_ARGUMENTS_KEY`), so the call still reaches the client,
  whose schema check then tells the model what went wrong, instead of failing the whole turn.
- A tool call without an id gets `call_<index>_<message_id>`, unique within the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from claude_gw.errors import UpstreamError
from claude_gw.wire import (
    JSON,
    AnthropicResponse,
    AnthropicUsage,
    ChatCompletion,
    ChatUsage,
    StopReason,
)

RAW_ARGUMENTS_KEY = "_raw_arguments"
_FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def openai_to_anthropic(
    resp: ChatCompletion, *, message_id: str, model: str | None = None
) -> AnthropicResponse:
    """The Anthropic Message for a chat completion; `model=None` keeps the upstream's name.

    Raises `UpstreamError` when `resp` is not a chat completion with at least one choice.
    """
    message, finish_reason = _first_choice(resp)
    content = _thinking(message) + _text(message)
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = _tool_uses(message.get("tool_calls"), message_id)
    stop_reason = map_finish_reason(finish_reason, has_tool_calls=bool(calls))
    if isinstance(refusal, str) and refusal:
        stop_reason = "refusal"
    upstream_model = resp.get("model")
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model if model is not None else str(upstream_model or ""),
        "content": content + calls,
        "stop_reason": stop_reason,
        "stop_sequence": None,  # Chat Completions never says which stop sequence matched
        "usage": usage_to_anthropic(resp.get("usage")),
    }


def map_finish_reason(finish_reason: str | None, *, has_tool_calls: bool) -> StopReason:
    """Anthropic stop_reason for an OpenAI finish_reason (table in the wire README).

    With tool calls present, `stop`, a missing reason or an unknown one all mean `tool_use`:
    some OpenAI-compatible servers report `stop` after a tool call, and the client only runs
    tools for `tool_use`. `length` stays `max_tokens` (the call was cut) and `content_filter`
    stays `refusal`. Without tool calls, unknown reasons are `end_turn`.
    """
    mapped = _FINISH_REASONS.get(finish_reason) if isinstance(finish_reason, str) else None
    if has_tool_calls and mapped in (None, "end_turn"):
        return "tool_use"
    return mapped or "end_turn"


def usage_to_anthropic(usage: ChatUsage | None) -> AnthropicUsage:
    """Anthropic usage for OpenAI usage (all four fields, zeros when `usage` is None).

    OpenAI's `prompt_tokens` include cached tokens; Anthropic's `input_tokens` exclude cache
    reads, so input = prompt - cached and cache_read = cached. `completion_tokens` already
    include reasoning tokens, as Anthropic's `output_tokens` include thinking. Cached tokens are
    `prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens`.
    """
    raw: Any = usage
    if not isinstance(raw, Mapping):
        raw = {}
    prompt = token_count(raw.get("prompt_tokens"))
    details = raw.get("prompt_tokens_details")
    cached = token_count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    cached = min(cached or token_count(raw.get("prompt_cache_hit_tokens")), prompt)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": token_count(raw.get("completion_tokens")),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def parse_tool_arguments(arguments: str) -> JSON:
    """A tool call's `input` from its arguments text (see the module docstring)."""
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {RAW_ARGUMENTS_KEY: arguments}
    return parsed if isinstance(parsed, dict) else {RAW_ARGUMENTS_KEY: arguments}


MAX_COUNT = 2**53  # the largest count every JSON reader holds exactly; no real usage comes near


def token_count(value: Any) -> int:
    """A token count; anything that is not a number in [0, MAX_COUNT] counts as 0 (a usage
    of 10**30, or infinity, is an upstream's bug, and cannot be written as a JSON integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0
    if not 0 <= value <= MAX_COUNT:
        return 0
    return int(value)


def _first_choice(resp: Any) -> tuple[Mapping[str, Any], str | None]:
    if not isinstance(resp, Mapping):
        raise UpstreamError(f"upstream answer is not a chat completion: {type(resp).__name__}")
    error = resp.get("error")
    if error:
        detail = error.get("message") if isinstance(error, Mapping) else error
        raise UpstreamError(f"upstream answered with an error instead of a completion: {detail}")
    choices = resp.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise UpstreamError("upstream answer is not a chat completion: it has no choices")
    message = choices[0].get("message")
    if not isinstance(message, Mapping):
        raise UpstreamError("upstream answer is not a chat completion: choice 0 has no message")
    finish_reason = choices[0].get("finish_reason")
    return message, finish_reason if isinstance(finish_reason, str) else None


def _thinking(message: Mapping[str, Any]) -> list[JSON]:
    for key in ("reasoning_content", "reasoning"):
        text = message.get(key)
        if isinstance(text, str) and text:
            return [{"type": "thinking", "thinking": text, "signature": ""}]
    return []


def _text(message: Mapping[str, Any]) -> list[JSON]:
    """The message text; some compatible servers send a list of text parts instead of a string."""
    content = message.get("content")
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, Mapping)]
        content = "".join(part for part in parts if isinstance(part, str))
    if isinstance(content, str) and content:
        return [{"type": "text", "text": content}]
    return []


def _tool_uses(tool_calls: Any, message_id: str) -> list[JSON]:
    if not isinstance(tool_calls, list):
        return []
    return [_tool_use(call, index, message_id) for index, call in enumerate(tool_calls)]


def _tool_use(call: Any, index: int, message_id: str) -> JSON:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise UpstreamError(f"upstream tool call {index} has no function name")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{index}_{message_id}"
    return {
        "type": "tool_use",
        "id": call_id,
        "name": function["name"],
        "input": tool_input(function.get("arguments")),
    }


def tool_input(arguments: Any) -> JSON:
    """Arguments are a JSON text; a few compatible servers send the object itself."""
    if isinstance(arguments, dict):
        return arguments
    return parse_tool_arguments(arguments if isinstance(arguments, str) else "")


def completion_chunks(resp: ChatCompletion) -> list[ChatCompletion]:
    """The chunks a stream of the same answer would have had: the first choice's message as
    one delta (its tool calls numbered), a chunk with its finish reason, then one with the
    usage if it has any. For a server that gives some answers only unstreamed (llama-cpp-python
    with `tool_choice: auto`), so they go to a streaming client through the stream translator.

    Raises `UpstreamError` when `resp` is not a chat completion, as `openai_to_anthropic` does.
    """
    message, finish_reason = _first_choice(resp)
    delta: Any = {key: value for key, value in message.items() if key != "function_call"}
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        numbered = enumerate(call for call in calls if isinstance(call, Mapping))
        delta["tool_calls"] = [{**call, "index": index} for index, call in numbered]
    head: dict[str, Any] = {k: v for k, v in resp.items() if k in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"
    chunks = [
        _chunk(head, choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
        _chunk(head, choices=[{"index": 0, "delta": {}, "finish_reason": finish_reason}]),
    ]
    usage = resp.get("usage")
    if isinstance(usage, Mapping):
        chunks.append(_chunk(head, choices=[], usage=usage))
    return chunks


def _chunk(head: Mapping[str, Any], **fields: Any) -> ChatCompletion:
    return cast(ChatCompletion, {**head, **fields})
