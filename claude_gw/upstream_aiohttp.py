"""Non-streaming upstream calls through an injected `aiohttp.ClientSession` (the replay engine's).

The contract of `Upstream.complete` (`upstream.py`), on another HTTP client: the same URL,
headers and key handling, every transport failure a `GatewayError` naming the upstream, every
non-2xx answer the error the client should see (`translate.errors`), the key never in a
message. The replay engine keeps dozens of requests in flight at once, and there httpx 0.28's
connection pool costs about 1 ms of CPU per request (its idle-connection scan is quadratic,
encode/httpcore#1035) against about 0.15 ms for aiohttp's, on the same loopback upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from claude_gw.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout
from claude_gw.translate.errors import upstream_http_error


class AiohttpUpstream:
    """One endpoint (`base_url` + `path`) of an OpenAI- or Anthropic-style API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str | None,
        provider: str = "openai",
        path: str = "/chat/completions",
        auth_header: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """`timeout`: seconds for a whole call, connecting included (None: no limit)."""
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.base_url = base_url.rstrip("/")
        self.url = URL(f"{self.base_url}{path}")  # parsed once, not on every request
        self.label = f"{provider} at {self.base_url}"
        self._api_key = api_key
        self._headers = {"content-type": "application/json", **(extra_headers or {})}
        header = (auth_header or "authorization").lower()
        if api_key:
            self._headers[header] = f"Bearer {api_key}" if header == "authorization" else api_key

    async def complete(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """POST `body`; the parsed JSON object and the response headers (names lower-cased)."""
        try:
            content = orjson.dumps(body)
        except orjson.JSONEncodeError as exc:
            raise InvalidRequest(f"the request cannot be sent upstream: {exc}") from None
        try:
            async with self.session.post(
                self.url, data=content, headers=self._headers, timeout=self.timeout
            ) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._transport_error(exc) from exc
        if status >= 300:
            error = upstream_http_error(status, raw, headers, upstream=self.label)
            error.upstream_status = status
            raise self._scrubbed(error)
        return self._parsed(raw), {k.lower(): v for k, v in headers.items()}

    def _parsed(self, raw: bytes) -> dict[str, Any]:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"upstream {self.label} answered 200 with a body that is not JSON: {raw[:200]!r}"
            ) from None
        if not isinstance(doc, dict):
            raise UpstreamError(
                f"upstream {self.label} answered 200 with JSON that is not an object"
            )
        return doc

    def _transport_error(self, exc: BaseException) -> GatewayError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return self._scrubbed(UpstreamTimeout(f"timed out connecting to upstream {self.label}"))
        if isinstance(exc, TimeoutError):
            limit = f" in {self.timeout.total:g}s" if self.timeout.total else ""
            return self._scrubbed(UpstreamTimeout(f"no answer from upstream {self.label}{limit}"))
        if isinstance(exc, aiohttp.ClientConnectorError):
            return self._scrubbed(UpstreamError(f"cannot reach upstream {self.label}: {reason}"))
        return self._scrubbed(
            UpstreamError(f"connection to upstream {self.label} failed: {reason}")
        )

    def _scrubbed(self, error: GatewayError) -> GatewayError:
        if self._api_key and self._api_key in error.message:
            error.message = error.message.replace(self._api_key, "***")
            error.args = (error.message,)
        return error
