"""`Exchange`: what the server measured about one request, the input of `build_record`.

The server fills it in as the request runs; `build_record` turns it into a Kong record. Times
are `time.monotonic()` readings except `started_at` (wall clock, epoch seconds); a reading is
None when that moment never came (e.g. no upstream call for a rejected request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Exchange:
    request_id: str  # 32 hex, also sent back as `request-id: req_<id>`
    started_at: float  # epoch seconds (wall clock) when the request arrived
    t_start: float  # monotonic, request arrival
    method: str = "POST"
    path: str = ""  # path only, e.g. /anything/v1/messages
    query_string: str = ""  # raw, without '?', e.g. beta=true
    host: str = ""  # Host header value, e.g. localhost:8000
    scheme: str = "http"
    headers: list[tuple[str, str]] = field(default_factory=list)  # as received, original case
    request_size: int = 0  # request line + headers + body, bytes
    client_ip: str = ""
    route_prefix: str = ""  # the path prefix before /v1/messages, e.g. /anything
    capture: str | None = None  # capture label, from a `/capture/<name>` path prefix
    # who the client key belongs to (Kong's `consumer` and `authenticated_entity` objects)
    consumer: dict[str, str] | None = None
    authenticated_entity: dict[str, str] | None = None

    # what was asked and what was used
    client_model: str | None = None  # `model` in the client's body
    request_model: str | None = None  # model sent upstream (after the model map)
    route_rule: str | None = None  # which routing rule chose it (Routing.choose)
    response_model: str | None = None  # `model` in the upstream's answer
    provider: str = "openai"  # provider_name; "simulated" for the built-in backend
    mode: Literal["stream", "oneshot"] = "oneshot"
    endpoint: Literal["messages", "count_tokens", "chat_completions", "other"] = "other"

    # upstream
    upstream_uri: str | None = None  # path + query sent upstream, e.g. /v1/chat/completions
    upstream_host: str | None = None
    upstream_port: int | None = None
    upstream_status: int | None = None
    t_upstream_sent: float | None = None
    t_upstream_headers: float | None = None
    t_first_token: float | None = None  # first content (text, thinking or tool) from upstream
    t_upstream_done: float | None = None

    # response to the client
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_size: int = 0  # headers + body bytes sent
    t_end: float | None = None
    source: Literal["upstream", "kong"] = "kong"  # Kong's wording: who produced the answer

    # outcome
    usage: dict[str, Any] | None = None  # OpenAI `usage` object as the upstream reported it
    # "estimated": `usage` was counted locally, the upstream reported none (usage_estimate)
    usage_source: Literal["upstream", "estimated"] = "upstream"
    stop_reason: str | None = None
    tool_calls: int = 0
    # searches the answer ran (web_search server tool); None: the request offered no search
    web_search_requests: int | None = None
    error_type: str | None = None  # Anthropic error.type, or "client_disconnected"
    error_message: str | None = None
    counted_input_tokens: int | None = None  # count_tokens answer

    # payloads (kept only when --log-payloads is on)
    request_body: bytes | None = None
    response_body: str | None = None
