"""The built-in simulated LLM backend (OpenAI Chat Completions and Responses): no key, no
network, made-up answers. `claude-gw serve --upstream simulated` runs the gateway against it
(`simulated_transport`), and `serve_simulated()` serves it on a loopback port for anything that
needs a URL (the sample replay, notebook 4). It always says it is a simulation: every answer's
`model` is the requested name plus `-simulated`, and every response carries `x-simulated: true`.

Endpoints (any path prefix): `POST .../chat/completions`, `POST .../responses` (`responses_api`,
answered from the same chat-shaped logic, with web search: `web_search`) and `GET .../models`;
anything else is a 404 in OpenAI's error envelope. It asks of a request only what it needs to
answer; the strict fake that checks requests as the real APIs do, records them and serves
Anthropic's Messages API too is a test double (`claude_gw.testing.StrictSimulator`), built on
this one through its `route()` and `admit()` hooks.

Directives, written in the last user message (`directives`): `[sim:reply TEXT]`,
`[sim:tool NAME {json}]` (several: parallel calls), `[sim:error 429|500|503|401|context_length]`
(OpenAI's status, envelope and headers), `[sim:stall SECONDS]` (at most 60, literal seconds,
before the first chunk), `[sim:cut]` (the body stops partway), `[sim:no_finish]` (no finish
reason or terminal event), `[sim:rounds N]` and `[sim:sequence]` (tool calls over several
turns). An unknown or malformed directive is a 400 that says what is wrong. Without one: a
deterministic reply quoting the prompt, 20-120 tokens, or a report of the tool results the
conversation ends with; JSON that follows a `response_format` schema when one is asked for.

Usage: prompt tokens by `claude_gw.tokens`; a (model, tools, leading system messages) prefix
seen before is cached in 128-token steps from 1024 tokens on; reasoning models add reasoning
tokens by effort. Timing: each model profile's latency, time to first token and token rate,
times `time_scale`. Memory stays bounded: counters, and caches capped at 4096 entries; nothing
is kept per request. Answers are reproducible from `seed` and the request.
"""

from claude_gw.simulated.answer import SIMULATED_SUFFIX
from claude_gw.simulated.directives import MAX_STALL_S
from claude_gw.simulated.errors import SimError
from claude_gw.simulated.profiles import PROFILES, ModelProfile, profile_for
from claude_gw.simulated.serving import (
    SimulatedTransport,
    asgi_app,
    serve_simulated,
    simulated_transport,
)
from claude_gw.simulated.simulator import SimResponse, SimStats, Simulator

__all__ = [
    "MAX_STALL_S",
    "PROFILES",
    "SIMULATED_SUFFIX",
    "ModelProfile",
    "SimError",
    "SimResponse",
    "SimStats",
    "SimulatedTransport",
    "Simulator",
    "asgi_app",
    "profile_for",
    "serve_simulated",
    "simulated_transport",
]
