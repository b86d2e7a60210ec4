"""Upstream (OpenAI-style) HTTP errors -> gateway errors that render as Anthropic errors.

The choices follow what the Claude CLI does with each answer (see the CLI notes, section 7):
- a context-length error becomes a 400 whose message starts `prompt is too long`, which makes
  the CLI compact the conversation instead of giving up;
- the upstream refusing the *gateway's* key is not the client's fault and retrying cannot fix
  it, so it becomes a 502 with `x-should-retry: false` (a 401 would make the CLI retry ten times
  and then blame the user's key);
- a 429 (and a 503) keeps its retry hint, in any spelling (`retry_hints`), as `retry-after`;
  except OpenAI's `insufficient_quota`, which no wait will cure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claude_gw.errors import (
    GatewayError,
    InvalidRequest,
    PromptTooLong,
    UpstreamError,
    UpstreamNotFound,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from claude_gw.translate.retry_hints import retry_headers

_NO_RETRY = {"x-should-retry": "false"}
_CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context window")


def parse_error_body(body: bytes) -> tuple[str, str | None, str | None]:
    """(message, type, code) from an OpenAI error envelope, or the raw text when it is not one."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        doc: Any = json.loads(text)
    except ValueError:
        return text[:500] or "(empty body)", None, None
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return text[:500], None, None
    message = str(error.get("message") or "(no message)")
    kind = error.get("type")
    code = error.get("code")
    return message, str(kind) if kind else None, str(code) if code else None


def is_context_length_error(message: str, code: str | None) -> bool:
    haystack = f"{code or ''} {message}".lower()
    return any(marker in haystack for marker in _CONTEXT_MARKERS)


def upstream_http_error(
    status: int, body: bytes, headers: Mapping[str, str], *, upstream: str
) -> GatewayError:
    """Map an upstream non-2xx answer to the error the client should get.

    `upstream` names the upstream in messages (e.g. `openai at https://api.openai.com/v1`).
    """
    message, kind, code = parse_error_body(body)
    detail = f"{message} ({code})" if code and code not in message else message
    said = f"upstream {upstream} answered {status}: {detail}"
    if is_context_length_error(message, code):
        return PromptTooLong(f"{detail} [upstream {upstream}: context_length_exceeded]")
    if status == 429:
        return _rate_limited(said, headers, code or kind)
    if status in (401, 403):
        text = f"upstream {upstream} rejected the gateway's API key ({status}): {detail}"
        return UpstreamError(text, status=502, headers=_NO_RETRY)
    if status == 404:
        return UpstreamNotFound(said, headers=_NO_RETRY)
    if status in (408, 504):
        return UpstreamTimeout(said)
    if status == 503:
        return UpstreamOverloaded(said, headers=retry_headers(headers))
    if status >= 500 or status < 400:
        # a 3xx: the gateway never follows redirects (the key would go along), and the client
        # cannot fix the gateway's upstream URL
        return UpstreamError(said, status=status if status in (500, 502) else 502)
    return InvalidRequest(said, status=status)


def _rate_limited(said: str, headers: Mapping[str, str], code: str | None) -> GatewayError:
    if code == "insufficient_quota":
        return UpstreamRateLimited(said, headers=_NO_RETRY)
    return UpstreamRateLimited(said, headers=retry_headers(headers))
