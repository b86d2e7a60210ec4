"""Result records: one per (request, target), in claude_gw's log shape plus a `replay` part.

The record is `logs.record.build_record` of an `Exchange` filled from the replay (so
`read_logs` loads it like any gateway record, payloads included: the original request and the
answer as an Anthropic message), with a sibling top-level key (the reader ignores it):

    "replay": {"v": 1, "run_id", "source_id", "request_key", "target", "attempts", "cached"}
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from claude_gw import __version__
from claude_gw.errors import GatewayError
from claude_gw.logs.cost import SIMULATED
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.record import RecordContext, build_record
from claude_gw.replay.send import Answer, base_url_of, new_id
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import Target

REPLAY_VERSION = 1
USER_AGENT = f"claude-gw-replay/{__version__}"
WORKSPACE = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:replay:workspace"))


@dataclass(frozen=True)
class Outcome:
    """How one (request, target) pair ended: an answer or an error, after `attempts` tries."""

    answer: Answer | None
    error: GatewayError | None
    attempts: int
    cached: bool = False
    # (wall clock, monotonic) when the first try got its slot: waiting for one is not latency
    started: tuple[float, float] | None = None


def context_for(target: Target) -> RecordContext:
    return replay_context(target.name, base_url_of(target))


@functools.lru_cache(maxsize=256)  # one per target, used for every record of the run
def replay_context(name: str, upstream_url: str) -> RecordContext:
    return RecordContext(
        plugin_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-gw:replay:{name}")),
        route_paths=("/replay",),
        service_name=name,
        upstream_url=upstream_url,
        log_payloads=True,
        workspace=WORKSPACE,
        version=__version__,
        route_name="claude-gw-replay",
    )


@functools.lru_cache(maxsize=256)
def upstream_address(url: str) -> tuple[str, str | None, int]:
    """(path, host, port) of the URL a target's requests go to."""
    parts = urlsplit(url)
    return parts.path, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def exchange_for(request: ReplayRequest, target: Target, outcome: Outcome) -> Exchange:
    """The exchange of one replay, from the first try's start (`outcome.started`) to now."""
    started = outcome.started or (time.time(), time.monotonic())
    path, host, port = upstream_address(base_url_of(target) + target.api.path)
    ex = Exchange(
        request_id=new_id(),
        started_at=started[0],
        t_start=started[1],
        path="/replay/v1/messages",
        host="replay",
        headers=[("user-agent", USER_AGENT)],
        client_model=request.body.get("model"),
        request_model=target.model,
        provider=provider_of(target, outcome.answer),
        endpoint="messages",
        upstream_uri=path,
        upstream_host=host,
        upstream_port=port,
        request_body=request.raw,
        t_end=time.monotonic(),
    )
    if outcome.answer is not None:
        fill_answer(ex, outcome.answer)
    elif outcome.error is not None:
        fill_error(ex, outcome.error)
    return ex


def provider_of(target: Target, answer: Answer | None) -> str:
    """The provider to log: the target's, unless the answer says it was simulated (the
    built-in simulated backend marks every answer with `x-simulated: true`)."""
    if answer is not None and answer.headers.get("x-simulated") == "true":
        return SIMULATED
    return target.provider


def fill_answer(ex: Exchange, answer: Answer) -> None:
    message = answer.message
    ex.t_upstream_sent, ex.t_upstream_headers = answer.t_sent, answer.t_done
    ex.t_upstream_done = answer.t_done
    ex.upstream_status = ex.status = answer.upstream_status
    ex.source = "upstream"
    ex.usage = answer.usage
    ex.response_model = message.get("model")
    ex.stop_reason = message.get("stop_reason")
    content = message.get("content") or []
    ex.tool_calls = sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_use")
    ex.response_body = orjson.dumps(message).decode()


def fill_error(ex: Exchange, error: GatewayError) -> None:
    ex.status = error.http_status
    ex.upstream_status = error.upstream_status
    if error.upstream_status is not None:
        ex.t_upstream_sent = ex.t_upstream_done = ex.t_end
        ex.source = "upstream"
    ex.error_type = error.error_type
    ex.error_message = error.message
    ex.response_body = orjson.dumps(error.to_body()).decode()


def result_record(
    request: ReplayRequest,
    target: Target,
    outcome: Outcome,
    *,
    run_id: str,
) -> dict[str, Any]:
    """The output record of one (request, target) pair."""
    ex = exchange_for(request, target, outcome)
    record: dict[str, Any] = dict(build_record(ex, context_for(target)))
    record["replay"] = {
        "v": REPLAY_VERSION,
        "run_id": run_id,
        "source_id": request.source_id,
        "request_key": request.key,
        "target": target.name,
        "attempts": outcome.attempts,
        "cached": outcome.cached,
    }
    return record
