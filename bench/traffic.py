"""Synthetic traffic: who calls which model, and what each request measured.

`Traffic(seed).draw(origin)` returns one `Draw`: the numbers of one request (tokens, latencies,
sizes, status, ids) for a gateway of the given origin, independent of any log shape; the
renderers in `bench.shapes` turn a draw into a record. Everything comes from one seeded
`random.Random`, so the same seed and the same sequence of calls give the same draws.

Realism, in short: Claude Code sessions (a session id shared by a run of requests, a context that
grows turn by turn and is compacted near 160k tokens, prompt caching of everything but the newest
part), haiku subagent calls, quick one-shot calls (titles), count_tokens, a share of 429 / 500
upstream errors and of requests the gateway rejects itself. Older Kong versions (3.6-3.10) are
fed by OpenAI SDK clients with 2024-era models, as they had no Anthropic input format.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, TypeVar

Row = TypeVar("Row", bound=tuple[Any, ...])

START_MS = 1_765_324_800_000  # 2025-12-10T00:00:00Z: the first request of every data set
MEAN_GAP_MS = 1500.0  # mean time between two requests of the whole file


@dataclass(frozen=True)
class Model:
    name: str  # what the gateway sends upstream (`request_model`)
    dated: str  # what the upstream answers (`response_model`)
    tps: float  # output tokens per second
    reasons: bool  # spends reasoning tokens


MODELS = {
    m.name: m
    for m in (
        Model("gpt-5-mini", "gpt-5-mini-2025-08-07", 90.0, True),
        Model("gpt-5", "gpt-5-2025-08-07", 45.0, True),
        Model("gpt-5-nano", "gpt-5-nano-2025-08-07", 140.0, True),
        Model("gpt-4.1", "gpt-4.1-2025-04-14", 70.0, False),
        Model("gpt-4o", "gpt-4o-2024-08-06", 80.0, False),
        Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 110.0, False),
        Model("qwen3-coder-30b-a3b", "qwen3-coder-30b-a3b", 60.0, False),  # a local vLLM: unpriced
        Model("gpt-5-mini-simulated", "gpt-5-mini-simulated", 200.0, True),
    )
}
HAIKU = "claude-haiku-4-5-20251001"
SUBAGENT_MODEL = "gpt-5-nano"  # claude_gw's README: --map 'claude-haiku-*=gpt-5-nano'

# origin -> [(upstream model, client model, provider, weight)]
SESSION_MODELS: dict[str, list[tuple[str, str | None, str, float]]] = {
    "claude_gw": [
        ("gpt-5-mini", "claude-sonnet-4-5-20250929", "openai", 40),
        ("gpt-5-mini", "gpt-5-mini", "openai", 15),
        ("gpt-5", "claude-opus-4-1-20250805", "openai", 20),
        ("gpt-4.1", "claude-sonnet-4-5-20250929", "openai", 12),
        ("qwen3-coder-30b-a3b", "claude-sonnet-4-5-20250929", "openai", 8),
        ("gpt-5-mini-simulated", "claude-sonnet-4-5-20250929", "simulated", 5),
    ],
    "kong": [
        ("gpt-5-mini", None, "openai", 60),
        ("gpt-5", None, "openai", 20),
        ("gpt-4.1", None, "openai", 20),
    ],
    "old_kong": [
        ("gpt-4o", None, "openai", 50),
        ("gpt-4o-mini", None, "openai", 35),
        ("gpt-4.1", None, "openai", 15),
    ],
}
# origin -> [(client header set, weight)]: names of `bench.shapes.CLIENT_HEADERS`
SESSION_CLIENTS: dict[str, list[tuple[str, float]]] = {
    "claude_gw": [("cli-2.1.331", 55), ("sdk-cli-2.1.331", 35), ("cli-2.1.197", 10)],
    "kong": [("cli-2.0.37", 50), ("cli-2.1.331", 50)],
    "old_kong": [("openai-python", 100)],
}
# origin -> [(scenario, weight)]
SCENARIOS: dict[str, list[tuple[str, float]]] = {
    "claude_gw": [
        ("stream_ok", 66),
        ("oneshot_ok", 12),
        ("subagent_ok", 6),
        ("count_tokens", 8),
        ("upstream_429", 4),
        ("upstream_500", 1.5),
        ("rejected_400", 1),
        ("disconnected", 1.5),
    ],
    "kong": [
        ("stream_ok", 70),
        ("oneshot_ok", 16),
        ("upstream_429", 4),
        ("upstream_500", 2),
        ("rejected_400", 7),  # Claude Code's haiku subagents: "cannot use own model"
        ("too_large_400", 1),
    ],
    "old_kong": [
        ("stream_ok", 45),
        ("oneshot_ok", 47),
        ("upstream_429", 5),
        ("upstream_500", 3),
    ],
}
PAYLOAD_SHARE = 0.005  # records that carry `payload` (log_payloads on), among successful ones
SESSION_LENGTH = 60  # mean requests per session
OPEN_SESSIONS = 3  # sessions running at once per origin, interleaved in the file
UPSTREAM_IPS = ("162.159.140.245", "172.66.0.243")


class Session:
    __slots__ = (
        "agent_id",
        "client",
        "client_model",
        "context",
        "host",
        "id",
        "model",
        "origin",
        "provider",
    )

    def __init__(self, rng: random.Random, origin: str) -> None:
        self.origin = origin
        model, client_model, provider, _ = pick(rng, SESSION_MODELS[origin])
        self.model: Model = MODELS[model]
        self.client_model = client_model
        self.provider = provider
        self.client: str = pick(rng, SESSION_CLIENTS[origin])[0]
        self.id = uuid(rng)
        self.agent_id = f"{rng.getrandbits(64):016x}"[1:]  # the CLI's ids are 16-17 hex
        self.host = (
            "localhost:8000" if rng.random() < 0.7 else f"127.0.0.1:{rng.randint(30000, 60000)}"
        )
        self.context = 0  # prompt tokens of the conversation so far


class Draw:
    """One request's measurements; a renderer reads these, never the random generator."""

    __slots__ = (
        "body_size",
        "cached",
        "client_model",
        "completion",
        "kong_ms",
        "llm_latency",
        "mode",
        "payload",
        "prompt",
        "proxy_ms",
        "reasoning",
        "receive_ms",
        "request_id",
        "request_model",
        "request_ms",
        "response_model",
        "response_size",
        "scenario",
        "session",
        "started_ms",
        "status",
        "stop_reason",
        "subagent",
        "tool_calls",
        "ttft",
        "upstream_ip",
        "upstream_status",
    )

    def __init__(self, session: Session, scenario: str) -> None:
        self.session = session
        self.scenario = scenario
        self.subagent = scenario == "subagent_ok" or (
            scenario == "rejected_400" and session.client_model is None
        )
        self.client_model = HAIKU if self.subagent else session.client_model
        self.request_model = session.model.name
        self.response_model = session.model.dated
        self.mode = "oneshot"
        self.payload = False
        self.prompt = self.cached = self.completion = self.reasoning = 0
        self.ttft = self.llm_latency = self.kong_ms = self.receive_ms = self.request_ms = 0
        self.proxy_ms = -1
        self.status = 200
        self.upstream_status: int | None = 200
        self.tool_calls = 0
        self.stop_reason: str | None = None
        self.body_size = self.response_size = 0
        self.request_id = ""
        self.started_ms = 0
        self.upstream_ip = UPSTREAM_IPS[0]


def pick(rng: random.Random, table: list[Row]) -> Row:
    """A row of `table`, chosen with the weight in its last column."""
    cum = list(accumulate(float(row[-1]) for row in table))
    return table[bisect.bisect(cum, rng.random() * cum[-1])]


def uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


class Traffic:
    """A seeded stream of draws; see the module docstring."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now_ms = float(START_MS)
        self.sessions: dict[str, list[Session]] = {}
        self.scenarios = {
            origin: (list(accumulate(w for _, w in rows)), [s for s, _ in rows])
            for origin, rows in SCENARIOS.items()
        }

    def between(self, low: int, high: int) -> int:
        """Like `random.randint`, at a third of its cost."""
        return low + int(self.rng.random() * (high - low + 1))

    def draw(self, origin: str, gateway: str) -> Draw:
        """The next request at a gateway of `origin` ("claude_gw", "kong" or "old_kong");
        `gateway` names the gateway, whose sessions are its own."""
        rng = self.rng
        session = self.session(origin, gateway)
        cum, names = self.scenarios[origin]
        d = Draw(session, names[bisect.bisect(cum, rng.random() * cum[-1])])
        self.now_ms += rng.expovariate(1.0 / MEAN_GAP_MS)
        d.started_ms = int(self.now_ms)
        d.request_id = f"{rng.getrandbits(128):032x}"
        d.upstream_ip = UPSTREAM_IPS[rng.getrandbits(1)]
        OUTCOMES[d.scenario](self, d)
        return d

    def session(self, origin: str, gateway: str) -> Session:
        pool = self.sessions.setdefault(gateway, [])
        while len(pool) < OPEN_SESSIONS:
            pool.append(Session(self.rng, origin))
        i = int(self.rng.random() * OPEN_SESSIONS)
        session = pool[i]
        if self.rng.random() < 1.0 / SESSION_LENGTH:
            pool[i] = Session(self.rng, origin)
        return session

    # ------------------------------------------------------------------ tokens and timings

    def turn(self, d: Draw) -> None:
        """A main-loop turn: the whole conversation again, all but its newest part cached."""
        rng, s = self.rng, d.session
        if s.context == 0 or s.context > 160_000:  # a new conversation, or compacted
            s.context = self.between(11_000, 19_000)
        new = self.between(150, 6_000)
        s.context += new
        d.prompt = s.context
        cached = 0 if rng.random() < 0.1 else (d.prompt - new) // 128 * 128
        d.cached = cached if cached >= 1024 else 0
        self.answer(d, 5.4)
        d.tool_calls = 0 if rng.random() < 0.35 else 1 + int(rng.expovariate(1.2))
        d.stop_reason = "tool_use" if d.tool_calls else "end_turn"

    def quick(self, d: Draw, size: tuple[int, int]) -> None:
        """A short one-shot call (a title, a check, a subagent step): little context, no cache."""
        d.prompt = self.between(*size)
        self.answer(d, 4.0)
        d.stop_reason = "end_turn"

    def answer(self, d: Draw, mu: float) -> None:
        rng, model = self.rng, MODELS[d.request_model]
        d.completion = max(1, min(32_000, int(rng.lognormvariate(mu, 0.9))))
        if model.reasons:
            d.reasoning = min(d.completion - 1, int(d.completion * rng.random() * 0.8) // 64 * 64)
        uncached = d.prompt - d.cached
        think_ms = d.reasoning / model.tps * 1000
        d.ttft = int((250 + uncached * 0.012 + d.cached * 0.001 + think_ms) * rng.uniform(0.8, 1.4))
        d.llm_latency = d.ttft + int((d.completion - d.reasoning) / model.tps * 1000)
        d.kong_ms = self.between(1, 5)
        d.body_size = d.prompt * 4 + self.between(2_000, 9_000)
        d.payload = rng.random() < PAYLOAD_SHARE

    def oneshot_timings(self, d: Draw) -> None:
        d.proxy_ms = d.llm_latency - self.between(0, 2)
        d.ttft = d.llm_latency - 1
        d.receive_ms = self.between(0, 2)
        d.request_ms = d.kong_ms + d.proxy_ms + d.receive_ms
        d.response_size = 1_000 + d.completion * 5 + self.between(0, 400)

    def stream_timings(self, d: Draw) -> None:
        d.mode = "stream"
        d.proxy_ms = min(d.ttft, self.between(300, 800))
        d.receive_ms = d.llm_latency - d.proxy_ms
        d.request_ms = d.kong_ms + d.proxy_ms + d.receive_ms + self.between(0, 2)
        d.response_size = 1_000 + d.completion * 60 + d.tool_calls * 400

    def failure(self, d: Draw, status: int, wait: tuple[int, int]) -> None:
        """The upstream answered an error: Kong keeps its prompt estimate, nothing else."""
        rng = self.rng
        if d.session.origin == "old_kong":
            d.prompt = self.between(300, 8_000)
        else:
            self.turn(d)
        d.mode = "stream" if rng.random() < 0.8 else "oneshot"
        d.completion = d.reasoning = d.cached = d.ttft = d.tool_calls = 0
        d.stop_reason = None
        d.payload = False
        d.proxy_ms = self.between(*wait)
        d.llm_latency = d.proxy_ms + self.between(0, 3)
        d.receive_ms = self.between(0, 1)
        d.request_ms = d.kong_ms + d.proxy_ms + d.receive_ms
        d.status = d.upstream_status = status
        d.response_model = d.request_model
        d.response_size = self.between(1_400, 1_800)

    def rejected(self, d: Draw, body: tuple[int, int]) -> None:
        """Answered by the gateway itself: never proxied, no usage."""
        d.body_size = self.between(*body)
        d.request_ms = d.kong_ms = self.between(1, 30)
        d.status, d.upstream_status = 400, None
        d.response_size = self.between(280, 320)


def stream_ok(t: Traffic, d: Draw) -> None:
    if d.session.origin == "old_kong":
        t.quick(d, (300, 8_000))
    else:
        t.turn(d)
    t.stream_timings(d)


def oneshot_ok(t: Traffic, d: Draw) -> None:
    t.quick(d, (150, 3_000) if d.session.origin != "old_kong" else (300, 8_000))
    t.oneshot_timings(d)


def subagent_ok(t: Traffic, d: Draw) -> None:
    d.request_model, d.response_model = SUBAGENT_MODEL, MODELS[SUBAGENT_MODEL].dated
    t.quick(d, (8_000, 30_000))
    d.tool_calls = int(t.rng.expovariate(0.8))
    d.stop_reason = "tool_use" if d.tool_calls else "end_turn"
    t.stream_timings(d)


def count_tokens(t: Traffic, d: Draw) -> None:
    t.rejected(d, (3_000, 240_000))
    d.status = 200
    d.prompt = d.body_size // 4
    d.response_size = t.between(150, 170)


def upstream_429(t: Traffic, d: Draw) -> None:
    t.failure(d, 429, (150, 500))


def upstream_500(t: Traffic, d: Draw) -> None:
    t.failure(d, 500, (500, 3_000))


def rejected_400(t: Traffic, d: Draw) -> None:
    t.rejected(d, (1_000, 90_000))
    if d.session.origin == "kong":  # the haiku subagent, refused by `allow_override: false`
        d.request_model = d.response_model = HAIKU


def too_large_400(t: Traffic, d: Draw) -> None:
    t.rejected(d, (524_289, 900_000))


def disconnected(t: Traffic, d: Draw) -> None:
    """The client went away mid-stream: no final usage chunk ever came."""
    t.turn(d)
    t.stream_timings(d)
    d.llm_latency = d.proxy_ms + int((d.llm_latency - d.proxy_ms) * t.rng.random())
    d.receive_ms = d.llm_latency - d.proxy_ms
    d.request_ms = d.kong_ms + d.llm_latency
    d.completion = d.reasoning = d.cached = d.prompt = d.tool_calls = 0
    d.stop_reason = None
    d.payload = False


OUTCOMES = {
    f.__name__: f
    for f in (
        stream_ok,
        oneshot_ok,
        subagent_ok,
        count_tokens,
        upstream_429,
        upstream_500,
        rejected_400,
        too_large_400,
        disconnected,
    )
}
