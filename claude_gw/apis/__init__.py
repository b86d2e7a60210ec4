"""The upstream APIs, one module each (`chat`, `responses`, `anthropic`), and their registry.

Invariant: everything particular to one upstream API (its path, key header and variable,
pricing provider, vendor URL, request, answer, stream, usage and error translation, local token
count) lives in that API's module and is reached through `get_api(name)`; nothing outside this
package branches on an API's name. A new API is one new module that provides `UpstreamApi`
(`base.py`), added to `APIS`. The modules are pure: translation and counting, no I/O.
"""

from __future__ import annotations

from claude_gw.apis.anthropic import ANTHROPIC, ANTHROPIC_URL
from claude_gw.apis.base import Translator, UpstreamApi
from claude_gw.apis.chat import CHAT, OPENAI_URL
from claude_gw.apis.responses import RESPONSES

APIS: dict[str, UpstreamApi] = {api.name: api for api in (CHAT, RESPONSES, ANTHROPIC)}
NAMES = tuple(APIS)

__all__ = [
    "ANTHROPIC",
    "ANTHROPIC_URL",
    "APIS",
    "CHAT",
    "NAMES",
    "OPENAI_URL",
    "RESPONSES",
    "Translator",
    "UpstreamApi",
    "get_api",
]


def get_api(name: str) -> UpstreamApi:
    """The API called `name`; `ValueError` naming the known ones otherwise."""
    try:
        return APIS[name]
    except KeyError:
        raise ValueError(
            f"unknown upstream API {name!r}: expected one of {', '.join(NAMES)}"
        ) from None
