"""Wire shapes of simulated Responses API answers: the Response object, its output items, and
the stream's events.

Shapes, key order and event sequence follow ../shared/fixtures/wire/openai-responses-stream-
tools.sse: `event: <type>` + `data: <json>` frames with keys after `type` in alphabetical order,
`sequence_number` from 0, an `obfuscation` pad on `*.delta` events, `logprobs: []` on text,
`service_tier` "auto" while in progress and "default" at the end, and no `[DONE]`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_gw.simulated.answer import Answer, pieces
from claude_gw.simulated.common import Step, sse_event
from claude_gw.simulated.render import obfuscation_pad, split_arguments
from claude_gw.simulated.web_search import Search, citation_annotations, search_item

DEFAULT_TEXT = {"format": {"type": "text"}, "verbosity": "medium"}
INCOMPLETE = {"reason": "max_output_tokens"}


@dataclass(frozen=True)
class Reasoning:
    """The reasoning item: `encrypted` only when the request included it; `summary` only when
    it asked for one (and the model reasoned at all)."""

    id: str
    tokens: int
    encrypted: str | None
    summary: str | None


@dataclass(frozen=True)
class ResponsePlan:
    """Everything decided about one Response before it is written out."""

    request: Mapping[str, Any]
    model: str
    response_id: str
    created_at: int
    answer: Answer
    usage: dict[str, Any]
    reasoning: Reasoning | None
    message_id: str
    call_item_ids: tuple[str, ...]
    reasoning_model: bool
    search: Search | None = None  # the web search the answer ran (`web_search`)

    @property
    def status(self) -> str:
        return "incomplete" if self.answer.finish_reason == "length" else "completed"


def usage(input_tokens: int, cached_tokens: int, answer: Answer) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": answer.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
        "total_tokens": input_tokens + answer.completion_tokens,
    }


# --------------------------------------------------------------------------- objects


def response_object(
    plan: ResponsePlan,
    *,
    status: str,
    output: list[dict[str, Any]],
    completed_at: int | None = None,
) -> dict[str, Any]:
    """The Response object, echoing the request's settings as OpenAI does."""
    doc = plan.request
    done = status != "in_progress"
    return {
        "id": plan.response_id,
        "object": "response",
        "created_at": plan.created_at,
        "status": status,
        "background": False,
        "completed_at": completed_at,
        "error": None,
        "frequency_penalty": 0.0,
        "incomplete_details": INCOMPLETE if status == "incomplete" else None,
        "instructions": doc.get("instructions"),
        "max_output_tokens": doc.get("max_output_tokens"),
        "max_tool_calls": doc.get("max_tool_calls"),
        "model": plan.model,
        "moderation": None,
        "output": output,
        "parallel_tool_calls": doc.get("parallel_tool_calls", True),
        "presence_penalty": 0.0,
        "previous_response_id": None,
        "prompt_cache_key": doc.get("prompt_cache_key"),
        "prompt_cache_retention": doc.get("prompt_cache_retention") or "in_memory",
        "reasoning": _reasoning_settings(plan),
        "safety_identifier": doc.get("safety_identifier"),
        "service_tier": "default" if done else "auto",
        "store": doc.get("store", True),
        "temperature": float(doc.get("temperature", 1.0)),
        "text": doc.get("text") or DEFAULT_TEXT,
        "tool_choice": doc.get("tool_choice", "auto"),
        "tools": doc.get("tools") or [],
        "top_logprobs": doc.get("top_logprobs") or 0,
        "top_p": float(doc.get("top_p", 1.0)),
        "truncation": doc.get("truncation") or "disabled",
        "usage": plan.usage if done else None,
        "user": doc.get("user"),
        "metadata": doc.get("metadata") or {},
    }


def _reasoning_settings(plan: ResponsePlan) -> dict[str, Any]:
    if not plan.reasoning_model:
        return {"effort": None, "summary": None}
    asked = plan.request.get("reasoning") or {}
    return {"effort": asked.get("effort") or "medium", "summary": asked.get("summary")}


def output_items(plan: ResponsePlan) -> list[dict[str, Any]]:
    """The finished output items: reasoning, then the message (if it has text), then calls."""
    items = [] if plan.reasoning is None else [reasoning_item(plan.reasoning)]
    if plan.search is not None:
        items.append(search_item(plan.search))
    if plan.answer.text:
        items.append(message_item(plan, plan.answer.text, _message_status(plan)))
    items += [call_item(plan, index) for index in range(len(plan.answer.tool_calls))]
    return items


def reasoning_item(reasoning: Reasoning, *, partial: bool = False) -> dict[str, Any]:
    """`partial`: as in `output_item.added`, whose encrypted content "may be incomplete" (the
    spec), so a client must take the `.done` one; it has no summary yet either."""
    item: dict[str, Any] = {"id": reasoning.id, "type": "reasoning"}
    if reasoning.encrypted is not None:
        encrypted = reasoning.encrypted
        item["encrypted_content"] = encrypted[: len(encrypted) // 2] if partial else encrypted
    item["summary"] = [] if partial or not reasoning.summary else [_summary_part(reasoning.summary)]
    return item


def _summary_part(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def _text_part(text: str, cited: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "annotations": cited or [], "logprobs": [], "text": text}


def _citations(plan: ResponsePlan, text: str) -> list[dict[str, Any]]:
    """The url_citation annotations of the answer text, when it is a search's."""
    search = plan.search
    return citation_annotations(search) if search is not None and text == search.text else []


def message_item(plan: ResponsePlan, text: str | None, status: str) -> dict[str, Any]:
    """A message item; `text=None` gives the empty one of `output_item.added`."""
    return {
        "id": plan.message_id,
        "type": "message",
        "status": status,
        "content": [] if text is None else [_text_part(text, _citations(plan, text))],
        "phase": "commentary" if plan.answer.tool_calls else "final_answer",
        "role": "assistant",
    }


def _message_status(plan: ResponsePlan) -> str:
    return "incomplete" if plan.status == "incomplete" else "completed"


def call_item(plan: ResponsePlan, index: int, *, added: bool = False) -> dict[str, Any]:
    call = plan.answer.tool_calls[index]
    return {
        "id": plan.call_item_ids[index],
        "type": "function_call",
        "status": "in_progress" if added else "completed",
        "arguments": "" if added else call.arguments,
        "call_id": call.id,
        "name": call.name,
    }


# --------------------------------------------------------------------------- stream events


@dataclass
class EventWriter:
    """Frames Responses events: keys after `type` sorted, `sequence_number` counting from 0,
    an `obfuscation` pad on delta events unless turned off."""

    obfuscate: bool
    rng: random.Random
    sequence: int = field(default=0)

    def __call__(self, kind: str, **fields: Any) -> bytes:
        if self.obfuscate and kind.endswith(".delta"):
            fields["obfuscation"] = obfuscation_pad(self.rng)
        fields["sequence_number"] = self.sequence
        self.sequence += 1
        return sse_event(kind, {"type": kind, **dict(sorted(fields.items()))})


def opening(plan: ResponsePlan, write: EventWriter) -> list[bytes]:
    """`response.created` and `response.in_progress`."""
    response = response_object(plan, status="in_progress", output=[])
    return [write(f"response.{kind}", response=response) for kind in ("created", "in_progress")]


def item_steps(plan: ResponsePlan, write: EventWriter) -> list[Step]:
    """Every output item's events, in order; text pieces and argument fragments cost one token
    each, and the hidden reasoning is spread over the summary deltas (or paid before the
    reasoning item is done when there is no summary)."""
    steps: list[Step] = []
    index = 0
    if plan.reasoning is not None:
        steps += _reasoning_steps(plan.reasoning, index, write)
        index += 1
    if plan.search is not None:
        steps += _search_steps(plan.search, index, write)
        index += 1
    if plan.answer.text:
        steps += _message_steps(plan, plan.answer.text, index, write)
        index += 1
    for call_index in range(len(plan.answer.tool_calls)):
        steps += _call_steps(plan, call_index, index, write)
        index += 1
    return steps


def closing(plan: ResponsePlan, write: EventWriter, completed_at: int) -> bytes:
    """`response.completed` (or `response.incomplete`) with the whole Response and its usage."""
    status = plan.status
    response = response_object(
        plan,
        status=status,
        output=output_items(plan),
        completed_at=completed_at if status == "completed" else None,
    )
    return write(f"response.{status}", response=response)


def _reasoning_steps(reasoning: Reasoning, index: int, write: EventWriter) -> list[Step]:
    partial = reasoning_item(reasoning, partial=True)
    steps = [Step(write("response.output_item.added", item=partial, output_index=index))]
    if reasoning.summary:
        steps += _summary_steps(reasoning, reasoning.summary, index, write)
    done = write("response.output_item.done", item=reasoning_item(reasoning), output_index=index)
    steps.append(Step(done, 0 if reasoning.summary else reasoning.tokens))
    return steps


def _summary_steps(reasoning: Reasoning, text: str, index: int, write: EventWriter) -> list[Step]:
    """One summary part, its text in pieces that share the reasoning time."""
    ids = {"item_id": reasoning.id, "output_index": index, "summary_index": 0}
    chunks = pieces(text)
    cost = reasoning.tokens / len(chunks)
    return [
        Step(write("response.reasoning_summary_part.added", **ids, part=_summary_part(""))),
        *(
            Step(write("response.reasoning_summary_text.delta", **ids, delta=chunk), cost)
            for chunk in chunks
        ),
        Step(write("response.reasoning_summary_text.done", **ids, text=text)),
        Step(write("response.reasoning_summary_part.done", **ids, part=_summary_part(text))),
    ]


def _message_steps(plan: ResponsePlan, text: str, index: int, write: EventWriter) -> list[Step]:
    added = message_item(plan, None, "in_progress")
    ids = {"item_id": plan.message_id, "output_index": index, "content_index": 0}
    steps = [
        Step(write("response.output_item.added", item=added, output_index=index)),
        Step(write("response.content_part.added", **ids, part=_text_part(""))),
    ]
    for chunk in pieces(text):
        steps.append(Step(write("response.output_text.delta", **ids, delta=chunk, logprobs=[]), 1))
    cited = _citations(plan, text)
    for number, annotation in enumerate(cited):
        added_note = write(
            "response.output_text.annotation.added",
            **ids,
            annotation=annotation,
            annotation_index=number,
        )
        steps.append(Step(added_note))
    steps += [
        Step(write("response.output_text.done", **ids, logprobs=[], text=text)),
        Step(write("response.content_part.done", **ids, part=_text_part(text, cited))),
    ]
    done = message_item(plan, text, _message_status(plan))
    steps.append(Step(write("response.output_item.done", item=done, output_index=index)))
    return steps


def _call_steps(plan: ResponsePlan, call_index: int, index: int, write: EventWriter) -> list[Step]:
    added = call_item(plan, call_index, added=True)
    steps = [Step(write("response.output_item.added", item=added, output_index=index))]
    ids = {"item_id": plan.call_item_ids[call_index], "output_index": index}
    arguments = plan.answer.tool_calls[call_index].arguments
    for fragment in split_arguments(arguments, write.rng):
        delta = write("response.function_call_arguments.delta", **ids, delta=fragment)
        steps.append(Step(delta, 1))
    # No `name` in `.done`: the live recording had none (wire README quirk 7).
    steps.append(Step(write("response.function_call_arguments.done", **ids, arguments=arguments)))
    done = call_item(plan, call_index)
    steps.append(Step(write("response.output_item.done", item=done, output_index=index)))
    return steps


SEARCH_TOKENS = 40  # a simulated search takes as long as writing this many tokens


def _search_steps(search: Search, index: int, write: EventWriter) -> list[Step]:
    added = search_item(search, done=False)
    ids = {"item_id": search.item_id, "output_index": index}
    return [
        Step(write("response.output_item.added", item=added, output_index=index)),
        Step(write("response.web_search_call.in_progress", **ids)),
        Step(write("response.web_search_call.searching", **ids), SEARCH_TOKENS),
        Step(write("response.web_search_call.completed", **ids)),
        Step(write("response.output_item.done", item=search_item(search), output_index=index)),
    ]
