"""Per-model timing and reasoning figures for the simulated backend.

The figures are ILLUSTRATIVE: picked to sit inside the ranges that public benchmarks (e.g.
Artificial Analysis' latency and output-speed charts) showed for these models in 2025. They make
the simulation feel plausible; they are not measurements and promise nothing about real models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType

DEFAULT_PROFILE = "*"


@dataclass(frozen=True)
class ModelProfile:
    """How a simulated model behaves in time and tokens.

    latency_s: from request to response headers. ttft_s: from headers to the first content
    (reasoning models add reasoning_tokens / tokens_per_s on top). tokens_per_s: output speed,
    reasoning included. reasoning_tokens: effort -> typical hidden reasoning tokens; only
    reasoning models have it, and they accept only these `reasoning_effort` values.
    thinking: answers Anthropic `thinking` requests with thinking blocks (reasoning models do
    too); a thinking-only profile stays a non-reasoning model for the OpenAI APIs, and its
    reasoning_tokens are the typical thinking spend by effort.
    """

    latency_s: float
    ttft_s: float
    tokens_per_s: float
    reasoning: bool = False
    reasoning_tokens: Mapping[str, int] = field(default_factory=dict)
    context_window: int = 128_000
    thinking: bool = False


_GPT5_WINDOW = 400_000
_GPT41_WINDOW = 1_047_576
_CLAUDE_WINDOW = 200_000
_CLAUDE_THINKING = {"low": 512, "medium": 1536, "high": 4096}

PROFILES: Mapping[str, ModelProfile] = MappingProxyType(
    {
        "gpt-5": ModelProfile(
            latency_s=0.5,
            ttft_s=0.6,
            tokens_per_s=75,
            reasoning=True,
            reasoning_tokens={"minimal": 0, "low": 256, "medium": 768, "high": 2560},
            context_window=_GPT5_WINDOW,
        ),
        "gpt-5-mini": ModelProfile(
            latency_s=0.4,
            ttft_s=0.5,
            tokens_per_s=140,
            reasoning=True,
            reasoning_tokens={"minimal": 0, "low": 128, "medium": 448, "high": 1536},
            context_window=_GPT5_WINDOW,
        ),
        "gpt-5-nano": ModelProfile(
            latency_s=0.35,
            ttft_s=0.4,
            tokens_per_s=180,
            reasoning=True,
            reasoning_tokens={"minimal": 0, "low": 128, "medium": 512, "high": 1792},
            context_window=_GPT5_WINDOW,
        ),
        "gpt-4.1": ModelProfile(
            latency_s=0.35, ttft_s=0.45, tokens_per_s=85, context_window=_GPT41_WINDOW
        ),
        "gpt-4.1-mini": ModelProfile(
            latency_s=0.3, ttft_s=0.35, tokens_per_s=110, context_window=_GPT41_WINDOW
        ),
        "gpt-4o-mini": ModelProfile(latency_s=0.3, ttft_s=0.35, tokens_per_s=90),
        # Glob names: they match every dated Claude model and are not listed by GET /models.
        "claude-*": ModelProfile(
            latency_s=0.4,
            ttft_s=0.8,
            tokens_per_s=65,
            reasoning_tokens=_CLAUDE_THINKING,
            context_window=_CLAUDE_WINDOW,
            thinking=True,
        ),
        "claude-haiku-*": ModelProfile(
            latency_s=0.3,
            ttft_s=0.45,
            tokens_per_s=150,
            reasoning_tokens=_CLAUDE_THINKING,
            context_window=_CLAUDE_WINDOW,
            thinking=True,
        ),
        "claude-opus-*": ModelProfile(
            latency_s=0.5,
            ttft_s=1.2,
            tokens_per_s=40,
            reasoning_tokens=_CLAUDE_THINKING,
            context_window=_CLAUDE_WINDOW,
            thinking=True,
        ),
        DEFAULT_PROFILE: ModelProfile(latency_s=0.3, ttft_s=0.4, tokens_per_s=80),
    }
)


def profile_for(model: str, profiles: Mapping[str, ModelProfile] = PROFILES) -> ModelProfile:
    """The profile of `model`: the longest profile name that equals the model name, is a prefix
    of it (`gpt-5-mini-2025-08-07` -> `gpt-5-mini`, `gpt-5.1` -> `gpt-5`) or matches it as a
    glob (`*`); a name nothing matches gets the built-in default profile."""
    matches = [name for name in profiles if model.startswith(name) or fnmatchcase(model, name)]
    if not matches:
        return PROFILES[DEFAULT_PROFILE]
    return profiles[max(matches, key=len)]
