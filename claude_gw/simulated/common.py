"""Pieces every simulated API shares: the response type, statistics, ids, headers, SSE framing.

The answer itself is decided once, from a chat-shaped request (`claude_gw.simulated.answer`);
the Responses and Anthropic endpoints convert their requests to that shape first, so the same
conversation gets the same answer whichever API asks.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from claude_gw.simulated import errors, render
from claude_gw.simulated.answer import Answer, make_answer, message_text
from claude_gw.simulated.directives import DirectiveError, Directives, parse_directives
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import ModelProfile
from claude_gw.simulated.vault import Vault

CUT_AFTER_EVENTS = 6  # [sim:cut] on the event-framed APIs: the opening events and a few more
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class SimStats:
    """Counters of what the simulator saw: fixed size, however many requests it answers.
    `reasoning_items_received` counts the verified reasoning items sent back to
    `/responses`; `thinking_blocks_received` the thinking blocks sent back to `/messages`."""

    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0
    reasoning_items_received: int = 0
    thinking_blocks_received: int = 0


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str]
    body: AsyncGenerator[bytes, None]


class Backend(Protocol):
    """What an API front (`responses_api`, a test double's own) asks of the `Simulator`."""

    profiles: Mapping[str, ModelProfile]
    seed: int
    stats: SimStats
    vault: Vault

    def admit(self, api: str, doc: dict[str, Any], profile: ModelProfile) -> None: ...
    async def sleep(self, seconds: float) -> None: ...
    def track(self, body: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]: ...
    def cached_tokens(self, doc: Mapping[str, Any]) -> int: ...


@dataclass(frozen=True)
class Request:
    """One HTTP request as the endpoints see it: its ordinal number and derived request id."""

    path: str
    headers: Mapping[str, str]  # names lowercased
    body: bytes
    number: int
    request_id: str
    started: float


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or OpenAI's "could not parse" 400."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.not_json() from None
    if not isinstance(doc, dict):
        raise errors.not_json()
    return doc


def chat_directives(messages: list[dict[str, Any]]) -> Directives:
    """Directives count only in the last message, and only when a user wrote it. Trailing
    system messages are skipped: the Claude CLI sends its environment as a `role: "system"`
    message after the user's prompt. One exception: with `[sim:rounds N]` in the last user
    message, its tool calls are made again after each round of tool results, N rounds in all
    (a multi-step agent turn); with `[sim:sequence]`, its tool calls are made one per turn, in
    order, each after the results of the one before; then the results are reported as usual."""
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    last_user = max((i for i, m in enumerate(turns) if m.get("role") == "user"), default=None)
    if last_user is None:
        return Directives()
    try:
        found = parse_directives(message_text(turns[last_user]))
    except DirectiveError as exc:
        raise SimError(f"simulator: {exc}", param="messages") from None
    done = sum(1 for m in turns[last_user + 1 :] if m.get("role") == "assistant")
    if found.sequence:
        waiting = last_user == len(turns) - 1 or turns[-1].get("role") == "tool"
        if waiting and done < len(found.tools):
            return replace(found, tools=found.tools[done : done + 1])
        return Directives() if last_user < len(turns) - 1 else replace(found, tools=())
    if last_user == len(turns) - 1:
        return found
    if found.tools and turns[-1].get("role") == "tool" and done < found.rounds:
        return Directives(tools=found.tools)
    return Directives()


def digest(seed: int, chat: Mapping[str, Any]) -> str:
    """What the answer depends on: the seed and the conversation, not streaming options."""
    keys = ("model", "messages", "tools", "tool_choice", "reasoning_effort")
    canonical = orjson.dumps([seed, *(chat.get(k) for k in keys)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_ALPHABET, k=length))


def hex_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices("0123456789abcdef", k=length))


def answer_for(
    chat: Mapping[str, Any],
    directives: Directives,
    profile: ModelProfile,
    *,
    seed: int,
    number: int,
    call_id: Callable[[random.Random], str],
    reasoning_tokens: int | None = None,
) -> tuple[Answer, random.Random]:
    """The answer to a chat-shaped request and the random source for the rest of its ids.

    The answer depends on the seed and the conversation only; ids also on the request's
    ordinal number, so two identical requests get different ids and the same answer.
    """
    key = digest(seed, chat)
    ids = random.Random(f"{key}:{number}")
    call_ids = [call_id(ids) for _ in range(len(directives.tools) or 1)]
    answer = make_answer(
        chat, directives, profile, random.Random(key), call_ids, reasoning_tokens=reasoning_tokens
    )
    return answer, ids


def openai_headers(
    content_type: str, request_id: str, started: float, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    elapsed_ms = round((time.monotonic() - started) * 1000)
    return {
        "content-type": content_type,
        "x-request-id": request_id,
        "openai-processing-ms": str(elapsed_ms),
        "openai-version": "2020-10-01",
        **(extra if extra is not None else render.RATE_LIMIT_HEADERS),
        "x-simulated": "true",
    }


def json_response(
    status: int,
    doc: Mapping[str, Any],
    request_id: str,
    started: float,
    extra: Mapping[str, str] | None = None,
) -> SimResponse:
    headers = openai_headers(render.JSON_CONTENT_TYPE, request_id, started, extra)
    return SimResponse(status, headers, once(render.json_body(doc)))


def error_response(error: SimError, request: Request) -> SimResponse:
    return json_response(
        error.status, error.body(), request.request_id, request.started, error.headers
    )


def sse_event(kind: str, doc: Mapping[str, Any]) -> bytes:
    """One `event:` + `data:` SSE frame (the Responses and Anthropic framing)."""
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(doc) + b"\n\n"


async def once(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw


@dataclass(frozen=True)
class Step:
    """One SSE frame of a paced stream: sent after `tokens` tokens' worth of generation time."""

    raw: bytes
    tokens: float = 0.0
