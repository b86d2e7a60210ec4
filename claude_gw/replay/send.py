"""One request to one target, once: translate, send with `AiohttpUpstream`, translate back.

Every kind reuses the gateway's own dialects (`server.dialects`), so a replayed answer is
translated exactly as the gateway would translate it, and is sent with `AiohttpUpstream` (the
contract of the gateway's `Upstream`, on aiohttp: see `upstream_aiohttp.py` for why). Every
failure is a `GatewayError` (from the sender or the translators).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from claude_gw.replay.targets import Target
from claude_gw.server.dialects import DIALECTS
from claude_gw.translate.models import target_for
from claude_gw.translate.profiles import apply_profile, choose_profile
from claude_gw.upstream_aiohttp import AiohttpUpstream

ANTHROPIC_VERSION = "2023-06-01"
PROVIDERS = {"chat": "openai", "responses": "openai", "anthropic": "anthropic"}


@dataclass
class Answer:
    """What one successful call returned, and when (monotonic readings)."""

    message: dict[str, Any]
    usage: dict[str, Any] | None
    upstream_status: int
    t_sent: float
    t_done: float
    headers: dict[str, str] = field(default_factory=dict)


def new_id() -> str:
    """32 random hex digits: an id that only has to be unique, not secret (cheaper than
    uuid4, whose `os.urandom` is a system call per id)."""
    return f"{random.getrandbits(128):032x}"


def base_url_of(target: Target) -> str:
    """The URL the dialect's path is appended to; a gateway is reached on its /anything route."""
    url = target.base_url.rstrip("/")
    if target.kind != "gateway" or url.endswith("/v1"):
        return url
    return f"{url}/v1" if url.endswith("/anything") else f"{url}/anything/v1"


def dialect_of(target: Target) -> str:
    return "anthropic" if target.kind == "gateway" else target.kind


def upstream_for(
    target: Target, session: aiohttp.ClientSession, api_key: str | None, timeout: float | None
) -> AiohttpUpstream:
    """The sender for `target`; `timeout` bounds each call (seconds)."""
    dialect = DIALECTS[dialect_of(target)]
    anthropic = dialect.name == "anthropic"
    return AiohttpUpstream(
        session,
        base_url=base_url_of(target),
        api_key=api_key,
        provider=PROVIDERS.get(target.kind, "claude_gw"),
        path=dialect.path,
        auth_header="x-api-key" if anthropic else None,
        extra_headers={"anthropic-version": ANTHROPIC_VERSION} if anthropic else None,
        timeout=timeout,
    )


def upstream_body(target: Target, body: dict[str, Any]) -> dict[str, Any]:
    """The body the target gets: the request translated for its API, never streaming, with
    the target's extra parameters on top."""
    dialect = DIALECTS[dialect_of(target)]
    doc = {k: v for k, v in body.items() if k != "stream"}
    model = target_for(target.model)
    sent = dialect.request(doc, model, stream=False)
    if dialect.name == "chat":  # the server profile its URL implies, as the gateway does
        profile = choose_profile(target.base_url, None, None)
        apply_profile(sent, profile, reasoning=model.reasoning)  # type: ignore[arg-type]
    return {**sent, **target.params}


async def send_once(target: Target, body: dict[str, Any], upstream: AiohttpUpstream) -> Answer:
    """Send `body` (an Anthropic Messages request) to `target` once, through `upstream`
    (`upstream_for(target, ...)`); raise `GatewayError`."""
    dialect = DIALECTS[dialect_of(target)]
    sent = upstream_body(target, body)
    t_sent = time.monotonic()
    doc, headers = await upstream.complete(sent)
    message, usage = dialect.response(doc, message_id=f"msg_replay_{new_id()[:24]}")
    return Answer(
        message=dict(message),
        usage=dict(usage) if usage else None,
        upstream_status=200,
        t_sent=t_sent,
        t_done=time.monotonic(),
        headers=headers,
    )
