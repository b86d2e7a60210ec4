"""`POST .../responses`: OpenAI's Responses API, answered by the shared answer logic.

The request is converted to the chat shape (`responses_request`) and answered exactly as the
chat endpoint would answer that conversation; the answer is then written as a Response
(`responses_render`). Reasoning models put a `reasoning` item first, whose `encrypted_content`
(with `include: ["reasoning.encrypted_content"]`) is sealed by the Simulator's `vault`; with
`store` left true the item's id is remembered too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncGenerator
from typing import Any

from claude_gw.simulated import errors, render
from claude_gw.simulated import responses_render as out
from claude_gw.simulated.answer import (
    Answer,
    last_user_text,
    reasoning_summary,
    simulated_model,
)
from claude_gw.simulated.common import (
    CUT_AFTER_EVENTS,
    Backend,
    Request,
    SimResponse,
    answer_for,
    chat_directives,
    hex_token,
    once,
    openai_headers,
    parse_json,
    token,
)
from claude_gw.simulated.directives import Directives
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import ModelProfile, profile_for
from claude_gw.simulated.responses_request import to_chat
from claude_gw.simulated.web_search import plan_search, search_tool
from claude_gw.tokens import count_openai_messages, count_text

ENCRYPTED_INCLUDE = "reasoning.encrypted_content"
_ID_HEX = 48


async def respond(sim: Backend, request: Request) -> SimResponse:
    """Answer one Responses request (errors are raised as `SimError` for the caller)."""
    doc, profile, directives, plan = _accept(sim, request)
    await sim.sleep(profile.latency_s)
    if doc.get("stream") is True:
        headers = openai_headers(render.SSE_CONTENT_TYPE, request.request_id, request.started)
        body = _events(sim, doc, profile, directives, plan)
        return SimResponse(200, headers, sim.track(body))
    answer = plan.answer
    await sim.sleep(profile.ttft_s + answer.completion_tokens / profile.tokens_per_s)
    await asyncio.sleep(directives.stall_s)
    output = out.output_items(plan)
    response = out.response_object(
        plan, status=plan.status, output=output, completed_at=_completed_at(plan)
    )
    raw = render.json_body(response)
    if directives.cut:
        raw = raw[: len(raw) // 2]  # the connection dropped halfway through the body
    headers = openai_headers(render.JSON_CONTENT_TYPE, request.request_id, request.started)
    return SimResponse(200, headers, once(raw))


def _completed_at(plan: out.ResponsePlan) -> int | None:
    return int(time.time()) if plan.status == "completed" else None


def _accept(
    sim: Backend, request: Request
) -> tuple[dict[str, Any], ModelProfile, Directives, out.ResponsePlan]:
    doc = parse_json(request.body)
    model = doc.get("model")
    profile = profile_for(model if isinstance(model, str) else "", sim.profiles)
    sim.admit("responses", doc, profile)
    chat = to_chat(doc)
    directives = _directives(chat)
    input_tokens = count_openai_messages(chat["messages"], chat.get("tools"))
    window = profile.context_window
    if directives.error == "context_length" or input_tokens > window:
        raise _context_length()
    if directives.error:
        raise errors.directed(
            directives.error, doc["model"], window, input_tokens, request.request_id
        )
    answer, ids = answer_for(
        chat,
        directives,
        profile,
        seed=sim.seed,
        number=request.number,
        call_id=lambda rng: f"call_{token(rng, 24)}",
    )
    reasoning = _reasoning(sim, doc, chat, answer, profile, ids)
    plan = out.ResponsePlan(
        request=doc,
        model=simulated_model(doc["model"]),
        response_id=f"resp_{hex_token(ids, _ID_HEX)}",
        created_at=int(time.time()),
        answer=answer,
        usage=out.usage(input_tokens, sim.cached_tokens(chat), answer),
        reasoning=reasoning,
        message_id=f"msg_{hex_token(ids, _ID_HEX)}",
        call_item_ids=tuple(f"fc_{hex_token(ids, _ID_HEX)}" for _ in answer.tool_calls),
        reasoning_model=profile.reasoning,
    )
    tool = search_tool(doc)
    if tool is not None and not answer.tool_calls and directives.reply is None:
        plan = _with_search(plan, doc, chat, tool, f"ws_{hex_token(ids, _ID_HEX)}")
    return doc, profile, directives, plan


def _with_search(
    plan: out.ResponsePlan,
    doc: dict[str, Any],
    chat: dict[str, Any],
    tool: Any,
    item_id: str,
) -> out.ResponsePlan:
    """The plan with a web search (`simulated.web_search`) and its cited text as the answer."""
    search = plan_search(doc, tool, last_user_text(chat["messages"]), item_id)
    answer = dataclasses.replace(
        plan.answer,
        text=search.text,
        completion_tokens=plan.answer.reasoning_tokens + count_text(search.text),
    )
    usage = {**plan.usage, "output_tokens": answer.completion_tokens}
    usage["total_tokens"] = usage["input_tokens"] + answer.completion_tokens
    return dataclasses.replace(plan, search=search, answer=answer, usage=usage)


def _reasoning(
    sim: Backend,
    doc: dict[str, Any],
    chat: dict[str, Any],
    answer: Answer,
    profile: ModelProfile,
    ids: random.Random,
) -> out.Reasoning | None:
    """The reasoning item of a reasoning model's answer (always there, even with no reasoning
    tokens); it is sealed when asked to include its encrypted content, stored when `store`."""
    if not profile.reasoning:
        return None
    item_id = f"rs_{hex_token(ids, _ID_HEX)}"
    include = doc.get("include") or []
    encrypted = sim.vault.seal(item_id, answer.reasoning_tokens)
    if doc.get("store") is not False:
        sim.vault.store(item_id)
    asked = (doc.get("reasoning") or {}).get("summary")
    summary = reasoning_summary(chat, answer) if asked and answer.reasoning_tokens else None
    return out.Reasoning(
        id=item_id,
        tokens=answer.reasoning_tokens,
        encrypted=encrypted if ENCRYPTED_INCLUDE in include else None,
        summary=summary,
    )


def _directives(chat: dict[str, Any]) -> Directives:
    try:
        return chat_directives(chat["messages"])
    except SimError as error:
        error.param = "input"  # where a Responses request keeps its messages
        raise


def _context_length() -> SimError:
    return SimError(
        "Your input exceeds the context window of this model. Please adjust your input and try "
        "again.",
        param="input",
        code="context_length_exceeded",
    )


async def _events(
    sim: Backend,
    doc: dict[str, Any],
    profile: ModelProfile,
    directives: Directives,
    plan: out.ResponsePlan,
) -> AsyncGenerator[bytes, None]:
    """The event stream: opening events at once, then (after the time to first content and
    any stall) the items at the profile's pace, then the terminal event. `[sim:cut]` stops
    after a few events; `[sim:no_finish]` leaves out the terminal event."""
    options = doc.get("stream_options") or {}
    write = out.EventWriter(
        obfuscate=options.get("include_obfuscation") is not False, rng=_plan_rng(plan)
    )
    sent = 0
    for raw in out.opening(plan, write):
        yield raw
        sent += 1
    await sim.sleep(profile.ttft_s)
    await asyncio.sleep(directives.stall_s)
    per_token_s = 1 / profile.tokens_per_s
    for step in out.item_steps(plan, write):
        if directives.cut and sent >= CUT_AFTER_EVENTS:
            return
        await sim.sleep(step.tokens * per_token_s)
        yield step.raw
        sent += 1
    if not (directives.cut or directives.no_finish):
        yield out.closing(plan, write, int(time.time()))


def _plan_rng(plan: out.ResponsePlan) -> random.Random:
    """The random source for obfuscation pads and argument fragments: from the response id, so
    the same request and seed split the same way."""
    return random.Random(plan.response_id)
