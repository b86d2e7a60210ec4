"""Non-streaming upstream calls through an injected `aiohttp.ClientSession` (the replay engine's).

The contract of `Upstream.complete` (`upstream.py`), on aiohttp alone: the same URL, headers
and key handling, every transport failure a `GatewayError` naming the upstream, every non-2xx
answer the error the client should see (`translate.errors`), the key never in a message. The
gateway's `Upstream` wraps each call in httpx's `Request` and `Response` (its streaming code
reads them); the replay engine, which keeps dozens of whole calls in flight on one core and
needs neither, spends its CPU on the call itself (aiohttp against httpx: `bench/README.md`,
"Replay"; encode/httpcore#1035).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from claude_gw.errors import GatewayError, UpstreamError, UpstreamTimeout
from claude_gw.logs.mask import Masker
from claude_gw.translate.errors import upstream_http_error
from claude_gw.upstream import (
    MAX_ANSWER_BYTES,
    AnswerDecoder,
    basic_auth,
    encode_body,
    masked_error,
    parse_answer,
    request_headers,
    split_userinfo,
    upstream_secrets,
)


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
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        """`timeout`: seconds for a whole call, connecting included (None: no limit). An
        answer over `max_answer_bytes` (decoded: the session decompresses, in bounded steps)
        is an `UpstreamError`, and is not read further."""
        self.max_answer_bytes = max_answer_bytes
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.base_url, credentials = split_userinfo(base_url.rstrip("/"))
        self.url = URL(f"{self.base_url}{path}")  # parsed once, not on every request
        self.label = f"{provider} at {self.base_url}"
        self._api_key = api_key
        self._headers = request_headers(api_key, auth_header, extra_headers)
        if credentials and "authorization" not in self._headers:
            self._headers["authorization"] = basic_auth(*credentials)
        self.masker = Masker(upstream_secrets(api_key, self._headers, {}, credentials))

    async def complete(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """POST `body`; the parsed JSON object and the response headers (names lower-cased),
        the upstream's secrets masked in both (an upstream may quote them back, and what is
        returned goes to result files, caches and consoles)."""
        content = encode_body(body)
        try:
            async with self.session.post(
                self.url, data=content, headers=self._headers, timeout=self.timeout
            ) as resp:
                raw = await self._read(resp)
                status, headers = resp.status, resp.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._transport_error(exc) from exc
        if status >= 300:
            error = upstream_http_error(status, raw, headers, upstream=self.label)
            error.upstream_status = status
            raise self._scrubbed(error)
        try:
            answer = parse_answer(raw, self.label)
        except GatewayError as error:
            raise self._scrubbed(error) from None
        masker = self.masker
        if not masker:
            return answer, {k.lower(): v for k, v in headers.items()}
        return masker.value(answer), {k.lower(): masker.text(v) for k, v in headers.items()}

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        counter = AnswerDecoder(
            None, label=self.label, max_bytes=self.max_answer_bytes, max_ratio=float("inf")
        )
        return b"".join([counter.feed(chunk) async for chunk in resp.content.iter_any()])

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
        return masked_error(error, self.masker)
