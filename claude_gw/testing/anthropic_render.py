"""Wire shapes of simulated Anthropic Messages answers: the Message object and stream events.

Shapes and order follow ../shared/fixtures/wire/anthropic-stream-text-tools.sse and
anthropic-stream-thinking.sse: `message_start` with the input usage, each block as
`content_block_start` / `content_block_delta`s / `content_block_stop` (a `ping` after the first
start; a thinking block ends with its `signature_delta`; tool input as `input_json_delta`
fragments, the first one `""`), then `message_delta` with the stop reason and the cumulative
usage, and `message_stop`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from claude_gw.simulated.answer import Answer, pieces
from claude_gw.simulated.common import Step, sse_event
from claude_gw.simulated.render import split_arguments

PING = b'event: ping\ndata: {"type": "ping"}\n\n'  # with the space, as the docs write it
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


@dataclass(frozen=True)
class Thinking:
    text: str
    signature: str
    tokens: int


@dataclass(frozen=True)
class MessagePlan:
    """Everything decided about one Message before it is written out. `input_tokens` excludes
    the cache reads and writes, as Anthropic counts it."""

    model: str
    message_id: str
    answer: Answer
    thinking: Thinking | None
    input_tokens: int
    cache_read: int
    cache_creation: int
    stop_sequence: str | None

    @property
    def stop_reason(self) -> str | None:
        if self.stop_sequence is not None:
            return "stop_sequence"
        finish = self.answer.finish_reason
        return None if finish is None else STOP_REASONS[finish]


def usage(plan: MessagePlan, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": plan.input_tokens,
        "cache_creation_input_tokens": plan.cache_creation,
        "cache_read_input_tokens": plan.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": plan.cache_creation,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def message(plan: MessagePlan, *, final: bool = True) -> dict[str, Any]:
    """The Message; `final=False` gives the empty one of `message_start`."""
    return {
        "model": plan.model,
        "id": plan.message_id,
        "type": "message",
        "role": "assistant",
        "content": blocks(plan) if final else [],
        "stop_reason": plan.stop_reason if final else None,
        "stop_sequence": plan.stop_sequence if final else None,
        "usage": usage(plan, plan.answer.completion_tokens if final else 1),
    }


def blocks(plan: MessagePlan) -> list[dict[str, Any]]:
    """The content blocks: thinking, text (when there is any), then tool_use blocks."""
    out: list[dict[str, Any]] = []
    if plan.thinking is not None:
        thinking = plan.thinking
        out.append({"type": "thinking", "thinking": thinking.text, "signature": thinking.signature})
    if plan.answer.text:
        out.append({"type": "text", "text": plan.answer.text})
    for call in plan.answer.tool_calls:
        arguments = orjson.loads(call.arguments)
        out.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return out


# --------------------------------------------------------------------------- stream events


def _event(doc: dict[str, Any]) -> bytes:
    return sse_event(doc["type"], doc)


def opening(plan: MessagePlan) -> bytes:
    return _event({"type": "message_start", "message": message(plan, final=False)})


def block_steps(plan: MessagePlan, rng: random.Random) -> list[Step]:
    """Every content block's events with their pacing (text pieces and argument fragments one
    token each; the hidden thinking spread over the thinking deltas); a ping after the first
    block starts, or on its own when there is no block at all."""
    steps: list[Step] = []
    index = 0
    if plan.thinking is not None:
        steps += _thinking_steps(plan.thinking, index)
        index += 1
    if plan.answer.text:
        deltas = [({"type": "text_delta", "text": p}, 1.0) for p in pieces(plan.answer.text)]
        steps += _block(index, {"type": "text", "text": ""}, deltas)
        index += 1
    for call in plan.answer.tool_calls:
        fragments = ["", *split_arguments(call.arguments, rng)]
        deltas = [({"type": "input_json_delta", "partial_json": f}, 1.0) for f in fragments]
        start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        steps += _block(index, start, deltas)
        index += 1
    if not steps:
        return [Step(PING)]
    return [steps[0], Step(PING), *steps[1:]]


def _thinking_steps(thinking: Thinking, index: int) -> list[Step]:
    chunks = pieces(thinking.text)
    cost = thinking.tokens / max(len(chunks), 1)
    deltas = [({"type": "thinking_delta", "thinking": chunk}, cost) for chunk in chunks]
    signature = {"type": "signature_delta", "signature": thinking.signature}
    deltas.append((signature, 0.0 if chunks else thinking.tokens))  # omitted text: still thinks
    return _block(index, {"type": "thinking", "thinking": "", "signature": ""}, deltas)


def _block(
    index: int, start: dict[str, Any], deltas: list[tuple[dict[str, Any], float]]
) -> list[Step]:
    steps = [Step(_event({"type": "content_block_start", "index": index, "content_block": start}))]
    for delta, cost in deltas:
        steps.append(
            Step(_event({"type": "content_block_delta", "index": index, "delta": delta}), cost)
        )
    steps.append(Step(_event({"type": "content_block_stop", "index": index})))
    return steps


def closing(plan: MessagePlan) -> list[bytes]:
    """`message_delta` (stop reason, cumulative usage) and `message_stop`."""
    delta = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
    final = {
        "input_tokens": plan.input_tokens,
        "cache_creation_input_tokens": plan.cache_creation,
        "cache_read_input_tokens": plan.cache_read,
        "output_tokens": plan.answer.completion_tokens,
    }
    return [
        _event({"type": "message_delta", "delta": delta, "usage": final}),
        _event({"type": "message_stop"}),
    ]
