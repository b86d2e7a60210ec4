"""A built-in simulated LLM backend (OpenAI Chat Completions, OpenAI Responses, Anthropic
Messages): no key, no network, made-up answers.

`claude-gw serve --upstream simulated` runs the gateway against it, the tests use the same
code as their fake upstream for all three dialects, and `serve_simulated()` serves it on a
loopback port for anything that needs a URL (the sample replay, notebook 4). It behaves
like the real APIs closely enough for translation bugs to show up (validation, error envelopes
and headers, stream framing, usage accounting, timing), and it always says it is a
simulation: every answer's `model` is the requested name plus `-simulated`, and every response
carries the header `x-simulated: true`.

Endpoints (any path prefix): `POST .../chat/completions`, `GET .../models`, `POST
.../responses` (`responses_api`), `POST .../messages` and `POST .../messages/count_tokens`
(`anthropic_api`: Anthropic's headers, errors and usage); anything else is a 404 in OpenAI's
error envelope. All three APIs answer from one logic: a Responses or Messages request is
converted to the chat shape first, so the same conversation gets the same answer, directives
and tool-result reports everywhere.

Directives, written in the LAST message when a user wrote it (anywhere in its text):

- `[sim:reply some text]` answer exactly this text (balanced `[...]` may appear inside).
- `[sim:tool NAME {json args}]` call tool NAME with these arguments (`{}` when omitted); one
  directive per call, several make parallel calls. Arguments stream in 3-7 character
  fragments that split keys and strings. With `[sim:reply ...]` too, the text comes first.
- `[sim:error 429|500|503|401|context_length]` answer that error as OpenAI does: 429 with
  `retry-after`, `retry-after-ms` and `x-ratelimit-*` headers; 500 `server_error`; 503
  overloaded; 401 `invalid_api_key`; 400 `context_length_exceeded` (`/messages`: Anthropic's
  statuses and envelope; see `anthropic_errors`).
- `[sim:stall SECONDS]` after the headers, wait this long before the first chunk (literal
  seconds, not scaled by `time_scale`, at most 60), so the gateway has to send pings.
- `[sim:cut]` the stream stops after a few chunks: no finish chunk, no usage, no `[DONE]`
  (non-streaming: the JSON body stops halfway).
- `[sim:no_finish]` no chunk carries a `finish_reason`, but usage and `[DONE]` still come.
- `[sim:rounds N]` the tool calls are made again after each round of results, N rounds in all;
  `[sim:sequence]` they are made one per turn, in order (ToolSearch, then the tool it loaded).

An unknown or malformed directive is answered with a 400 that says what is wrong.

Without directives: a deterministic reply that names the model and quotes the start of the
user's last text, 20-120 tokens long. When the conversation ends with tool results, the reply
reports them (`Tool Bash returned: hello-from-tool`). Tools are called only by directive or when
`tool_choice` forces one (then with `{}`); `tool_choice: "none"` drops tool directives and
`parallel_tool_calls: false` keeps only the first.
A `response_format` (Responses: `text.format`) with a JSON schema is checked as OpenAI checks
it (`structured`) and, without a reply directive, answered with JSON that follows the schema.

Usage: `prompt_tokens` from `claude_gw.tokens.count_openai_messages`; a (model, tools, leading
system messages) prefix seen before by the same Simulator is cached in 128-token steps from 1024
tokens on; reasoning models add `reasoning_tokens` (by `reasoning_effort`, default medium) to
`completion_tokens`. `max_completion_tokens` (or `max_tokens`) caps reasoning first and then the
text, ending with `finish_reason: "length"`; `stop` sequences cut the text.

Chat stream envelope (as ../shared/fixtures/wire/openai-chat-stream-*.sse): the first delta is
`{"role":"assistant","content":"","refusal":null}` (or `content: null` plus the first tool-call
header), then token-sized pieces, a finish chunk with `delta: {}`, and `data: [DONE]`. With
`stream_options.include_usage`, every chunk carries `usage: null` and a last chunk with
`choices: []` carries the usage; without it there is no `usage` key at all (the spec's rule).
Every chunk carries an `obfuscation` pad (`""` on the finish chunk) unless
`stream_options.include_obfuscation` is false.

Responses (as openai-responses-stream-tools.sse): reasoning models answer with a `reasoning`
item first (`encrypted_content` with `include: ["reasoning.encrypted_content"]`, a summary with
`reasoning.summary`), then a `message` item, then `function_call` items; a reasoning item sent
back must be one this Simulator issued (`vault`); `max_output_tokens` running out makes the
response `incomplete`. On the event-framed APIs `[sim:cut]` stops after `CUT_AFTER_EVENTS`
events and `[sim:no_finish]` leaves out the terminal event (Responses) or the stop reason
(Messages). Messages (as anthropic-stream-*.sse): thinking blocks when `thinking` is on and the
profile thinks (`claude-*` profiles and reasoning models), `input_tokens` without the cache
reads and writes, `[sim:error 503]` as 529 `overloaded_error`.

Timing (every figure times `time_scale`): the model profile's `latency_s` before the headers;
streaming: `ttft_s` plus reasoning time before the first chunk, then one text piece per token at
`tokens_per_s`; on the event-framed APIs the opening events (`response.created`,
`message_start`) come at once and the hidden reasoning is spread over the summary or thinking
deltas; non-streaming: the whole generation before the headers. `created` and
`openai-processing-ms` come from the clock; everything else is reproducible from `seed` and the
request (ids also from the request's ordinal number within the Simulator).
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
