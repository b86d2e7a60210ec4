"""Test doubles for claude_gw's tests and benchmarks; nothing in the product imports this
package (tests/test_architecture.py checks it).

- `StrictSimulator`: a fake OpenAI (Chat Completions, Responses) and Anthropic (Messages,
  count_tokens) upstream. It is the built-in simulated backend (`claude_gw.simulated`: the same
  answers, directives, timing and usage) plus the checks the real APIs make, each refusal a
  400 in that API's words (`validate`, `structured`, `responses_checks`, `anthropic_request`),
  and the Anthropic front (`anthropic_api`: Anthropic's headers, errors, usage, thinking
  blocks, cache writes and reads), so a translation bug fails against it as it would upstream.
- `RequestRecorder`: what a `StrictSimulator(recorder=...)` was sent (paths, headers, bodies),
  for the tests that check what the gateway sent upstream. It grows with every request.

Serve either on a socket with `claude_gw.simulated.asgi_app` or `serve_simulated`, or in-process
with `simulated_transport`.
"""

from claude_gw.testing.strict import RequestRecorder, StrictSimulator

__all__ = ["RequestRecorder", "StrictSimulator"]
