"""Wire bytes of simulated answers: chunk envelopes, completion objects, usage, headers.

Shapes and key order follow ../shared/fixtures/wire/openai-chat-stream-text.sse,
openai-chat-stream-parallel-tools.sse and openai-chat-nonstream-tools.json.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from claude_gw.simulated.answer import Answer, ToolCall, pieces

DONE = b"data: [DONE]\n\n"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
_OBFUSCATION_ALPHABET = string.ascii_letters + string.digits
# Rate-limit headers of a healthy account, sent on every answer as OpenAI does.
RATE_LIMIT_HEADERS: Mapping[str, str] = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "30ms",
}


def sse(doc: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def json_body(doc: Mapping[str, Any]) -> bytes:
    """OpenAI pretty-prints non-streaming JSON answers (errors included)."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def usage(prompt_tokens: int, cached_tokens: int, answer: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": prompt_tokens + answer.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": answer.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_call_json(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def completion(
    *, completion_id: str, created: int, model: str, answer: Answer, usage: dict[str, Any]
) -> dict[str, Any]:
    """A non-streaming `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.tool_calls:
        message["tool_calls"] = [tool_call_json(call) for call in answer.tool_calls]
    message.update(refusal=None, annotations=[])
    choice = {"index": 0, "message": message, "logprobs": None}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{**choice, "finish_reason": answer.finish_reason}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": None,
    }


def deltas(answer: Answer, rng: random.Random) -> list[dict[str, Any]]:
    """The stream's deltas before the finish chunk: the role delta (with the first tool-call
    header when there is no text), text pieces, then each call's header and argument
    fragments (3-7 characters, so they split keys, strings and escapes)."""
    calls = list(answer.tool_calls)
    if answer.text is None and calls:
        header = _call_header(0, calls[0])
        out = [{"role": "assistant", "content": None, "tool_calls": [header], "refusal": None}]
        out += _fragments(0, calls[0], rng)
        start = 1
    else:
        out = [{"role": "assistant", "content": "", "refusal": None}]
        out += [{"content": piece} for piece in pieces(answer.text or "")]
        start = 0
    for index in range(start, len(calls)):
        out.append({"tool_calls": [_call_header(index, calls[index])]})
        out += _fragments(index, calls[index], rng)
    return out


def _call_header(index: int, call: ToolCall) -> dict[str, Any]:
    return {
        "index": index,
        **tool_call_json(call),
        "function": {"name": call.name, "arguments": ""},
    }


def _fragments(index: int, call: ToolCall, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
        for piece in split_arguments(call.arguments, rng)
    ]


def split_arguments(arguments: str, rng: random.Random) -> list[str]:
    """Tool-call arguments in 3-7 character fragments (they split keys, strings, escapes)."""
    out, pos = [], 0
    while pos < len(arguments):
        end = pos + rng.randint(3, 7)
        out.append(arguments[pos:end])
        pos = end
    return out


@dataclass(frozen=True)
class ChunkWriter:
    """Frames deltas as `chat.completion.chunk` SSE events with OpenAI's envelope: `usage:null`
    on every chunk when usage was asked for, and an `obfuscation` pad unless turned off."""

    completion_id: str
    created: int
    model: str
    include_usage: bool
    obfuscate: bool
    rng: random.Random

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._frame([choice], None, pad="" if finish_reason else self._pad())

    def usage_chunk(self, usage: dict[str, Any]) -> bytes:
        return self._frame([], usage, pad=self._pad())

    def _frame(self, choices: list[Any], usage: dict[str, Any] | None, pad: str) -> bytes:
        doc: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.include_usage:
            doc["usage"] = usage
        if self.obfuscate:
            doc["obfuscation"] = pad
        return sse(doc)

    def _pad(self) -> str:
        return obfuscation_pad(self.rng)


def obfuscation_pad(rng: random.Random) -> str:
    """A random-length pad like OpenAI's `obfuscation` field."""
    return "".join(rng.choices(_OBFUSCATION_ALPHABET, k=rng.randint(1, 12)))
