"""Build one Kong 3.13 File Log + AI Proxy record from an `Exchange`, and encode it.

`build_record` is pure: no clock, no I/O; every time comes from the exchange. The shape is the
one in `../shared/fixtures/kong/claude.json` (see `../shared/notes/kong.md`), with two deliberate
differences: secrets are redacted more strictly than Kong does (`x-api-key`, `api-key` and
`cookie` too, and any key-looking token in URIs, messages and payloads), and claude_gw's own
fields live under the versioned top-level key `claude_gw`.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote_plus, urlsplit

from claude_gw.logs.cost import NOT_PRICED, Price, price_usage, search_price
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.redact import (
    REDACTED,
    scrub_path,
    scrub_query,
    scrub_query_pair,
    scrub_secrets,
    secret_name,
)
from claude_gw.wire import (
    AGENT_HEADER,
    JSON,
    SESSION_HEADER,
    GatewayFields,
    LogMeta,
    LogProxy,
    LogRecord,
    LogUsage,
)

logger = logging.getLogger("claude_gw.logs.record")

GATEWAY_FIELDS_VERSION = 1
MODEL_CALLS = ("messages", "chat_completions")  # endpoints that go upstream
UNSPECIFIED = "UNSPECIFIED"  # Kong's value for what an early rejection never learned
PROMPT_DETAILS = ("cached_tokens", "audio_tokens")
COMPLETION_DETAILS = (
    "reasoning_tokens",
    "audio_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
)


@dataclass(frozen=True)
class RecordContext:
    """The static parts of every record: the Kong entities claude_gw stands in for.

    `created_at` is optional: Kong omits null entity fields, and so do we.
    """

    plugin_id: str
    route_paths: tuple[str, ...]
    service_name: str
    upstream_url: str
    log_payloads: bool
    workspace: str
    version: str
    route_name: str = "claude-gw"
    created_at: int | None = None  # epoch seconds, for the route/service entities
    # Kong's model.options input_cost/output_cost (per 1M tokens): when both are set, cost is
    # Kong's formula over them (`cost_source: "config"`) instead of the genai-prices table.
    input_cost: float | None = None
    output_cost: float | None = None


def grouped(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A dict of the pairs, where a name seen more than once maps to the list of its values."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def parse_query(query: str) -> dict[str, Any]:
    """Kong's `get_query()`: `a=1` -> "1", a bare `flag` -> True, a repeated key -> a list;
    secrets scrubbed (`scrub_query_pair`: names and values, after percent-decoding)."""
    pairs: list[tuple[str, str | bool]] = []
    for name, sep, value in (piece.partition("=") for piece in query.split("&") if piece):
        key, text = scrub_query_pair(unquote_plus(name), unquote_plus(value) if sep else None)
        pairs.append((key, True if text is None else text))
    return grouped(pairs)


# A client sends the same query, header values and paths on every request of a session (the
# Claude CLI: `beta=true`, its user agent, beta flags, session id): each is scrubbed once.
# Bounded: at most _SCRUBBED_MAX kept per memo, and nothing over 512 characters.
_SCRUBBED_MAX = 4096
K = TypeVar("K")
V = TypeVar("V")
_QUERIES: dict[str, tuple[str, dict[str, Any]]] = {}
_SCRUBBED: dict[str, str] = {}
_URIS: dict[tuple[str, str], str] = {}


def _kept(memo: dict[K, V], key: K, size: int, done: V) -> V:
    """`done`, kept in `memo` under `key` when `size` (the input's length) is at most 512; a
    full memo is emptied at once (new values without end cost a clear, not memory). Callers
    look the key up themselves first: a hit stays one dict lookup."""
    if size <= 512:
        if len(memo) >= _SCRUBBED_MAX:
            memo.clear()
        memo[key] = done
    return done


def logged_query(query: str) -> tuple[str, dict[str, Any]]:
    """(raw query as logged, Kong's querystring object), both scrubbed; remembered."""
    done = _QUERIES.get(query)
    if done is None:
        done = _kept(_QUERIES, query, len(query), (scrub_query(query), parse_query(query)))
    return done[0], dict(done[1])


def log_headers(headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Lower-cased names; a repeated header becomes a list; secret headers become REDACTED."""
    lowered = [(name.lower(), value) for name, value in headers]
    return grouped(
        [
            (name, REDACTED if secret_name(name) else scrubbed_header(value))
            for name, value in lowered
        ]
    )


def scrubbed_header(value: str) -> str:
    """`scrub_secrets(value)`, remembered for short values."""
    done = _SCRUBBED.get(value)
    return _kept(_SCRUBBED, value, len(value), scrub_secrets(value)) if done is None else done


def header_value(ex: Exchange, name: str) -> str | None:
    """The first value of a request header, by case-insensitive name."""
    for key, value in ex.headers:
        if key.lower() == name:
            return value
    return None


def logged_uri(path: str, query: str) -> str:
    """`path?query` as logged: secrets scrubbed from both, percent-encoded ones included;
    remembered (as `logged_query`)."""
    done = _URIS.get((path, query))
    if done is None:
        uri = scrub_path(path) + (f"?{logged_query(query)[0]}" if query else "")
        done = _kept(_URIS, (path, query), len(path) + len(query), uri)
    return done


def request_uri(ex: Exchange) -> str:
    return logged_uri(ex.path, ex.query_string)


def request_part(ex: Exchange) -> JSON:
    uri = request_uri(ex)
    return {
        "id": ex.request_id,
        "uri": uri,
        "url": f"{ex.scheme}://{scrub_secrets(ex.host) or 'localhost'}{uri}",
        "querystring": logged_query(ex.query_string)[1] if ex.query_string else {},
        "method": ex.method,
        "headers": log_headers(ex.headers),
        "size": ex.request_size,
    }


def upstream_uri(ex: Exchange) -> str:
    """What was sent upstream: the chat path, without the client's query (Kong would append
    it, but the gateway does not forward it). For a request that never went upstream, Kong's
    rule: the route-stripped client path with its query."""
    if proxied(ex) and ex.upstream_uri:
        path, _, query = ex.upstream_uri.partition("?")
        return logged_uri(path, query)
    path = ex.path[len(ex.route_prefix) :] if ex.path.startswith(ex.route_prefix) else ex.path
    return logged_uri(path or "/", ex.query_string)


def proxied(ex: Exchange) -> bool:
    """Whether the request was sent upstream (Kong: the balancer ran)."""
    return ex.endpoint in MODEL_CALLS and ex.t_upstream_sent is not None


def ms(start: float | None, end: float | None) -> int:
    """Whole milliseconds between two monotonic readings (floored, like Kong); 0 if unknown."""
    if start is None or end is None:
        return 0
    return max(0, int((end - start) * 1000))


def last_reading(ex: Exchange) -> float:
    readings = (ex.t_end, ex.t_upstream_done, ex.t_first_token, ex.t_upstream_headers)
    return next((t for t in readings if t is not None), ex.t_start)


def upstream_end(ex: Exchange) -> float:
    """When the gateway stopped waiting on the upstream."""
    return ex.t_upstream_done or ex.t_upstream_headers or last_reading(ex)


def latencies(ex: Exchange) -> JSON:
    end = last_reading(ex)
    if not proxied(ex):
        total = ms(ex.t_start, end)
        return {"kong": total, "proxy": -1, "request": total, "receive": 0}
    headers_at = ex.t_upstream_headers or upstream_end(ex)
    return {
        "kong": ms(ex.t_start, ex.t_upstream_sent),
        "proxy": ms(ex.t_upstream_sent, headers_at),
        "request": ms(ex.t_start, end),
        "receive": ms(headers_at, ex.t_upstream_done),
    }


def llm_latency(ex: Exchange) -> int:
    """ms from arrival to the end of the upstream answer (or of the request); 0 if not proxied."""
    return ms(ex.t_start, ex.t_upstream_done or last_reading(ex)) if proxied(ex) else 0


def gateway_overhead_ms(ex: Exchange, now: float | None = None) -> float:
    """Total time minus the time spent waiting on the upstream, in ms, to 0.01. With `now`, so
    far (the response headers carry it): an answer not yet ended is waited on until `now`."""
    end = last_reading(ex) if now is None else now
    sent = ex.t_upstream_sent
    waited = 0.0
    if sent is not None and proxied(ex):
        done = upstream_end(ex) if now is None else (ex.t_upstream_done or now)
        waited = max(0.0, done - sent)
    return round(max(0.0, end - ex.t_start - waited) * 1000, 2)


def tries(ex: Exchange) -> list[JSON]:
    """One balancer try, marked failed when the upstream answered 5xx or not at all."""
    offset = (ex.t_upstream_sent or ex.t_start) - ex.t_start
    start_ns = int((ex.started_at + offset) * 1e9)
    attempt: JSON = {
        "balancer_start": start_ns // 1_000_000,
        "balancer_start_ns": float(start_ns),  # a lossy float in Kong too
        "ip": ex.upstream_host or "",
        "port": ex.upstream_port or 0,
        "balancer_latency": 0,
        "balancer_latency_ns": 0,
    }
    code = ex.upstream_status if ex.upstream_status is not None else ex.status
    if code > 499:
        attempt.update(state="failed", code=code)
    return [attempt]


def entity_id(ctx: RecordContext, kind: str) -> str:
    return plugin_entity_id(ctx.plugin_id, kind)


# Cached: the same few routes and services are logged on every request, and uuid5 and
# urlsplit cost as much as the rest of the entity together.
@functools.lru_cache(maxsize=1024)
def plugin_entity_id(plugin_id: str, kind: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-gw:{plugin_id}:{kind}"))


@functools.lru_cache(maxsize=1024)
def url_parts(url: str) -> tuple[str, str, int, str]:
    """(protocol, host, port, path) of a service URL, with Kong's defaults."""
    parts = urlsplit(url)
    protocol = parts.scheme or "http"
    port = parts.port or (443 if protocol == "https" else 80)
    return protocol, parts.hostname or "", port, parts.path or "/"


def service_entity(ctx: RecordContext) -> JSON:
    protocol, host, port, path = url_parts(ctx.upstream_url)
    entity: JSON = {
        "id": entity_id(ctx, "service"),
        "name": ctx.service_name,
        "host": host,
        "port": port,
        "protocol": protocol,
        "path": path,
        "retries": 0,  # claude_gw never retries a request
        "enabled": True,
        "ws_id": ctx.workspace,
        "created_at": ctx.created_at,
        "updated_at": ctx.created_at,
    }
    return {k: v for k, v in entity.items() if v is not None}


def route_entity(ctx: RecordContext) -> JSON:
    entity: JSON = {
        "id": entity_id(ctx, "route"),
        "name": ctx.route_name,
        "paths": list(ctx.route_paths),
        "protocols": ["http", "https"],
        "strip_path": True,
        "preserve_host": False,
        "regex_priority": 0,
        "https_redirect_status_code": 426,
        "path_handling": "v0",
        "request_buffering": True,
        "response_buffering": True,
        "ws_id": ctx.workspace,
        "service": {"id": entity_id(ctx, "service")},
        "created_at": ctx.created_at,
        "updated_at": ctx.created_at,
    }
    return {k: v for k, v in entity.items() if v is not None}


def count(value: Any) -> int:
    """A token count from untrusted usage JSON: ints pass, anything else is 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def details(usage: Mapping[str, Any], key: str, names: tuple[str, ...]) -> JSON:
    given = usage.get(key)
    given = given if isinstance(given, Mapping) else {}
    return {name: count(given.get(name)) for name in names}


def meta(ex: Exchange, ctx: RecordContext) -> LogMeta:
    request_model = ex.request_model or ex.client_model
    known = request_model is not None or proxied(ex)
    return {
        "plugin_id": ctx.plugin_id,
        "provider_name": ex.provider if known else UNSPECIFIED,
        "request_model": request_model or UNSPECIFIED,
        "response_model": ex.response_model or request_model or UNSPECIFIED,
        "request_mode": "oneshot" if ex.endpoint == "count_tokens" else ex.mode,
        "llm_latency": llm_latency(ex),
    }


def price(ex: Exchange, ctx: RecordContext, prompt: int, cached: int, completion: int) -> Price:
    """What the upstream's usage cost; "none" when there is no upstream usage to price.

    Configured costs win (Kong: `(prompt * input_cost + completion * output_cost) / 1e6`);
    else priced as the model that answered, or (unknown to the table) as the model requested,
    web searches included where the table prices them (`search_price`; the read side's
    `calculate` mode prices tokens only).
    """
    if ex.usage is None or ex.endpoint not in MODEL_CALLS:
        return NOT_PRICED
    if ctx.input_cost is not None and ctx.output_cost is not None:
        return Price((prompt * ctx.input_cost + completion * ctx.output_cost) / 1e6, "config")
    cost = Price(None, "unpriced")
    at = datetime.fromtimestamp(ex.started_at, tz=UTC)
    for model in dict.fromkeys(m for m in (ex.response_model, ex.request_model) if m):
        cost = price_usage(
            model,
            provider=ex.provider,
            prompt_tokens=prompt,
            cached_tokens=cached,
            completion_tokens=completion,
            at=at,
        )
        if cost.source == "genai-prices":
            searches = ex.web_search_requests or 0
            extra = search_price(model, provider=ex.provider, searches=searches, at=at)
            if extra is not None and cost.cost is not None:
                cost = Price(cost.cost + extra, cost.source)
            break
    return cost


def usage(ex: Exchange, ctx: RecordContext, latency: int) -> tuple[LogUsage, Price]:
    """Kong's usage block from the upstream's OpenAI usage (count_tokens: the local count).

    With no upstream usage the `*_details` are `{}` as in Kong; with usage, every detail key is
    present (0 when the upstream left it out) so that columns stay stable. A count_tokens
    answer is a usage too (the local count, nothing cached, nothing generated): same shape.
    """
    given: Mapping[str, Any] = ex.usage if isinstance(ex.usage, Mapping) else {}
    full = bool(given) or ex.endpoint == "count_tokens"
    prompt_details = details(given, "prompt_tokens_details", PROMPT_DETAILS) if full else {}
    completion_details = (
        details(given, "completion_tokens_details", COMPLETION_DETAILS) if full else {}
    )
    prompt, completion = count(given.get("prompt_tokens")), count(given.get("completion_tokens"))
    if ex.endpoint == "count_tokens":
        prompt, completion = count(ex.counted_input_tokens), 0
    cost = price(ex, ctx, prompt, prompt_details.get("cached_tokens", 0), completion)
    block: LogUsage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": cost.cost or 0.0,
        "time_per_token": latency / completion if completion else 0.0,
        "time_to_first_token": ms(ex.t_start, ex.t_first_token) if proxied(ex) else 0,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": completion_details,
    }
    return block, cost


def payload(ex: Exchange) -> JSON:
    """The raw client body and the body sent back, as strings (double-encoded, like Kong)."""
    parts: JSON = {}
    if ex.request_body is not None:
        parts["request"] = scrub_secrets(ex.request_body.decode("utf-8", errors="replace"))
    if ex.response_body is not None:
        parts["response"] = scrub_secrets(ex.response_body)
    return parts


def ai_proxy(ex: Exchange, ctx: RecordContext) -> tuple[LogProxy, Price]:
    log_meta = meta(ex, ctx)
    log_usage, cost = usage(ex, ctx, log_meta["llm_latency"])
    proxy: LogProxy = {"meta": log_meta, "usage": log_usage}
    if ctx.log_payloads and (parts := payload(ex)):
        proxy["payload"] = parts
    return proxy, cost


def gateway_fields(ex: Exchange, cost: Price) -> GatewayFields:
    fields: GatewayFields = {
        "v": GATEWAY_FIELDS_VERSION,
        "session_id": header_value(ex, SESSION_HEADER),
        "agent_id": header_value(ex, AGENT_HEADER),
        "client": header_value(ex, "user-agent"),
        "client_model": ex.client_model,
        "stop_reason": ex.stop_reason,
        "tool_calls": ex.tool_calls,
        "error_type": ex.error_type,
        "error_message": scrub_secrets(ex.error_message) if ex.error_message else None,
        "cost_source": cost.source,
        "gateway_overhead_ms": gateway_overhead_ms(ex),
        "simulated": ex.provider == "simulated",
        "endpoint": ex.endpoint,
        "capture": ex.capture,
        "route_rule": ex.route_rule,
        # None: no usage at all (a refused request); "estimated": counted locally
        "usage_source": ex.usage_source if ex.usage is not None else None,
        "web_search_requests": ex.web_search_requests,
    }
    return fields


def build_record(ex: Exchange, ctx: RecordContext) -> LogRecord:
    """The Kong 3.13 record for one exchange (pure: the same inputs give the same record)."""
    proxy, cost = ai_proxy(ex, ctx)
    record: LogRecord = {
        "request": request_part(ex),
        "upstream_uri": upstream_uri(ex),
        "upstream_status": str(ex.upstream_status) if ex.upstream_status is not None else "",
        "response": {
            "status": ex.status,
            "headers": log_headers(ex.response_headers.items()),
            "size": ex.response_size,
        },
        "latencies": latencies(ex),
        "route": route_entity(ctx),
        "service": service_entity(ctx),
        "client_ip": ex.client_ip,
        "started_at": int(ex.started_at * 1000),
        "source": ex.source if proxied(ex) else "kong",
        "workspace": ctx.workspace,
        "workspace_name": "default",
        "ai": {"proxy": proxy},
        "claude_gw": gateway_fields(ex, cost),
    }
    if proxied(ex):
        record["tries"] = tries(ex)
    if ex.consumer is not None:  # Kong: only when an auth plugin identified a consumer
        record["consumer"] = ex.consumer
    if ex.authenticated_entity is not None:
        record["authenticated_entity"] = ex.authenticated_entity
    return record
