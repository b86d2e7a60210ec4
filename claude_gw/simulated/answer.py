"""What a simulated model answers: text and/or tool calls, reasoning and output token counts.

Pure: everything comes from the request, its directives, the model profile and a seeded
`random.Random`, so the same request and seed give the same answer.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claude_gw.simulated.directives import Directives, ToolDirective
from claude_gw.simulated.profiles import ModelProfile
from claude_gw.simulated.structured import json_schema_of, schema_answer
from claude_gw.tokens import count_text

SIMULATED_SUFFIX = "-simulated"
REPLY_TOKENS = (20, 120)
TOOL_CALL_TOKENS = 4  # wrapper tokens a model spends per call besides name and arguments
_QUOTE_CHARS = 60
_TOOL_OUTPUT_CHARS = 300
_FILLER = (
    "Nothing in this answer comes from a real model.",
    "The words are chosen to look like an answer of a plausible length.",
    "Timings and token counts follow the simulated model's profile.",
    "The same request with the same seed always gets this same reply.",
    "A directive in the last user message can ask for tool calls, errors or stalls.",
    "Usage numbers are counted with the o200k_base encoding.",
    "Prefix caching is simulated in steps of 128 tokens above 1024.",
    "Reasoning models spend their hidden reasoning time before the first word.",
)
# Token-sized pieces: a word or a run of punctuation, with the whitespace before it.
_PIECE = re.compile(r"\s*[\w']+|\s*[^\w\s]+|\s+")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """The generated message. `finish_reason` None means the stream never says why it ended."""

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    reasoning_tokens: int
    completion_tokens: int


def pieces(text: str) -> list[str]:
    """`text` cut into token-sized pieces that concatenate back to it."""
    return _PIECE.findall(text)


def simulated_model(model: str) -> str:
    return f"{model}{SIMULATED_SUFFIX}"


def make_answer(
    doc: Mapping[str, Any],
    directives: Directives,
    profile: ModelProfile,
    rng: random.Random,
    call_ids: Sequence[str],
    *,
    reasoning_tokens: int | None = None,
) -> Answer:
    """The answer to a validated chat request; `call_ids` supplies ids for tool calls.

    `reasoning_tokens` overrides the hidden reasoning spend that the profile and the request's
    `reasoning_effort` would give (the Anthropic API derives it from `thinking` instead).
    """
    text, tools = _content(doc, directives, rng)
    calls = tuple(ToolCall(i, t.name, t.arguments) for i, t in zip(call_ids, tools, strict=False))
    if reasoning_tokens is None:
        reasoning_tokens = _reasoning_tokens(doc, profile, rng)
    reasoning = reasoning_tokens
    finish = "tool_calls" if calls else "stop"
    text = _apply_stop(text, doc.get("stop"))
    limit = doc.get("max_completion_tokens") or doc.get("max_tokens")
    if isinstance(limit, int):
        text, calls, reasoning, finish = _fit(limit, text, calls, reasoning, finish)
    visible = count_text(text or "") + sum(_call_tokens(c) for c in calls)
    return Answer(
        text=text,
        tool_calls=calls,
        finish_reason=None if directives.no_finish else finish,
        reasoning_tokens=reasoning,
        completion_tokens=reasoning + visible,
    )


def _content(
    doc: Mapping[str, Any], directives: Directives, rng: random.Random
) -> tuple[str | None, tuple[ToolDirective, ...]]:
    forbidden = doc.get("tool_choice") == "none"
    tools = () if forbidden else (directives.tools or _forced_tool(doc))
    if doc.get("parallel_tool_calls") is False:
        tools = tools[:1]
    if directives.reply is not None:
        return directives.reply, tools
    if tools:
        return None, tools
    schema = json_schema_of(doc)
    if schema is not None:  # structured output: JSON that follows the schema
        return schema_answer(schema, f"Simulated by {simulated_model(doc['model'])}"), ()
    return _default_text(doc, rng), ()


def _forced_tool(doc: Mapping[str, Any]) -> tuple[ToolDirective, ...]:
    """`tool_choice` required or a named function: call it with `{}` (no directive said more)."""
    choice, tools = doc.get("tool_choice"), doc.get("tools") or []
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        return (ToolDirective(name, "{}"),) if isinstance(name, str) and name else ()
    if choice == "required" and tools:
        return (ToolDirective(tools[0]["function"]["name"], "{}"),)
    return ()


def _default_text(doc: Mapping[str, Any], rng: random.Random) -> str:
    messages = doc["messages"]
    trailing = _trailing_tool_messages(messages)
    if trailing:
        return _tool_report(messages, trailing)
    quote = _collapse(last_user_text(messages))
    if len(quote) > _QUOTE_CHARS:
        quote = quote[:_QUOTE_CHARS].rstrip() + "…"
    text = f'This is a simulated reply from {simulated_model(doc["model"])}. You wrote: "{quote}".'
    target = rng.randint(*REPLY_TOKENS)
    filler = rng.sample(_FILLER, len(_FILLER))
    for sentence in itertools.islice(itertools.cycle(filler), 4 * len(filler)):
        if count_text(text) >= target:
            break
        text += " " + sentence
    return text


def _trailing_tool_messages(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    trailing: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.insert(0, message)
    return trailing


def _tool_report(messages: Sequence[Mapping[str, Any]], results: list[Mapping[str, Any]]) -> str:
    names = {
        call.get("id"): (call.get("function") or {}).get("name")
        for message in messages
        for call in message.get("tool_calls") or []
    }
    lines = []
    for result in results:
        output = _collapse(message_text(result))[:_TOOL_OUTPUT_CHARS]
        lines.append(f"Tool {names.get(result.get('tool_call_id')) or 'tool'} returned: {output}")
    return "\n".join(lines)


def message_text(message: Mapping[str, Any]) -> str:
    """All the text of a chat message (string content or text parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = [p.get("text") or "" for p in content or [] if p.get("type") == "text"]
    return "\n".join(parts)


_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>\s*", re.DOTALL)


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The last text part of the last user message (the prompt, after any reminders: the
    Claude CLI puts `<system-reminder>` blocks before the prompt, and a gateway may have joined
    them into one string)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return _REMINDER.sub("", content).strip() or content
        texts = [p.get("text") or "" for p in content or [] if p.get("type") == "text"]
        return texts[-1] if texts else ""
    return ""


def reasoning_summary(doc: Mapping[str, Any], answer: Answer) -> str:
    """What the model says it thought about (a reasoning summary, or thinking text): a bold
    title and one sentence, decided by what the answer does."""
    messages = doc["messages"]
    if answer.tool_calls:
        names = ", ".join(dict.fromkeys(call.name for call in answer.tool_calls))
        return f"**Choosing tools**\n\nThe request needs {names}; I will call it as asked."
    if _trailing_tool_messages(messages):
        return "**Reading tool results**\n\nThe tool output is back; I will report what it says."
    quote = _collapse(last_user_text(messages))[:_QUOTE_CHARS]
    return f'**Planning the reply**\n\nThe user wrote "{quote}"; a short, plain answer will do.'


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _reasoning_tokens(doc: Mapping[str, Any], profile: ModelProfile, rng: random.Random) -> int:
    if not profile.reasoning:
        return 0
    base = profile.reasoning_tokens.get(doc.get("reasoning_effort") or "medium", 0)
    return round(base * rng.uniform(0.75, 1.25))


def _apply_stop(text: str | None, stop: Any) -> str | None:
    """OpenAI cuts the text before the first stop sequence and still says `stop`."""
    sequences = [stop] if isinstance(stop, str) else list(stop or [])
    for sequence in sequences:
        if text and sequence and sequence in text:
            text = text[: text.index(sequence)]
    return text


def _call_tokens(call: ToolCall) -> int:
    return TOOL_CALL_TOKENS + count_text(call.name) + count_text(call.arguments)


def _fit(
    limit: int, text: str | None, calls: tuple[ToolCall, ...], reasoning: int, finish: str
) -> tuple[str | None, tuple[ToolCall, ...], int, str]:
    """Spend at most `limit` tokens, reasoning first; what does not fit is cut, and the
    finish reason becomes `length` (a reasoning model can end with no visible output)."""
    reasoning = min(reasoning, limit)
    room = limit - reasoning
    if calls and sum(_call_tokens(c) for c in calls) > room:
        return (None if text is None else ""), (), reasoning, "length"
    if text and count_text(text) > room:
        return _truncate(text, room), calls, reasoning, "length"
    return text, calls, reasoning, finish


def _truncate(text: str, tokens: int) -> str:
    parts = pieces(text)
    low, high = 0, len(parts)
    while low < high:  # the longest prefix of pieces within `tokens`
        mid = (low + high + 1) // 2
        if count_text("".join(parts[:mid])) <= tokens:
            low = mid
        else:
            high = mid - 1
    return "".join(parts[:low])
