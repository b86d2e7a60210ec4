"""The simulator itself: one `respond()` for every HTTP request, with timing and statistics."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from claude_gw.simulated import errors, render
from claude_gw.simulated.answer import Answer, make_answer, message_text, simulated_model
from claude_gw.simulated.directives import DirectiveError, Directives, parse_directives
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import PROFILES, ModelProfile, profile_for
from claude_gw.simulated.validate import validate_request
from claude_gw.tokens import count_openai_messages

CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128
CUT_AFTER_DELTAS = 4  # [sim:cut]: the role delta and three more, then the body just ends
_CACHE_ENTRIES = 4096


@dataclass
class SimStats:
    """What the simulator saw. `headers` has one entry per request (names lowercased);
    `bodies` one per chat request whose body was a JSON object."""

    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str]
    body: AsyncGenerator[bytes, None]


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
    """A fake OpenAI Chat Completions server (see the package docstring for its behaviour).

    `time_scale` multiplies every simulated wait (0 = instant) except `[sim:stall]`, which is
    literal seconds. `seed` makes answers and ids reproducible. With `api_key`, requests must
    carry `Authorization: Bearer <api_key>`.
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
        self._prefixes: OrderedDict[bytes, None] = OrderedDict()

    async def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        """Answer one HTTP request; the response body streams as it is generated."""
        self.stats.requests += 1
        number = self.stats.requests
        lowered = {name.lower(): value for name, value in headers.items()}
        self.stats.headers.append(lowered)
        path = path.partition("?")[0]
        started = time.monotonic()
        request_id = f"req_{hashlib.sha256(f'{self.seed}:{number}'.encode()).hexdigest()[:32]}"
        try:
            self._check_auth(lowered)
            if method == "GET" and path.endswith("/models"):
                return _json_response(200, self._model_list(), request_id, started)
            if method != "POST" or not path.endswith("/chat/completions"):
                raise errors.not_found(method, path)
            return await self._chat(body, number, request_id, started)
        except SimError as error:
            return _json_response(error.status, error.body(), request_id, started, error.headers)

    def _check_auth(self, headers: Mapping[str, str]) -> None:
        if self.api_key is None:
            return
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise errors.invalid_api_key(None)
        if key != self.api_key:
            raise errors.invalid_api_key(key)

    def _model_list(self) -> dict[str, Any]:
        names = [name for name in self.profiles if not any(c in name for c in "*?[")]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "simulated"} for n in names]
        return {"object": "list", "data": data}

    async def _chat(self, body: bytes, number: int, request_id: str, started: float) -> SimResponse:
        turn = self._accept(body, number, request_id)
        await self._sleep(turn.profile.latency_s)
        if turn.stream:
            headers = _headers(render.SSE_CONTENT_TYPE, request_id, started)
            return SimResponse(200, headers, self._stream(turn))
        await self._sleep(self._generation_s(turn))
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
        return SimResponse(200, _headers(render.JSON_CONTENT_TYPE, request_id, started), _once(raw))

    def _accept(self, body: bytes, number: int, request_id: str) -> _Turn:
        doc = _parse(body)
        self.stats.bodies.append(doc)
        model = doc.get("model")
        profile = profile_for(model if isinstance(model, str) else "", self.profiles)
        validate_request(doc, profile)
        directives = _directives(doc["messages"])
        prompt_tokens = count_openai_messages(doc["messages"], doc.get("tools"))
        if directives.error:
            raise _directed_error(directives.error, doc, profile, prompt_tokens, request_id)
        if prompt_tokens > profile.context_window:
            raise errors.context_length(profile.context_window, prompt_tokens)
        digest = _digest(self.seed, doc)
        ids = random.Random(f"{digest}:{number}")
        call_ids = [f"call_{_token(ids, 24)}" for _ in range(len(directives.tools) or 1)]
        answer = make_answer(doc, directives, profile, random.Random(digest), call_ids)
        cached = self._cached_tokens(doc)
        usage = render.usage(prompt_tokens, cached, answer)
        completion_id = f"chatcmpl-{_token(ids, 29)}"
        return _Turn(doc, profile, directives, answer, usage, completion_id, ids)

    def _cached_tokens(self, doc: Mapping[str, Any]) -> int:
        """Prefix caching: a (model, tools, leading system messages) prefix seen before is
        cached in 128-token steps, from 1024 tokens on; this request's prefix is remembered."""
        messages, tools = doc["messages"], doc.get("tools")
        leading = []
        for message in messages:
            if message["role"] not in ("system", "developer"):
                break
            leading.append(message)
        key = hashlib.sha256(orjson.dumps([doc["model"], tools, leading])).digest()
        seen = key in self._prefixes
        self._prefixes[key] = None
        self._prefixes.move_to_end(key)
        if len(self._prefixes) > _CACHE_ENTRIES:
            self._prefixes.popitem(last=False)
        tokens = count_openai_messages(leading, tools) if leading or tools else 0
        if not seen or tokens < CACHE_MIN_TOKENS:
            return 0
        return tokens // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS

    def _generation_s(self, turn: _Turn) -> float:
        """Headers-to-end time of a non-streaming answer: first content, then every token."""
        return turn.profile.ttft_s + turn.answer.completion_tokens / turn.profile.tokens_per_s

    def _first_content_s(self, turn: _Turn) -> float:
        return turn.profile.ttft_s + turn.answer.reasoning_tokens / turn.profile.tokens_per_s

    async def _sleep(self, seconds: float) -> None:
        if self.time_scale > 0 and seconds > 0:
            await asyncio.sleep(seconds * self.time_scale)

    async def _stream(self, turn: _Turn) -> AsyncGenerator[bytes, None]:
        self.stats.streams_started += 1
        finished = False
        try:
            async for chunk in self._chunks(turn):
                yield chunk
            finished = True
        except (GeneratorExit, asyncio.CancelledError):
            self.stats.streams_cancelled += 1
            raise
        finally:
            if finished:
                self.stats.streams_completed += 1

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
        await self._sleep(self._first_content_s(turn))
        await asyncio.sleep(turn.directives.stall_s)
        per_token_s = 1 / turn.profile.tokens_per_s
        for index, delta in enumerate(render.deltas(turn.answer, turn.rng)):
            if turn.directives.cut and index >= CUT_AFTER_DELTAS:
                return
            if index:
                await self._sleep(per_token_s)
            yield writer.chunk(delta)
        if turn.directives.cut:
            return
        if turn.answer.finish_reason is not None:
            yield writer.chunk({}, turn.answer.finish_reason)
        if writer.include_usage:
            yield writer.usage_chunk(turn.usage)
        yield render.DONE


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.not_json() from None
    if not isinstance(doc, dict):
        raise errors.not_json()
    return doc


def _directives(messages: list[dict[str, Any]]) -> Directives:
    """Directives count only in the last message, and only when a user wrote it. Trailing
    system messages are skipped: the Claude CLI sends its environment as a `role: "system"`
    message after the user's prompt."""
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    last = turns[-1] if turns else {}
    if last.get("role") != "user":
        return Directives()
    try:
        return parse_directives(message_text(last))
    except DirectiveError as exc:
        raise SimError(f"simulator: {exc}", param="messages") from None


def _directed_error(
    kind: str, doc: Mapping[str, Any], profile: ModelProfile, tokens: int, request_id: str
) -> SimError:
    if kind == "429":
        return errors.rate_limited(doc["model"], tokens)
    if kind == "500":
        return errors.server_error(request_id)
    if kind == "503":
        return errors.overloaded()
    if kind == "401":
        return errors.invalid_api_key(None)
    return errors.context_length(profile.context_window, profile.context_window + tokens)


def _digest(seed: int, doc: Mapping[str, Any]) -> str:
    """What the answer depends on: the seed and the conversation, not streaming options."""
    keys = ("model", "messages", "tools", "tool_choice", "reasoning_effort")
    canonical = orjson.dumps([seed, *(doc.get(k) for k in keys)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _token(rng: random.Random, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choices(alphabet, k=length))


def _headers(
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


def _json_response(
    status: int,
    doc: Mapping[str, Any],
    request_id: str,
    started: float,
    extra: Mapping[str, str] | None = None,
) -> SimResponse:
    headers = _headers(render.JSON_CONTENT_TYPE, request_id, started, extra)
    return SimResponse(status, headers, _once(render.json_body(doc)))


async def _once(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw
