"""`POST .../messages` and `POST .../messages/count_tokens`: Anthropic's Messages API.

Headers first, as Anthropic checks them: the key (when the Simulator has one; `x-api-key`,
or `Authorization: Bearer` as the current SDK sends it; else 401 `authentication_error`), then
`anthropic-version` (400). The request is checked
(`anthropic_request`), converted to the chat shape and answered by the shared answer logic;
every error, the shared code's included, leaves in Anthropic's envelope with Anthropic's status.

Usage: `input_tokens` from `claude_gw.tokens.count_anthropic_request` (what `count_tokens`
answers) minus the cache: when the request marks anything with `cache_control`, its (model,
tools, system) prefix is written to the cache the first time (`cache_creation_input_tokens`)
and read from it afterwards (`cache_read_input_tokens`), from 1024 tokens on. Thinking
(`thinking.type` enabled or adaptive, for a profile that thinks) spends about the profile's
typical thinking tokens for `output_config.effort` (default medium; an effort the profile does
not list gets its largest figure), within the budget; it is
part of `output_tokens`. The thinking text is a short summary, as Claude 4 models give (empty
with `thinking.display: "omitted"`, the signature still there).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from claude_gw.simulated import render
from claude_gw.simulated.answer import reasoning_summary, simulated_model
from claude_gw.simulated.common import (
    CUT_AFTER_EVENTS,
    Request,
    SimResponse,
    answer_for,
    chat_directives,
    digest,
    once,
    token,
)
from claude_gw.simulated.directives import Directives
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import ModelProfile, profile_for
from claude_gw.simulated.simulator import Simulator
from claude_gw.testing import anthropic_errors as errors
from claude_gw.testing import anthropic_render as out
from claude_gw.testing.anthropic_errors import AnthropicError
from claude_gw.testing.anthropic_request import (
    MIN_THINKING_BUDGET,
    thinking_budget,
    to_chat,
    validate_messages,
)
from claude_gw.tokens import count_anthropic_request

CACHE_MIN_TOKENS = 1024
ORGANIZATION_ID = "00000000-0000-4000-8000-00000000c1a0"


def handles(path: str) -> bool:
    """True for the paths this module answers (any prefix)."""
    return path.endswith("/messages") or path.endswith("/messages/count_tokens")


async def respond(sim: Simulator, request: Request) -> SimResponse:
    """Answer one Anthropic request; errors come back as Anthropic error responses."""
    try:
        _check_headers(sim, request.headers)
        doc = _parse(request.body)
        model = doc.get("model")
        sim.admit(
            "anthropic", doc, profile_for(model if isinstance(model, str) else "", sim.profiles)
        )
        if request.path.endswith("/count_tokens"):
            validate_messages(doc, count_only=True)
            count = {"input_tokens": count_anthropic_request(doc)}
            return SimResponse(200, _headers(request), once(orjson.dumps(count)))
        return await _messages(sim, doc, request)
    except SimError as error:
        return _error_response(errors.from_openai(error), request)
    except AnthropicError as error:
        return _error_response(error, request)


def _check_headers(sim: Simulator, headers: Mapping[str, str]) -> None:
    if sim.api_key is not None:
        # The SDK sends the key as a Bearer token, other clients (the gateway) as x-api-key.
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        key = headers.get("x-api-key") or (bearer if scheme.lower() == "bearer" else "")
        if not key:
            raise errors.missing_key()
        if key != sim.api_key:
            raise errors.invalid_key()
    if not headers.get("anthropic-version"):
        raise errors.missing_version()


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.not_json() from None
    if not isinstance(doc, dict):
        raise errors.not_json()
    return doc


def _headers(
    request: Request, *, stream: bool = False, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    return {
        "content-type": render.SSE_CONTENT_TYPE if stream else render.JSON_CONTENT_TYPE,
        "request-id": request.request_id,
        "anthropic-organization-id": ORGANIZATION_ID,
        **(extra or {}),
        "x-simulated": "true",
    }


def _error_response(error: AnthropicError, request: Request) -> SimResponse:
    body = orjson.dumps(error.body(request.request_id))
    return SimResponse(error.status, _headers(request, extra=error.headers), once(body))


async def _messages(sim: Simulator, doc: dict[str, Any], request: Request) -> SimResponse:
    profile, directives, plan = _accept(sim, doc, request)
    await sim.sleep(profile.latency_s)
    if doc.get("stream") is True:
        body = _events(sim, profile, directives, plan)
        return SimResponse(200, _headers(request, stream=True), sim.track(body))
    await sim.sleep(profile.ttft_s + plan.answer.completion_tokens / profile.tokens_per_s)
    await asyncio.sleep(directives.stall_s)
    raw = orjson.dumps(out.message(plan))
    if directives.cut:
        raw = raw[: len(raw) // 2]  # the connection dropped halfway through the body
    return SimResponse(200, _headers(request), once(raw))


def _accept(
    sim: Simulator, doc: dict[str, Any], request: Request
) -> tuple[ModelProfile, Directives, out.MessagePlan]:
    sim.stats.thinking_blocks_received += validate_messages(doc)
    profile = profile_for(doc["model"], sim.profiles)
    chat = to_chat(doc)
    directives = chat_directives(chat["messages"])
    prompt = count_anthropic_request(doc)
    window = profile.context_window
    if directives.error:
        raise errors.directed(directives.error, window, prompt)
    if prompt > window:
        raise errors.prompt_too_long(prompt, window)
    spend = _thinking_tokens(doc, chat, profile, sim.seed)
    answer, ids = answer_for(
        chat,
        directives,
        profile,
        seed=sim.seed,
        number=request.number,
        call_id=lambda rng: f"toolu_01{token(rng, 22)}",
        reasoning_tokens=spend or 0,
    )
    message_id = f"msg_01{token(ids, 22)}"
    thinking = None
    if spend is not None:
        omitted = (doc.get("thinking") or {}).get("display") == "omitted"
        text = "" if omitted else reasoning_summary(chat, answer)
        signature = sim.vault.sign(f"{message_id}:{text}")
        thinking = out.Thinking(text, signature, answer.reasoning_tokens)
    read, written = _cache(sim, doc)
    plan = out.MessagePlan(
        model=simulated_model(doc["model"]),
        message_id=message_id,
        answer=answer,
        thinking=thinking,
        input_tokens=max(prompt - read - written, 0),
        cache_read=read,
        cache_creation=written,
        stop_sequence=_matched_stop(sim, chat, directives, profile, answer.text),
    )
    return profile, directives, plan


def _thinking_tokens(
    doc: Mapping[str, Any], chat: Mapping[str, Any], profile: ModelProfile, seed: int
) -> int | None:
    """The thinking this answer spends, None when it does not think."""
    budget = thinking_budget(doc)
    if budget is None or not (profile.thinking or profile.reasoning):
        return None
    effort = (doc.get("output_config") or {}).get("effort") or "medium"
    known = profile.reasoning_tokens
    typical = known.get(effort) or max(known.values(), default=MIN_THINKING_BUDGET)
    rng = random.Random(f"{digest(seed, chat)}:thinking")
    return min(budget, max(1, round(typical * rng.uniform(0.75, 1.25))))


def _cache(sim: Simulator, doc: Mapping[str, Any]) -> tuple[int, int]:
    """(cache read, cache write) tokens: see the module docstring."""
    if b'"cache_control"' not in orjson.dumps(doc):
        return 0, 0
    prefix = {"system": doc.get("system"), "tools": doc.get("tools")}
    seen = sim.remember_prefix(["anthropic", doc["model"], prefix])
    tokens = count_anthropic_request(prefix)
    if tokens < CACHE_MIN_TOKENS:
        return 0, 0
    return (tokens, 0) if seen else (0, tokens)


def _matched_stop(
    sim: Simulator,
    chat: dict[str, Any],
    directives: Directives,
    profile: ModelProfile,
    cut: str | None,
) -> str | None:
    """Which stop sequence ended the text, if one did: the text the same answer has without
    stop sequences goes on with it right where the cut text ends."""
    if not chat.get("stop") or cut is None:
        return None
    unstopped = {key: value for key, value in chat.items() if key != "stop"}
    full, _ = answer_for(
        unstopped, directives, profile, seed=sim.seed, number=0, call_id=lambda rng: ""
    )
    rest = (full.text or "")[len(cut) :]
    return next((s for s in chat["stop"] if s and rest.startswith(s)), None)


async def _events(
    sim: Simulator, profile: ModelProfile, directives: Directives, plan: out.MessagePlan
) -> AsyncGenerator[bytes, None]:
    """`message_start` at once; the blocks after the time to first content (and any stall),
    at the profile's pace; then `message_delta` and `message_stop`. `[sim:cut]` stops after
    a few events."""
    yield out.opening(plan)
    sent = 1
    await sim.sleep(profile.ttft_s)
    await asyncio.sleep(directives.stall_s)
    per_token_s = 1 / profile.tokens_per_s
    for step in out.block_steps(plan, random.Random(plan.message_id)):
        if directives.cut and sent >= CUT_AFTER_EVENTS:
            return
        await sim.sleep(step.tokens * per_token_s)
        yield step.raw
        sent += 1
    if not directives.cut:
        for raw in out.closing(plan):
            yield raw
