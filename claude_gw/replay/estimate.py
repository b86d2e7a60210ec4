"""The dry run: per target, how many requests would go, their prompt tokens (counted locally)
and a cost range from genai-prices; nothing is sent.

The range: low = the prompt tokens alone (no output, no cache hits); high = the prompt plus
every request's `max_tokens` of output. None when genai-prices does not know the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from claude_gw.logs.cost import price_usage
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import GATEWAY, Target
from claude_gw.tokens import count_anthropic_request

GATEWAY_PROVIDER = "openai"  # how a gateway target's model is priced


@dataclass(frozen=True)
class Estimate:
    target: str
    model: str
    requests: int
    prompt_tokens: int
    max_output_tokens: int
    cost_low: float | None
    cost_high: float | None


def price(target: Target, prompt: int, completion: int) -> float | None:
    provider = GATEWAY_PROVIDER if target.kind == GATEWAY else target.api.provider
    found = price_usage(
        target.model,
        provider=provider,
        prompt_tokens=prompt,
        cached_tokens=0,
        completion_tokens=completion,
    )
    return found.cost


def estimate(requests: Sequence[ReplayRequest], targets: Sequence[Target]) -> list[Estimate]:
    """One estimate per target, for all of `requests`."""
    prompt = sum(count_anthropic_request(r.body) for r in requests)
    output = sum(int(r.body.get("max_tokens") or 0) for r in requests)
    return [
        Estimate(
            target=t.name,
            model=t.model,
            requests=len(requests),
            prompt_tokens=prompt,
            max_output_tokens=output,
            cost_low=price(t, prompt, 0),
            cost_high=price(t, prompt, output),
        )
        for t in targets
    ]
