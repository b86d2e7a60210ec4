"""Token counts for an answer whose upstream reported none, counted locally with o200k.

An upstream can leave usage out: llama-cpp-python's server never sends a usage chunk on a
stream (even with `stream_options.include_usage`), and a client that leaves a stream early
takes the usage chunk (which comes last) with it, although the upstream processed the prompt
and billed it. Rather than 0 tokens and $0, the gateway then counts the prompt it sent and the
text that came back, the way `count_tokens` counts: o200k_base, so a figure for a model with
another tokenizer is an estimate, and is logged as one (`claude_gw.usage_source: estimated`).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from claude_gw.apis import UpstreamApi
from claude_gw.tokens import count_text
from claude_gw.wire import AnthropicResponse, ChatUsage

UsageSource = Literal["upstream", "estimated"]


def output_tokens(message: AnthropicResponse) -> int:
    """The tokens of what the answer streamed so far: text, thinking, tool names and input."""
    texts: list[str] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            texts.append(block.get("thinking") or "")
        elif kind == "tool_use":
            texts.extend((block.get("name") or "", _json(block.get("input") or {})))
    return sum(count_text(text) for text in texts)


def estimated_usage(prompt: int, completion: int) -> ChatUsage:
    """OpenAI-shaped usage for the counts (no cache reads or reasoning tokens are known)."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def estimate(body: bytes, api: UpstreamApi, message: AnthropicResponse) -> ChatUsage:
    """Estimated usage of one exchange: the prompt sent (`body`, in `api`'s shape) and the
    answer received."""
    return estimated_usage(api.prompt_tokens(orjson.loads(body)), output_tokens(message))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
