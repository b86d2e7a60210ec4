"""The upstream model's context window, and the refusal of a prompt that cannot fit in it.

The window is `--context-window` when set (a local server's is its own setting, e.g.
llama.cpp's `--n_ctx`), else the `context_window` genai-prices gives the model (400,000 for
gpt-5-mini, 1,000,000 for gpt-4.1), else unknown: then nothing is checked. An Anthropic
upstream is checked only against `--context-window`: a Claude model's window depends on the
request's beta headers (200,000 or 1,000,000), and Anthropic refuses in the same words itself.

A prompt over the window gets 400 `prompt is too long: N tokens > M maximum` before anything is
sent: the wording the Claude CLI reacts to by compacting the conversation. Sent anyway, it
costs an upstream round trip, and llama-cpp-python answers a streamed one with an empty 200
stream, which the CLI can only retry.

Counting a large prompt costs milliseconds, so it is counted only when its body could hold that
many tokens: a token is at least one byte of text, so a body of fewer bytes than the window
cannot exceed it.
"""

from __future__ import annotations

import functools

from claude_gw.errors import PromptTooLong
from claude_gw.logs.cost import find_model, pricing_ref


@functools.lru_cache(maxsize=1024)
def model_window(model: str, provider: str) -> int | None:
    """genai-prices' context window for `model` at `provider` (by name alone when the
    provider's table does not know it), or None."""
    found = find_model(*pricing_ref(model, provider)) or find_model(model, None)
    window = getattr(found[1], "context_window", None) if found else None
    return window if isinstance(window, int) and window > 0 else None


def window_for(model: str, provider: str, configured: int | None) -> int | None:
    return configured if configured is not None else model_window(model, provider)


def may_exceed(body_size: int, window: int | None) -> bool:
    """Whether a body of `body_size` bytes could hold more than `window` tokens."""
    return window is not None and body_size > window


def check_fits(prompt_tokens: int, window: int) -> None:
    """Raise `PromptTooLong` when the prompt is over the window."""
    if prompt_tokens > window:
        raise PromptTooLong(f"{prompt_tokens} tokens > {window} maximum")
