"""The upstream model a request goes to, and whether it is an OpenAI reasoning model.

Reasoning models take `reasoning_effort` and reject `temperature`/`top_p` (wire README quirk 10,
fixture openai-chat-error-400-unsupported-value-temperature.json), so the request translator
needs to know which kind of model it writes for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The rule, applied to the name after its last "/" (provider prefixes such as `openai/` or
# `azure/openai/` are ignored), case-insensitively:
#   reasoning      gpt-5, gpt-5-mini, gpt-5.1, gpt-5.5-pro, o1, o1-mini, o3, o3-mini, o4-mini ...
#   not reasoning  gpt-5-chat-latest (and any gpt-5-chat*), gpt-4*, gpt-3.5*, everything else.
# `gpt-50` or `o10` do not match: the family name must end there or go on with "-" or ".".
_REASONING = re.compile(r"(gpt-5|o1|o3|o4)(?:$|[-.])")
_NOT_REASONING = re.compile(r"gpt-5-chat")


@dataclass(frozen=True)
class TargetModel:
    """The model a request is sent to upstream, and whether it is a reasoning model."""

    name: str
    reasoning: bool


def is_reasoning_model(name: str) -> bool:
    """True for the OpenAI reasoning families (see the rule above), with or without a prefix."""
    base = name.rsplit("/", 1)[-1].strip().lower()
    if _NOT_REASONING.match(base):
        return False
    return _REASONING.match(base) is not None


def target_for(name: str, *, reasoning: bool | None = None) -> TargetModel:
    """The upstream target for `name`; `reasoning=None` decides with `is_reasoning_model`."""
    return TargetModel(name, is_reasoning_model(name) if reasoning is None else reasoning)
