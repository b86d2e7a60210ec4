"""The simulator itself: one `respond()` for every HTTP request, with timing and statistics.

It routes by path: `.../chat/completions` (here), `.../responses` (`responses_api`) and
`GET .../models`. Two hooks let a subclass do more (`claude_gw.testing.StrictSimulator`):
`route()` answers a request, `admit()` sees every parsed request body before it is answered.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from claude_gw.simulated import errors, render, responses_api
from claude_gw.simulated.answer import Answer, simulated_model
from claude_gw.simulated.common import (
    Request,
    SimResponse,
    SimStats,
    answer_for,
    chat_directives,
    error_response,
    json_response,
    once,
    openai_headers,
    parse_json,
    token,
)
from claude_gw.simulated.directives import Directives
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import PROFILES, ModelProfile, profile_for
from claude_gw.simulated.vault import Vault
from claude_gw.tokens import count_openai_messages

CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128
CUT_AFTER_DELTAS = 4  # [sim:cut]: the role delta and three more, then the body just ends
_CACHE_ENTRIES = 4096

__all__ = ["SimResponse", "SimStats", "Simulator"]


@dataclass(frozen=True)
class _Turn:
    """One accepted chat request and everything decided about its answer."""

    doc: dict[str, Any]
    profile: ModelProfile
    directives: Directives
    answer: Answer
    usage: dict[str, Any]
    completion_id: str
    rng: random.Random

    @property
    def model(self) -> str:
        return simulated_model(self.doc["model"])

    @property
    def stream(self) -> bool:
        return self.doc.get("stream") is True


class Simulator:
    """A simulated OpenAI server (Chat Completions, Responses; see the package docstring).

    `time_scale` multiplies every simulated wait (0 = instant) except `[sim:stall]`, which is
    literal seconds. `seed` makes answers and ids reproducible (and keys the reasoning tokens
    it hands out). With `api_key`, OpenAI requests must carry `Authorization: Bearer <api_key>`
    and Anthropic requests `x-api-key: <api_key>`.

    Memory stays bounded: `stats` holds counters, the prompt-prefix cache and the vault's
    stored items are capped at 4096 entries each, and requests themselves are never kept.
    """

    def __init__(
        self,
        *,
        profiles: Mapping[str, ModelProfile] = PROFILES,
        time_scale: float = 1.0,
        seed: int = 0,
        api_key: str | None = None,
    ) -> None:
        self.profiles = profiles
        self.time_scale = time_scale
        self.seed = seed
        self.api_key = api_key
        self.stats = SimStats()
        self.vault = Vault(seed)
        self._prefixes: OrderedDict[bytes, None] = OrderedDict()

    async def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        """Answer one HTTP request; the response body streams as it is generated."""
        self.stats.requests += 1
        number = self.stats.requests
        lowered = {name.lower(): value for name, value in headers.items()}
        started = time.monotonic()
        request_id = f"req_{hashlib.sha256(f'{self.seed}:{number}'.encode()).hexdigest()[:32]}"
        request = Request(path.partition("?")[0], lowered, body, number, request_id, started)
        try:
            return await self.route(method, request)
        except SimError as error:
            return error_response(error, request)

    async def route(self, method: str, request: Request) -> SimResponse:
        """The answer to `request`; an error answer may be raised as `SimError`."""
        self._check_auth(request.headers)
        path = request.path
        if method == "GET" and path.endswith("/models"):
            return json_response(200, self.model_list(), request.request_id, request.started)
        if method == "POST" and path.endswith("/responses"):
            return await responses_api.respond(self, request)
        if method != "POST" or not path.endswith("/chat/completions"):
            raise errors.not_found(method, path)
        return await self._chat(request)

    def admit(self, api: str, doc: dict[str, Any], profile: ModelProfile) -> None:
        """Every parsed JSON request body (`api`: "chat", "responses", or a subclass's own)
        comes here before it is answered. The simulated backend asks only for what it needs to
        answer; a strict fake checks the rest as the real API would."""
        if not isinstance(doc.get("model"), str) or not doc["model"]:
            raise SimError("you must provide a model parameter", param="model")
        if api == "chat":
            messages = doc.get("messages")
            if not isinstance(messages, list) or not messages:
                raise SimError("'messages' must be a non-empty array.", param="messages")
            if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
                raise SimError("every message must be an object with a 'role'.", param="messages")

    # ------------------------------------------------------------------ shared by the APIs

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of simulated time (times `time_scale`)."""
        if self.time_scale > 0 and seconds > 0:
            await asyncio.sleep(seconds * self.time_scale)

    async def track(self, body: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        """`body`, counted in `stats` as a stream started, then completed or cancelled."""
        self.stats.streams_started += 1
        finished = False
        try:
            async for chunk in body:
                yield chunk
            finished = True
        except (GeneratorExit, asyncio.CancelledError):
            self.stats.streams_cancelled += 1
            raise
        finally:
            if finished:
                self.stats.streams_completed += 1

    def remember_prefix(self, parts: Any) -> bool:
        """Whether this prompt prefix (any JSON value) was seen before; it is remembered now."""
        key = hashlib.sha256(orjson.dumps(parts)).digest()
        seen = key in self._prefixes
        self._prefixes[key] = None
        self._prefixes.move_to_end(key)
        if len(self._prefixes) > _CACHE_ENTRIES:
            self._prefixes.popitem(last=False)
        return seen

    def cached_tokens(self, doc: Mapping[str, Any]) -> int:
        """OpenAI prefix caching for a chat-shaped request: a (model, tools, leading system
        messages) prefix seen before is cached in 128-token steps, from 1024 tokens on; this
        request's prefix is remembered."""
        messages, tools = doc["messages"], doc.get("tools")
        leading = []
        for message in messages:
            if message["role"] not in ("system", "developer"):
                break
            leading.append(message)
        seen = self.remember_prefix([doc["model"], tools, leading])
        tokens = count_openai_messages(leading, tools) if leading or tools else 0
        if not seen or tokens < CACHE_MIN_TOKENS:
            return 0
        return tokens // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS

    # ------------------------------------------------------------------ chat completions

    def _check_auth(self, headers: Mapping[str, str]) -> None:
        if self.api_key is None:
            return
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise errors.invalid_api_key(None)
        if key != self.api_key:
            raise errors.invalid_api_key(key)

    def model_list(self) -> dict[str, Any]:
        names = [name for name in self.profiles if not any(c in name for c in "*?[")]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "simulated"} for n in names]
        return {"object": "list", "data": data}

    async def _chat(self, request: Request) -> SimResponse:
        number, request_id, started = request.number, request.request_id, request.started
        turn = self._accept(request.body, number, request_id)
        await self.sleep(turn.profile.latency_s)
        if turn.stream:
            headers = openai_headers(render.SSE_CONTENT_TYPE, request_id, started)
            return SimResponse(200, headers, self.track(self._chunks(turn)))
        await self.sleep(self._generation_s(turn))
        await asyncio.sleep(turn.directives.stall_s)
        doc = render.completion(
            completion_id=turn.completion_id,
            created=int(time.time()),
            model=turn.model,
            answer=turn.answer,
            usage=turn.usage,
        )
        raw = render.json_body(doc)
        if turn.directives.cut:
            raw = raw[: len(raw) // 2]  # the connection dropped halfway through the body
        headers = openai_headers(render.JSON_CONTENT_TYPE, request_id, started)
        return SimResponse(200, headers, once(raw))

    def _accept(self, body: bytes, number: int, request_id: str) -> _Turn:
        doc = parse_json(body)
        model = doc.get("model")
        profile = profile_for(model if isinstance(model, str) else "", self.profiles)
        self.admit("chat", doc, profile)
        directives = chat_directives(doc["messages"])
        prompt_tokens = count_openai_messages(doc["messages"], doc.get("tools"))
        if directives.error:
            window = profile.context_window
            raise errors.directed(directives.error, doc["model"], window, prompt_tokens, request_id)
        if prompt_tokens > profile.context_window:
            raise errors.context_length(profile.context_window, prompt_tokens)
        answer, ids = answer_for(
            doc,
            directives,
            profile,
            seed=self.seed,
            number=number,
            call_id=lambda rng: f"call_{token(rng, 24)}",
        )
        usage = render.usage(prompt_tokens, self.cached_tokens(doc), answer)
        completion_id = f"chatcmpl-{token(ids, 29)}"
        return _Turn(doc, profile, directives, answer, usage, completion_id, ids)

    def _generation_s(self, turn: _Turn) -> float:
        """Headers-to-end time of a non-streaming answer: first content, then every token."""
        return turn.profile.ttft_s + turn.answer.completion_tokens / turn.profile.tokens_per_s

    def _first_content_s(self, turn: _Turn) -> float:
        return turn.profile.ttft_s + turn.answer.reasoning_tokens / turn.profile.tokens_per_s

    async def _chunks(self, turn: _Turn) -> AsyncGenerator[bytes, None]:
        options = turn.doc.get("stream_options") or {}
        writer = render.ChunkWriter(
            completion_id=turn.completion_id,
            created=int(time.time()),
            model=turn.model,
            include_usage=options.get("include_usage") is True,
            obfuscate=options.get("include_obfuscation") is not False,
            rng=turn.rng,
        )
        await self.sleep(self._first_content_s(turn))
        await asyncio.sleep(turn.directives.stall_s)
        per_token_s = 1 / turn.profile.tokens_per_s
        for index, delta in enumerate(render.deltas(turn.answer, turn.rng)):
            if turn.directives.cut and index >= CUT_AFTER_DELTAS:
                return
            if index:
                await self.sleep(per_token_s)
            yield writer.chunk(delta)
        if turn.directives.cut:
            return
        if turn.answer.finish_reason is not None:
            yield writer.chunk({}, turn.answer.finish_reason)
        if writer.include_usage:
            yield writer.usage_chunk(turn.usage)
        yield render.DONE
