"""Captured sessions as turns: one per request of the log, with what changed since the turn before.

`sessions(records)` groups the records of a log (claude_gw's or Kong's claude.json lines,
already parsed) by `claude_gw.session_id`, in time order, and makes each `/v1/messages` record
a `Turn`: when, which agent (the main agent, or a subagent by its `agent_id`), the model asked
and the model used, status, tokens, cost, latency, stop reason and tool calls, and, when the
log has payloads, the request as sent and the answer. Replay records (those with a top-level
`replay` part) are not turns: each goes beside the turn it replayed (`replay.source_id` is that
record's `request.id`). count_tokens records are counted per session, not listed.

`changes(before, after)` says what a request adds to the previous request of the same agent:
the messages added (aligned with the previous ones, so that a reminder the CLI moves to the end
counts once) and removed, or that the conversation was replaced (most of it gone, as after a
compaction), tools
added and removed, and whether the system prompt changed (the CLI's per-session billing-header
block aside). Messages are compared without their `cache_control` markers, which the CLI
moves to the newest message on every turn.

Costs follow the analysis's `auto` mode: the log's cost when it is not 0, else the price of
the tokens (genai-prices), else none. Pure: no I/O; the same records give the same turns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import SequenceMatcher
from typing import Any

import orjson

from claude_gw.logs.cost import price_usage
from claude_gw.translate.request import BILLING_HEADER_PREFIX

NO_SESSION = "(no session id)"


@dataclass
class Added:
    """One message a turn appended to the conversation."""

    role: str
    kinds: list[str]  # its content block types, in order (text, tool_use, tool_result, ...)
    size: int  # bytes of its JSON
    tools: list[str]  # the tools its tool_use blocks call, or its tool_result blocks answer
    at: int = 0  # its position in the request's messages


@dataclass
class Changes:
    """What a request changed since the previous request of the same agent."""

    added: list[Added] = field(default_factory=list)
    changed: list[Added] = field(default_factory=list)  # rewritten in place (their new form)
    removed: int = 0  # messages of the previous request no longer sent (moved ones count)
    replaced: bool = False  # the conversation is not the previous one continued (compaction)
    messages_before: int = 0
    messages_now: int = 0
    tools_added: list[str] = field(default_factory=list)
    tools_removed: list[str] = field(default_factory=list)
    system_changed: bool = False
    system_delta: int = 0  # characters

    def summary(self) -> str:
        """One line: `+2 messages (tool_result Bash 1.2 KB, text 80 B); +1 tool (WebFetch)`."""
        parts = []
        if self.replaced:
            parts.append(
                f"conversation replaced ({self.messages_before} -> {self.messages_now} messages)"
            )
        elif self.added:
            shown = ", ".join(_describe(message) for message in self.added[:4])
            more = f", +{len(self.added) - 4} more" if len(self.added) > 4 else ""
            noun = "message" if len(self.added) == 1 else "messages"
            parts.append(f"+{len(self.added)} {noun} ({shown}{more})")
        if self.changed:
            shown = ", ".join(_describe(message) for message in self.changed[:4])
            noun = "message" if len(self.changed) == 1 else "messages"
            parts.append(f"{len(self.changed)} {noun} changed ({shown})")
        if self.removed and not self.replaced:
            parts.append(f"-{self.removed} {'message' if self.removed == 1 else 'messages'}")
        if self.tools_added:
            parts.append(f"+{len(self.tools_added)} tools ({', '.join(self.tools_added)})")
        if self.tools_removed:
            parts.append(f"-{len(self.tools_removed)} tools ({', '.join(self.tools_removed)})")
        if self.system_changed:
            parts.append(f"system prompt changed ({self.system_delta:+,} characters)")
        return "; ".join(parts) or "no change"


@dataclass
class Replay:
    """One replay of a turn on another target."""

    target: str
    model: str | None
    status: int | None
    stop_reason: str | None
    tools: list[str]
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    latency_ms: float | None
    answer: Any  # the answer message, when the replay log has payloads


@dataclass
class Turn:
    index: int  # 1-based, within its session
    request_id: str | None
    started_at: float  # ms since the epoch
    agent: str | None  # None: the main agent; else the subagent's id
    model_asked: str | None
    model_used: str | None
    status: int | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None
    cost_source: str  # logged, computed, unpriced, or none (nothing to price; see `_cost`)
    latency_ms: float | None
    ttft_ms: float | None
    stop_reason: str | None
    tool_calls: int | None
    tools: list[str]  # the tools the answer called, when the log has the answer
    error: str | None
    simulated: bool
    request: Mapping[str, Any] | None  # the request as sent, when the log has payloads
    answer: Any  # the answer as sent back (a message, or the error body)
    changes: Changes | None = None  # None for an agent's first turn, or without payloads
    replays: list[Replay] = field(default_factory=list)


@dataclass
class Session:
    id: str
    capture: str | None
    turns: list[Turn]
    token_counts: int  # count_tokens requests of the session (not turns)

    @property
    def agents(self) -> list[str]:
        return sorted({turn.agent for turn in self.turns if turn.agent is not None})

    def total(self, name: str) -> float:
        """The sum of a numeric turn field over the turns that have it."""
        values: list[float] = [getattr(turn, name) for turn in self.turns]
        return sum(v for v in values if v is not None)


def sessions(records: Iterable[Mapping[str, Any]]) -> list[Session]:
    """The sessions of `records`, each with its turns in time order (see the module)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    replays: dict[str, list[Replay]] = {}
    counts: dict[str, int] = {}
    for record in records:
        gateway = _part(record, "claude_gw")
        replay = _part(record, "replay")
        if replay:
            source = replay.get("source_id")
            if isinstance(source, str):
                replays.setdefault(source, []).append(_replay(record, replay))
            continue
        key = gateway.get("session_id") or NO_SESSION
        if gateway.get("endpoint") == "count_tokens":
            counts[key] = counts.get(key, 0) + 1
            continue
        grouped.setdefault(str(key), []).append(record)
    found = []
    for key, group in grouped.items():
        group.sort(key=lambda r: _number(r.get("started_at")) or 0.0)
        turns = [_turn(i, record) for i, record in enumerate(group, start=1)]
        _link(turns)
        for turn in turns:
            turn.replays = replays.get(turn.request_id or "", [])
        captures = [_part(r, "claude_gw").get("capture") for r in group]
        capture = next((c for c in captures if isinstance(c, str)), None)
        found.append(Session(key, capture, turns, counts.get(key, 0)))
    found.sort(key=lambda s: s.turns[0].started_at)
    return found


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """What `after` changed since `before` (two requests of one agent; see the module)."""
    old = [plain(m) for m in _list(before.get("messages"))]
    new = [plain(m) for m in _list(after.get("messages"))]
    found = Changes(messages_before=len(old), messages_now=len(new))
    # Aligned, not compared as a prefix: the CLI moves its trailing system reminders along
    keys = SequenceMatcher(None, [_key(m) for m in old], [_key(m) for m in new], autojunk=False)
    kept = sum(block.size for block in keys.get_matching_blocks())
    if old and kept * 2 < len(old):
        found.replaced = True  # most of the conversation is gone: compacted or restarted
    else:
        names, codes = _tool_names(new), keys.get_opcodes()
        # a message that left one place and came back at another moved: neither added nor removed
        gone = Counter(_key(m) for tag, i1, i2, _, _ in codes if tag != "equal" for m in old[i1:i2])
        for tag, i1, i2, j1, j2 in codes:
            if tag not in ("insert", "replace"):
                continue
            for k, message in enumerate(new[j1:j2]):
                if gone[key := _key(message)] > 0:
                    gone[key] -= 1
                    continue
                was = old[i1 + k] if i1 + k < i2 else None
                if _role(was) == _role(message) and gone[_key(was)] > 0:
                    gone[_key(was)] -= 1  # the same place, its content rewritten
                    found.changed.append(_added(message, names, j1 + k))
                else:
                    found.added.append(_added(message, names, j1 + k))
        found.removed = sum(gone.values())
    old_tools, new_tools = _tool_list(before), _tool_list(after)
    found.tools_added = [t for t in new_tools if t not in old_tools]
    found.tools_removed = [t for t in old_tools if t not in new_tools]
    old_system, new_system = system_text(before), system_text(after)
    found.system_changed = old_system != new_system
    found.system_delta = len(new_system) - len(old_system)
    return found


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _key(message: Any) -> bytes:
    return orjson.dumps(message, option=orjson.OPT_SORT_KEYS)


def system_text(request: Mapping[str, Any]) -> str:
    """The system prompt as one text, without the CLI's per-session billing-header block."""
    system = request.get("system")
    if isinstance(system, str):
        return system
    texts = [b.get("text") for b in _list(system) if isinstance(b, dict)]
    return "\n\n".join(
        t for t in texts if isinstance(t, str) and not t.startswith(BILLING_HEADER_PREFIX)
    )


def size_text(size: int) -> str:
    """Bytes as a reader wants them: 80 B, 1.2 KB, 3.4 MB."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


# --------------------------------------------------------------------------- records


def _turn(index: int, record: Mapping[str, Any]) -> Turn:
    gateway, proxy = _part(record, "claude_gw"), _proxy(record)
    meta, usage = _part(proxy, "meta"), _part(proxy, "usage")
    payload = _part(proxy, "payload")
    request, answer = _json(payload.get("request")), _json(payload.get("response"))
    status = _part(record, "response").get("status")
    cost, source = _cost(record)
    return Turn(
        index=index,
        request_id=_text(_part(record, "request").get("id")),
        started_at=_number(record.get("started_at")) or 0.0,
        agent=_text(gateway.get("agent_id")),
        model_asked=_text(gateway.get("client_model")) or _text(meta.get("request_model")),
        model_used=_text(meta.get("response_model")),
        status=status if isinstance(status, int) else None,
        prompt_tokens=_int(usage.get("prompt_tokens")),
        cached_tokens=_int(_part(usage, "prompt_tokens_details").get("cached_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        reasoning_tokens=_int(_part(usage, "completion_tokens_details").get("reasoning_tokens")),
        cost=cost,
        cost_source=source,
        latency_ms=_number(meta.get("llm_latency")),
        ttft_ms=_number(usage.get("time_to_first_token")),
        stop_reason=_text(gateway.get("stop_reason")),
        tool_calls=_int(gateway.get("tool_calls")),
        tools=_called(answer),
        error=_text(gateway.get("error_message")) or _text(gateway.get("error_type")),
        simulated=gateway.get("simulated") is True or meta.get("provider_name") == "simulated",
        request=request if isinstance(request, dict) else None,
        answer=answer,
    )


def _replay(record: Mapping[str, Any], replay: Mapping[str, Any]) -> Replay:
    proxy = _proxy(record)
    meta, usage = _part(proxy, "meta"), _part(proxy, "usage")
    answer = _json(_part(proxy, "payload").get("response"))
    status = _part(record, "response").get("status")
    return Replay(
        target=str(replay.get("target") or "?"),
        model=_text(meta.get("response_model")) or _text(meta.get("request_model")),
        status=status if isinstance(status, int) else None,
        stop_reason=_text(_part(record, "claude_gw").get("stop_reason")),
        tools=_called(answer),
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        cost=_cost(record)[0],
        latency_ms=_number(meta.get("llm_latency")),
        answer=answer,
    )


def _link(turns: Sequence[Turn]) -> None:
    """Each turn's changes since the previous turn of its agent that has a request."""
    last: dict[str | None, Mapping[str, Any]] = {}
    for turn in turns:
        if turn.request is None:
            continue
        before = last.get(turn.agent)
        if before is not None:
            turn.changes = changes(before, turn.request)
        last[turn.agent] = turn.request


def _cost(record: Mapping[str, Any]) -> tuple[float | None, str]:
    """(cost, source) as the analysis's `auto` mode has it: the log's own cost when it is not
    0, else the price of the record's tokens (genai-prices, cached input as cached: Kong writes
    0 when no price is configured), else unpriced (None, never 0)."""
    proxy = _proxy(record)
    meta, usage = _part(proxy, "meta"), _part(proxy, "usage")
    logged = _number(usage.get("cost"))
    if logged:
        return logged, "logged"
    if _part(record, "claude_gw").get("cost_source") == "none":
        return 0.0, "none"  # claude_gw's word for a request with no usage (refused): nothing spent
    model = _text(meta.get("response_model")) or _text(meta.get("request_model"))
    prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    if model is None or prompt is None or completion is None:
        return None, "unpriced"
    cached = _int(_part(usage, "prompt_tokens_details").get("cached_tokens")) or 0
    at = datetime.fromtimestamp((_number(record.get("started_at")) or 0) / 1000, tz=UTC)
    provider = _text(meta.get("provider_name")) or "openai"
    price = price_usage(
        model,
        provider=provider,
        prompt_tokens=prompt,
        cached_tokens=cached,
        completion_tokens=completion,
        at=at,
    )
    return (price.cost, "computed") if price.cost is not None else (None, "unpriced")


def _called(answer: Any) -> list[str]:
    if not isinstance(answer, dict):
        return []
    blocks = [b for b in _list(answer.get("content")) if isinstance(b, dict)]
    return [str(b.get("name")) for b in blocks if b.get("type") in ("tool_use", "server_tool_use")]


# --------------------------------------------------------------------------- messages


def _added(message: Any, names: dict[str, str], at: int) -> Added:
    blocks = _blocks(message)
    tools = []
    for block in blocks:
        if block.get("type") == "tool_use":
            tools.append(str(block.get("name")))
        elif block.get("type") == "tool_result":
            tools.append(names.get(str(block.get("tool_use_id")), "?"))
    role = message.get("role") if isinstance(message, dict) else None
    return Added(
        role=str(role or "?"),
        kinds=[str(block.get("type")) for block in blocks],
        size=len(orjson.dumps(message)),
        tools=tools,
        at=at,
    )


def _describe(message: Added) -> str:
    kinds = "+".join(dict.fromkeys(message.kinds)) or message.role
    tools = f" {','.join(dict.fromkeys(message.tools))}" if message.tools else ""
    return f"{message.role} {kinds}{tools} {size_text(message.size)}"


def _tool_names(messages: Sequence[Any]) -> dict[str, str]:
    """tool_use id -> tool name, over the assistant messages of a conversation."""
    return {
        str(block.get("id")): str(block.get("name"))
        for message in messages
        for block in _blocks(message)
        if block.get("type") == "tool_use"
    }


def _blocks(message: Any) -> list[dict[str, Any]]:
    if not isinstance(message, dict):
        return []
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in _list(content) if isinstance(b, dict)]


def _tool_list(request: Mapping[str, Any]) -> list[str]:
    tools = [t for t in _list(request.get("tools")) if isinstance(t, dict)]
    return [str(t.get("name") or t.get("type")) for t in tools]


def plain(value: Any) -> Any:
    """`value` without `cache_control` markers, at any depth (they move from turn to turn)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- fields


def _part(doc: Any, name: str) -> Mapping[str, Any]:
    part = doc.get(name) if isinstance(doc, Mapping) else None
    return part if isinstance(part, Mapping) else {}


def _proxy(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """`ai.proxy` (claude_gw, Kong 3.13), else the first plugin's part of `ai` (older Kong)."""
    ai = _part(record, "ai")
    if "proxy" in ai:
        return _part(ai, "proxy")
    plugins = [v for v in ai.values() if isinstance(v, Mapping) and "usage" in v]
    return plugins[0] if plugins else ai


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # an answer that was not JSON is shown as it came


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
