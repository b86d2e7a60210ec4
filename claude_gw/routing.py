"""Model routing: which upstream model a client's request goes to, and the rule that chose it.

Pure (no I/O): `Routing` holds the model settings of one gateway route (`Settings.routing`) and
`Routing.choose` applies them; the counting of prompt tokens is the caller's, done only when a
rule needs it. A "route" is a group of path prefixes with its upstream (Kong's meaning); the
choice made here is a "rule" (`claude_gw.route_rule` in the log).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

SUBAGENT_PREFIX = "claude-haiku-"  # the small Claude model the CLI's subagents ask for
DEFAULT_MODEL = "gpt-5-mini"
DEFAULT_LONG_CONTEXT_TOKENS = 200_000


@dataclass(frozen=True)
class ModelRule:
    """Requests for a model matching `pattern` (a shell glob: `claude-haiku-*`) go to `model`."""

    pattern: str
    model: str

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.pattern)


@dataclass(frozen=True)
class Routing:
    model: str = DEFAULT_MODEL  # the default model
    model_map: tuple[ModelRule, ...] = ()
    subagent_model: str | None = None
    long_context_model: str | None = None
    long_context_tokens: int = DEFAULT_LONG_CONTEXT_TOKENS
    # every request goes to `model`: Kong's configured model.name, or the search route
    force_model: bool = False

    def choose(
        self,
        client_model: str | None,
        *,
        subagent: bool = False,
        prompt_tokens: Callable[[], int] | None = None,
    ) -> tuple[str, str]:
        """(upstream model, the rule that chose it), first rule that applies:

        1. `long_context`: the request has more than `long_context_tokens` prompt tokens
           (counted only when a long-context model is set);
        2. `subagent`: it comes from a Claude CLI subagent (`subagent=True`) or asks for a
           small Claude model (`claude-haiku-*`), and a subagent model is set;
        3. `map:<pattern>`: the first model-map rule whose glob matches;
        4. `default`: Claude names (the CLI sends them on its own) or no name, or any name when
           the model is forced (Kong's configured `model.name`);
        5. `client`: any other name passes through.
        """
        name = client_model or ""
        if self.long_context_model and prompt_tokens is not None:
            if prompt_tokens() > self.long_context_tokens:
                return self.long_context_model, "long_context"
        if self.subagent_model and (subagent or name.startswith(SUBAGENT_PREFIX)):
            return self.subagent_model, "subagent"
        for rule in self.model_map:
            if rule.matches(name):
                return rule.model, f"map:{rule.pattern}"
        if not name or name.startswith("claude-") or self.force_model:
            return self.model, "default"
        return name, "client"

    def resolve(self, client_model: str | None) -> str:
        """The upstream model for a model name alone (no subagent header, no prompt counted):
        what `capture` tells the Claude CLI, and what a request is logged as asking for."""
        return self.choose(client_model)[0]
