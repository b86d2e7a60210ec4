"""OpenAI Responses API stream events -> Anthropic Messages stream events, as a state machine.

`ResponsesStreamTranslator` has the public API of `claude_gw.translate.stream.StreamTranslator`
(`start`, `feed`, `finish`, `error`, `message` and the same read-only views), so the server
drives either through one interface; `feed` takes one decoded Responses event (the JSON of one
SSE `data:` line; its `type` names it). The produced sequence keeps the same contract:
`message_start` first, blocks 0, 1, 2 ... opened and closed one at a time, `message_delta` and
`message_stop` only from `finish()`, which the caller calls when the body ends (a Responses
stream has no `[DONE]`, though some servers add one: the caller's business either way).

Mapping: each output item is one block. A reasoning item opens a thinking block at once (it may
have no summary text yet still carries a signature); its summary parts are joined by a blank
line, and at `output_item.done` it gets `signature_delta` with the encoded `.done` item (the
`.added` one's encrypted_content may be incomplete, quirk 7) and closes. A message item opens a
text block at its first non-empty text (refusal text included, which makes the stop reason
`refusal`). A function_call opens a tool_use block with the `call_id` and `name` of
`output_item.added` (quirk 7: the `.done` events may lack the name). When nothing was streamed
into an item, the full text of its `.done` item is sent as one delta, so every item arrives.
`response.completed`/`response.incomplete` carry the usage and status; `response.failed` and
`error` events raise `UpstreamError`; other events are ignored.

Web search (`responses_search` has the mapping): at a search call's `output_item.done` (the
first event that has its query) a `server_tool_use` block goes out whole; its
`web_search_tool_result` waits for the next message item, whose `.done` carries the
`url_citation` annotations that title the results: that message's text is held until then and
sent as one delta after the result block (Anthropic's order: results before the text citing
them). Anything else that comes first, or the end of the stream, sends the result block with
the search's sources alone. `message_delta.usage.server_tool_use` counts the searches when the
request offered search.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from claude_gw.errors import UpstreamError
from claude_gw.translate.request import JOINER
from claude_gw.translate.response import map_finish_reason
from claude_gw.translate.responses import (
    call_id_for,
    encode_reasoning_signature,
    failure_message,
    message_text,
    reasoning_text,
    responses_finish_reason,
    responses_usage_to_chat,
)
from claude_gw.translate.responses_search import (
    SearchOptions,
    citations_of,
    is_search_call,
    search_result_block,
    search_usage,
    search_use_block,
)
from claude_gw.translate.stream import Block, BlockKind, MessageEvents
from claude_gw.wire import JSON, AnthropicEvent, ChatUsage, StopReason

Phase = Literal["new", "streaming", "done"]
TERMINAL_EVENTS = {"response.completed": "completed", "response.incomplete": "incomplete"}
_DELTA_TYPES: dict[BlockKind, str] = {
    "text": "text_delta",
    "thinking": "thinking_delta",
    "tool_use": "input_json_delta",
}
_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


@dataclass
class ItemBlock(Block):
    """A block made from one output item; a thinking block also keeps its item's signature."""

    signature: str = ""
    summary_index: int = 0  # the reasoning summary part the last thinking delta belonged to
    whole: JSON | None = None  # a block sent whole (server_tool_use, web_search_tool_result)

    def content(self) -> JSON:
        if self.whole is not None:
            return self.whole
        content = super().content()
        if self.kind == "thinking":
            content["signature"] = self.signature
        return content


@dataclass
class ResponsesStreamState:
    """Everything the translator remembers. The open block is `blocks[open_block]`."""

    phase: Phase = "new"
    model: str = ""  # the model named in message_start
    response_model: str | None = None  # the model the upstream's response objects named
    blocks: list[ItemBlock] = field(default_factory=list)
    open_block: int | None = None
    items: dict[int, int] = field(default_factory=dict)  # output_index -> block index
    status: str | None = None  # the terminal status seen (None: no terminal event yet)
    finish_reason: str | None = None  # the chat finish_reason that status amounts to
    refused: bool = False  # refusal text arrived: the stop reason is `refusal`
    usage: ChatUsage | None = None  # chat-shaped, from `responses_usage_to_chat`
    stop_reason: StopReason | None = None
    searches: int = 0  # web search calls seen
    # the search call whose result block waits for the next message's citations
    pending_search: tuple[str, Mapping[str, Any]] | None = None


class ResponsesStreamTranslator(MessageEvents):
    """Translates one Responses event stream into one Anthropic message stream (see module doc)."""

    _state: ResponsesStreamState

    def __init__(self, *, message_id: str, model: str, search: SearchOptions | None = None) -> None:
        self._id = message_id
        self._state = ResponsesStreamState(model=model)
        self._search = search

    # ------------------------------------------------------------------ read-only views

    @property
    def stop_reason(self) -> str | None:
        """The Anthropic stop reason sent, or the one the seen terminal status maps to."""
        state = self._state
        if state.stop_reason is None and state.status is not None:
            return self._mapped_stop_reason()
        return state.stop_reason

    @property
    def saw_finish_reason(self) -> bool:
        """True once `response.completed` or `response.incomplete` arrived."""
        return self._state.status is not None

    @property
    def web_search_requests(self) -> int | None:
        searches = self._state.searches
        return searches if self._search is not None or searches else None

    def finish(self) -> list[AnthropicEvent]:
        """The base `finish()`, after any search result still waiting; with search usage."""
        if self.finished:
            return []
        events = self.start() + self._flush_search([])
        events += super().finish()
        requests = self.web_search_requests
        if requests is not None:
            for event in events:
                if event["type"] == "message_delta":
                    event["usage"]["server_tool_use"] = search_usage(requests)
        return events

    # ------------------------------------------------------------------ transitions

    def feed(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        """Translate one event; starts the message first if needed. Ignored once finished.

        Raises `UpstreamError` for `response.failed` and `error` events.
        """
        kind = event.get("type")
        if kind == "error":
            detail = event.get("error") if isinstance(event.get("error"), Mapping) else event
            raise UpstreamError(f"upstream stream error: {failure_message(detail)}")
        response = event.get("response")
        response = response if isinstance(response, Mapping) else {}
        if kind == "response.failed":
            detail = failure_message(response.get("error") or "no error detail")
            raise UpstreamError(f"upstream response failed: {detail}")
        if self.finished:
            return []
        model = response.get("model")
        if isinstance(model, str) and model:
            self._state.response_model = model
        events = self.start(self._state.response_model)
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            events.extend(handler(self, event))
        return events

    # ------------------------------------------------------------------ one event

    def _item_added(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        item = _item(event)
        if item.get("type") == "message":  # a waiting search result waits for its citations
            return self._open_item(item, _output_index(event))
        return self._flush_search([]) + self._open_item(item, _output_index(event))

    def _open_item(self, item: Mapping[str, Any], index: int) -> list[AnthropicEvent]:
        kind = item.get("type")
        if kind == "reasoning":
            return self._open(index, ItemBlock("thinking"))
        if kind == "function_call":
            name = str(item.get("name") or "")
            return self._open(
                index, ItemBlock("tool_use", call_id_for(item, index, self._id), name)
            )
        return []  # a message opens its block at its first text; other items have none

    def _summary_delta(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        block_index = self._block_index(event, "thinking")
        text = event.get("delta")
        if block_index is None or not isinstance(text, str) or not text:
            return []
        block = self._state.blocks[block_index]
        part = event.get("summary_index")
        if isinstance(part, int) and part != block.summary_index:
            block.summary_index = part
            if block.parts:  # summary parts are joined as the non-streaming answer joins them
                text = JOINER + text
        return self._delta(block_index, "thinking_delta", text)

    def _text_delta(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        text = event.get("delta")
        if not isinstance(text, str) or not text:
            return []
        if event.get("type") == "response.refusal.delta":
            self._state.refused = True
        if self._state.pending_search is not None:
            return []  # held: the `.done` item has it all, after the search's result block
        return self._text(_output_index(event), text)

    def _arguments_delta(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        block_index = self._block_index(event, "tool_use")
        fragment = event.get("delta")
        if block_index is None or not isinstance(fragment, str) or not fragment:
            return []
        return self._delta(block_index, "input_json_delta", fragment)

    def _item_done(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        """Send what was never streamed, keep the reasoning signature, close the item's block."""
        item, index = _item(event), _output_index(event)
        state = self._state
        if item.get("type") == "web_search_call":
            return self._search_done(item) if is_search_call(item) else []
        text, refused = message_text(item)
        state.refused = state.refused or refused  # the `.done` message has all its parts
        events: list[AnthropicEvent] = []
        if item.get("type") == "message":
            events.extend(self._flush_search(citations_of(item)))
        if index not in state.items:  # `.added` never came, or a message without deltas
            events.extend(self._text(index, text) if text else self._open_item(item, index))
        block_index = state.items.get(index)
        if block_index is None:
            return events
        block = state.blocks[block_index]
        if block.kind == "thinking":
            block.signature = encode_reasoning_signature(item)
        unsent = _full_text(item, block.kind) if not block.parts else ""
        if unsent:
            events.extend(self._delta(block_index, _DELTA_TYPES[block.kind], unsent))
        if state.open_block == block_index:
            events.extend(self._close())
        return events

    def _terminal(self, event: Mapping[str, Any]) -> list[AnthropicEvent]:
        response = event.get("response")
        response = response if isinstance(response, Mapping) else {}
        state = self._state
        state.status = response.get("status") or TERMINAL_EVENTS[str(event.get("type"))]
        state.finish_reason = responses_finish_reason({**response, "status": state.status})
        usage = responses_usage_to_chat(response.get("usage"))
        if usage is not None:
            state.usage = usage
        return []

    def _search_done(self, item: Mapping[str, Any]) -> list[AnthropicEvent]:
        """The search's `server_tool_use` block, whole; its result waits (module docstring)."""
        state = self._state
        events = self._flush_search([])
        use = search_use_block(item, self._id, state.searches)
        state.searches += 1
        events += self._whole(use)
        state.pending_search = (use["id"], item)
        return events

    def _flush_search(self, citations: list[tuple[str, str]]) -> list[AnthropicEvent]:
        """The waiting search's result block, if a search waits."""
        pending, self._state.pending_search = self._state.pending_search, None
        if pending is None:
            return []
        tool_use_id, item = pending
        return self._whole(search_result_block(tool_use_id, item, citations, self._search))

    # ------------------------------------------------------------------ blocks

    def _whole(self, content: JSON) -> list[AnthropicEvent]:
        """A block sent at once: a server_tool_use's input as one delta, a result in its start."""
        events = self._close()
        state = self._state
        state.blocks.append(ItemBlock(content["type"], whole=content))
        index = len(state.blocks) - 1
        if content["type"] == "server_tool_use":
            start = {**content, "input": {}}
            partial = json.dumps(content["input"], ensure_ascii=False)
            delta: JSON | None = {"type": "input_json_delta", "partial_json": partial}
        else:
            start, delta = content, None
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if delta is not None:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
        return events

    def _block_index(self, event: Mapping[str, Any], kind: str) -> int | None:
        """The block of the event's output item, if it has one of that kind."""
        index = self._state.items.get(_output_index(event))
        if index is None or self._state.blocks[index].kind != kind:
            return None
        return index

    def _text(self, output_index: int, text: str) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        if output_index not in self._state.items:
            events.extend(self._open(output_index, ItemBlock("text")))
        block_index = self._state.items[output_index]
        if self._state.blocks[block_index].kind != "text":
            return events  # text for an item that is not a message: nothing to put it in
        return events + self._delta(block_index, "text_delta", text)

    def _delta(self, block_index: int, delta_type: str, text: str) -> list[AnthropicEvent]:
        """A fragment for a block; one whose block is already closed keeps that block's index."""
        self._state.blocks[block_index].parts.append(text)
        delta = {"type": delta_type, _DELTA_FIELDS[delta_type]: text}
        return [{"type": "content_block_delta", "index": block_index, "delta": delta}]

    def _open(self, output_index: int, block: ItemBlock) -> list[AnthropicEvent]:
        events = self._close()
        state = self._state
        state.blocks.append(block)
        state.open_block = state.items[output_index] = len(state.blocks) - 1
        start: JSON
        if block.kind == "text":
            start = {"type": "text", "text": ""}
        elif block.kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            start = {"type": "tool_use", "id": block.tool_id, "name": block.tool_name, "input": {}}
        start_event: AnthropicEvent = {
            "type": "content_block_start",
            "index": state.open_block,
            "content_block": start,
        }
        return [*events, start_event]

    def _close(self) -> list[AnthropicEvent]:
        state = self._state
        index = state.open_block
        if index is None:
            return []
        state.open_block = None
        events: list[AnthropicEvent] = []
        block = state.blocks[index]
        if block.kind == "thinking":
            # Anthropic clients expect a signature_delta right before a thinking block ends.
            signature = {"type": "signature_delta", "signature": block.signature}
            events.append({"type": "content_block_delta", "index": index, "delta": signature})
        events.append({"type": "content_block_stop", "index": index})
        return events

    def _mapped_stop_reason(self) -> StopReason:
        if self._state.refused:
            return "refusal"  # as the non-streaming path does
        return map_finish_reason(self._state.finish_reason, has_tool_calls=self.tool_calls > 0)


Handler = Callable[[ResponsesStreamTranslator, Mapping[str, Any]], list[AnthropicEvent]]
_HANDLERS: dict[str, Handler] = {
    "response.output_item.added": ResponsesStreamTranslator._item_added,
    "response.reasoning_summary_text.delta": ResponsesStreamTranslator._summary_delta,
    "response.output_text.delta": ResponsesStreamTranslator._text_delta,
    "response.refusal.delta": ResponsesStreamTranslator._text_delta,
    "response.function_call_arguments.delta": ResponsesStreamTranslator._arguments_delta,
    "response.output_item.done": ResponsesStreamTranslator._item_done,
    "response.completed": ResponsesStreamTranslator._terminal,
    "response.incomplete": ResponsesStreamTranslator._terminal,
}


def translate_responses_stream(
    events: Iterable[Mapping[str, Any]], *, message_id: str, model: str
) -> list[AnthropicEvent]:
    """All Anthropic events of a complete Responses stream, `finish()` included."""
    translator = ResponsesStreamTranslator(message_id=message_id, model=model)
    out: list[AnthropicEvent] = []
    for event in events:
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return out


def _full_text(item: Mapping[str, Any], kind: BlockKind) -> str:
    """What a `.done` item holds for a block of `kind`: summary, text or arguments."""
    if kind == "thinking":
        return reasoning_text(item)
    if kind == "text":
        return message_text(item)[0]
    arguments = item.get("arguments")
    return arguments if isinstance(arguments, str) else ""


def _item(event: Mapping[str, Any]) -> Mapping[str, Any]:
    item = event.get("item")
    return item if isinstance(item, Mapping) else {}


def _output_index(event: Mapping[str, Any]) -> int:
    index = event.get("output_index")
    return index if isinstance(index, int) and not isinstance(index, bool) else -1
