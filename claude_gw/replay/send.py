"""One request to one target, once: translate, send, translate back.

Every kind speaks its upstream API through the API's own module (`apis`) and is sent with the
gateway's own sender (`upstream.Upstream`), so a replayed request and answer are translated,
limited, masked and mapped to errors exactly as the gateway would. Every failure is a
`GatewayError` (from the sender or the translators).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from claude_gw.replay.targets import GATEWAY, Target
from claude_gw.translate.models import target_for
from claude_gw.translate.profiles import choose_profile
from claude_gw.upstream import Pool, Upstream, remote_upstream


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
    """The URL the API's path is appended to; a gateway is reached on its /anything route."""
    url = target.base_url.rstrip("/")
    if target.kind != GATEWAY or url.endswith("/v1"):
        return url
    return f"{url}/v1" if url.endswith("/anything") else f"{url}/anything/v1"


def upstream_for(
    target: Target, pool: Pool, api_key: str | None, timeout: float | None
) -> Upstream:
    """The sender for `target`, on the run's connection pool; `timeout` bounds each call
    (seconds, connecting and reading the answer)."""
    return remote_upstream(
        target.api,
        base_url_of(target),
        api_key,
        pool=pool,
        provider=target.provider,
        call_timeout=timeout,
    )


def upstream_body(target: Target, body: dict[str, Any]) -> dict[str, Any]:
    """The body the target gets: the request translated for its API, never streaming, with
    the target's extra parameters on top."""
    doc = {k: v for k, v in body.items() if k != "stream"}
    profile = choose_profile(
        target.base_url, None, None
    )  # the one its URL implies, as the gateway does
    sent = target.api.request(doc, target_for(target.model), stream=False, profile=profile)
    return {**sent, **target.params}


async def send_once(target: Target, body: dict[str, Any], upstream: Upstream) -> Answer:
    """Send `body` (an Anthropic Messages request) to `target` once, through `upstream`
    (`upstream_for(target, ...)`); raise `GatewayError`. The answer and its headers (names
    lower-cased) come with the upstream's secrets masked: they go to result files, caches and
    consoles, and an upstream may quote its key back."""
    sent = upstream_body(target, body)
    t_sent = time.monotonic()
    doc, headers = await upstream.complete(sent)
    masker = upstream.masker
    if masker:
        doc = masker.value(doc)
    message, usage = target.api.response(doc, message_id=f"msg_replay_{new_id()[:24]}")
    return Answer(
        message=dict(message),
        usage=dict(usage) if usage else None,
        upstream_status=200,
        t_sent=t_sent,
        t_done=time.monotonic(),
        headers={k.lower(): masker.text(v) if masker else v for k, v in headers.items()},
    )
