"""What a route does the way Kong's ai-proxy plugin does it, beyond proxying: one frozen object.

`KongOptions()` is a route configured by flags (Anthropic clients, no configured costs, no
model header, the client's own values kept); `settings_for_route` fills it from a route's
effective ai-proxy plugin. Pure: stdlib only, so the gateway's settings can hold it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KongOptions:
    llm_format: str = "anthropic"  # "openai": clients speak chat completions, passed through
    input_cost: float | None = None  # per 1M tokens, model.options; both set -> used for cost
    output_cost: float | None = None
    model_name_header: bool = False  # the X-Kong-LLM-Model response header
    # model.options max_tokens/temperature/top_p/top_k: they replace the client's values
    request_overrides: tuple[tuple[str, int | float], ...] = ()
    # auth.allow_override: a client that sends the auth header itself has it go upstream
    allow_override: bool = False

    @property
    def openai_clients(self) -> bool:
        """Clients speak OpenAI chat completions (`llm_format: openai`), not Anthropic."""
        return self.llm_format == "openai"
