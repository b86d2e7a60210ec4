"""OpenAI `chat.completion.chunk` stream -> Anthropic Messages stream events, as a state machine.

`StreamTranslator.feed(chunk)` returns the Anthropic events one chunk produces and `finish()`
the closing ones; each event is a dict whose `type` is also its SSE `event:` name. Contract of
the produced sequence: `message_start` first; `content_block_start`/`content_block_stop` pairs
with indexes 0, 1, 2, ... and at most one block open at a time; then `message_delta` (stop
reason and cumulative usage) and `message_stop` last. The usage chunk of an OpenAI stream comes
*after* its finish chunk (quirk 1 of the wire README), so nothing final is emitted before
`finish()`: the caller calls it at `data: [DONE]` or at the end of the body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from claude_gw.errors import UpstreamError
from claude_gw.translate.response import (
    map_finish_reason,
    parse_tool_arguments,
    usage_to_anthropic,
)
from claude_gw.wire import (
    JSON,
    AnthropicEvent,
    AnthropicResponse,
    ChatCompletion,
    ChatUsage,
    StopReason,
)

BlockKind = Literal["text", "thinking", "tool_use", "server_tool_use", "web_search_tool_result"]
Phase = Literal["new", "streaming", "done"]


@dataclass
class Block:
    """One Anthropic content block: what was streamed into it, kept for `message()`."""

    kind: BlockKind
    tool_id: str = ""
    tool_name: str = ""
    parts: list[str] = field(default_factory=list)

    def content(self) -> JSON:
        text = "".join(self.parts)
        if self.kind == "text":
            return {"type": "text", "text": text}
        if self.kind == "thinking":
            return {"type": "thinking", "thinking": text, "signature": ""}
        return {
            "type": "tool_use",
            "id": self.tool_id,
            "name": self.tool_name,
            "input": parse_tool_arguments(text),
        }


@dataclass
class StreamState:
    """Everything the translator remembers. The open block is `blocks[open_block]`."""

    phase: Phase = "new"
    model: str = ""  # the model named in message_start
    response_model: str | None = None  # the model the upstream chunks named
    blocks: list[Block] = field(default_factory=list)
    open_block: int | None = None
    # OpenAI tool index -> block index of the latest call at that index
    tools: dict[int, int] = field(default_factory=dict)
    finish_reason: str | None = None  # the upstream's, as seen (None: not yet)
    refused: bool = False  # a `delta.refusal` arrived: the stop reason is `refusal`
    usage: ChatUsage | None = None
    stop_reason: StopReason | None = None


class EnvelopeState(Protocol):
    """What `MessageEvents` needs of a translator's state."""

    phase: Phase
    model: str
    response_model: str | None
    usage: ChatUsage | None
    stop_reason: StopReason | None

    @property
    def blocks(self) -> Sequence[Block]: ...


class MessageEvents:
    """The Anthropic message envelope both stream translators share: `message_start`,
    `finish()` (`message_delta` with the stop reason and cumulative usage, `message_stop`),
    the in-stream `error`, and the read-only views. A subclass keeps `_id` and a `_state` with
    `phase`, `model`, `response_model`, `blocks`, `usage` (OpenAI chat shape) and
    `stop_reason`, and defines `_close()` and `_mapped_stop_reason()`."""

    _id: str
    _state: EnvelopeState

    def _close(self) -> list[AnthropicEvent]:
        raise NotImplementedError

    def _mapped_stop_reason(self) -> StopReason:
        raise NotImplementedError

    # ------------------------------------------------------------------ read-only views

    @property
    def started(self) -> bool:
        return self._state.phase != "new"

    @property
    def finished(self) -> bool:
        return self._state.phase == "done"

    @property
    def usage(self) -> ChatUsage | None:
        """The upstream's raw OpenAI usage, None if the stream never carried one."""
        return self._state.usage

    @property
    def response_model(self) -> str | None:
        return self._state.response_model

    @property
    def tool_calls(self) -> int:
        return sum(1 for block in self._state.blocks if block.kind == "tool_use")

    @property
    def web_search_requests(self) -> int | None:
        """Searches the answer ran; None when the request offered no search (chat: never)."""
        return None

    @property
    def has_content(self) -> bool:
        """True once any text, thinking or tool call has arrived (time to first token)."""
        return bool(self._state.blocks)

    def message(self) -> AnthropicResponse:
        """The Anthropic message accumulated so far (full text, parsed tool input), for logs."""
        state = self._state
        return {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": state.model,
            "content": [block.content() for block in state.blocks],
            "stop_reason": state.stop_reason,
            "stop_sequence": None,
            "usage": usage_to_anthropic(state.usage),
        }

    # ------------------------------------------------------------------ transitions

    def start(self, model: str | None = None) -> list[AnthropicEvent]:
        """The `message_start` event, once; usage is unknown this early, so it reads 0."""
        state = self._state
        if state.phase != "new":
            return []
        state.phase = "streaming"
        if model:
            state.model = model
        message: AnthropicResponse = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": state.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        }
        return [{"type": "message_start", "message": message}]

    def supply_usage(self, usage: ChatUsage) -> None:
        """Usage for a stream that carried none (counted by the caller), for `finish()`."""
        if self._state.usage is None:
            self._state.usage = usage

    def finish(self) -> list[AnthropicEvent]:
        """Close the open block, then `message_delta` and `message_stop`. Idempotent."""
        if self.finished:
            return []
        events = self.start()
        events.extend(self._close())
        state = self._state
        state.phase = "done"
        state.stop_reason = self._mapped_stop_reason()
        delta = {"stop_reason": state.stop_reason, "stop_sequence": None}
        # Cumulative, with the real input counts: message_start could only say 0 (quirk 1).
        usage = usage_to_anthropic(state.usage)
        events.append({"type": "message_delta", "delta": delta, "usage": usage})
        events.append({"type": "message_stop"})
        return events

    def error(self, error_type: str, message: str) -> list[AnthropicEvent]:
        """The in-stream `error` event for a failure after the first byte; ends the stream."""
        if self.finished:
            return []
        self._state.phase = "done"
        return [{"type": "error", "error": {"type": error_type, "message": message}}]


class StreamTranslator(MessageEvents):
    """Translates one OpenAI chat stream into one Anthropic message stream (see module doc)."""

    _state: StreamState

    def __init__(self, *, message_id: str, model: str) -> None:
        self._id = message_id
        self._state = StreamState(model=model)

    # ------------------------------------------------------------------ read-only views

    @property
    def stop_reason(self) -> str | None:
        """The Anthropic stop reason sent, or the one the seen finish_reason maps to."""
        state = self._state
        if state.stop_reason is None and state.finish_reason is not None:
            return self._mapped_stop_reason()
        return state.stop_reason

    @property
    def saw_finish_reason(self) -> bool:
        return self._state.finish_reason is not None

    # ------------------------------------------------------------------ transitions

    def feed(self, chunk: ChatCompletion) -> list[AnthropicEvent]:
        """Translate one chunk; starts the message first if needed. Ignored once finished.

        Raises `UpstreamError` for an in-stream `{"error": {...}}` chunk.
        """
        if chunk.get("error"):
            raise UpstreamError(_error_message(chunk["error"]))
        if self.finished:
            return []
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._state.response_model = model
        events = self.start(model)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._state.usage = usage  # cumulative: the last one wins
        for choice in _first_choices(chunk.get("choices")):
            events.extend(self._delta(choice.get("delta")))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self._state.finish_reason = reason
        return events

    # ------------------------------------------------------------------ one delta

    def _delta(self, delta: Any) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        if not isinstance(delta, dict):
            return events  # the finish chunk's `delta: {}`, or a server that sends null
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.extend(self._append("thinking", "thinking_delta", "thinking", reasoning))
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                self._state.refused = self._state.refused or key == "refusal"
                events.extend(self._append("text", "text_delta", "text", text))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                events.extend(self._tool_call(call))
        return events

    def _append(
        self, kind: BlockKind, delta_type: str, field_name: str, text: str
    ) -> list[AnthropicEvent]:
        """A text or thinking fragment: extends the open block of that kind, or opens one."""
        events: list[AnthropicEvent] = []
        state = self._state
        if state.open_block is None or state.blocks[state.open_block].kind != kind:
            events.extend(self._close())
            events.extend(self._open(Block(kind)))
        assert state.open_block is not None  # _open just set it
        state.blocks[state.open_block].parts.append(text)
        delta = {"type": delta_type, field_name: text}
        events.append({"type": "content_block_delta", "index": state.open_block, "delta": delta})
        return events

    def _tool_call(self, call: Mapping[str, Any]) -> list[AnthropicEvent]:
        """One tool-call delta, keyed by `index` (only the first delta carries id and name).

        Some compatible servers omit `index` (then the delta continues the latest call) or reuse
        one index for several calls (then a new `id` at that index starts a new call).
        """
        events: list[AnthropicEvent] = []
        state = self._state
        index = call.get("index")
        if not isinstance(index, int):
            index = max(state.tools, key=lambda key: state.tools[key], default=0)
        function: Any = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id")
        block = state.tools.get(index)
        if block is None or (call_id and state.blocks[block].tool_id != call_id):
            events.extend(self._close())
            tool_id = call_id or f"call_{index}_{self._id}"  # as the non-streaming path does
            events.extend(self._open(Block("tool_use", tool_id, function.get("name") or "")))
            block = state.tools[index] = len(state.blocks) - 1
        arguments: Any = function.get("arguments")
        if isinstance(arguments, dict):  # a few compatible servers send the object itself
            arguments = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
        if isinstance(arguments, str) and arguments:
            # A late fragment for a tool whose block is already closed keeps that block's index.
            state.blocks[block].parts.append(arguments)
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append({"type": "content_block_delta", "index": block, "delta": delta})
        return events

    # ------------------------------------------------------------------ blocks

    def _open(self, block: Block) -> list[AnthropicEvent]:
        state = self._state
        state.blocks.append(block)
        state.open_block = len(state.blocks) - 1
        start: JSON
        if block.kind == "text":
            start = {"type": "text", "text": ""}
        elif block.kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            start = {"type": "tool_use", "id": block.tool_id, "name": block.tool_name, "input": {}}
        return [{"type": "content_block_start", "index": state.open_block, "content_block": start}]

    def _close(self) -> list[AnthropicEvent]:
        state = self._state
        index = state.open_block
        if index is None:
            return []
        state.open_block = None
        events: list[AnthropicEvent] = []
        if state.blocks[index].kind == "thinking":
            # Anthropic clients expect a signature_delta right before a thinking block ends.
            signature = {"type": "signature_delta", "signature": ""}
            events.append({"type": "content_block_delta", "index": index, "delta": signature})
        events.append({"type": "content_block_stop", "index": index})
        return events

    def _mapped_stop_reason(self) -> StopReason:
        if self._state.refused:
            return "refusal"  # as the non-streaming path does; OpenAI itself says `stop`
        return map_finish_reason(self._state.finish_reason, has_tool_calls=self.tool_calls > 0)


def translate_stream(
    chunks: Iterable[ChatCompletion], *, message_id: str, model: str
) -> list[AnthropicEvent]:
    """All events of a complete chunk stream, `finish()` included (for tests and replay)."""
    translator = StreamTranslator(message_id=message_id, model=model)
    events: list[AnthropicEvent] = []
    for chunk in chunks:
        events.extend(translator.feed(chunk))
    events.extend(translator.finish())
    return events


def _first_choices(choices: Any) -> list[Any]:
    """The chunk's choices for choice 0: n > 1 is never requested, so others are ignored.

    Usage chunks and Azure's first chunk have no choices at all (quirk 2).
    """
    if not isinstance(choices, list):
        return []
    return [c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0]


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or json.dumps(error)
        return f"upstream stream error: {message}"
    return f"upstream stream error: {error}"
