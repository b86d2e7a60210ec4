"""The one module that sends requests upstream, through an injected `httpx.AsyncClient`.

Every transport failure becomes a `GatewayError` naming the upstream (`raise ... from exc`), and
every non-2xx answer becomes the error the client should see (`translate.errors`). The key is
sent as `Authorization: Bearer <key>` (or, with `auth_header`, as that header's raw value, e.g.
Azure's `api-key` or Anthropic's `x-api-key`) and never appears in an error message.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import ssl
import urllib.request
import zlib
from base64 import b64encode
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import aiohttp
import httpx
import orjson
from yarl import URL

from claude_gw.apis import CHAT, UpstreamApi
from claude_gw.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout
from claude_gw.logs.mask import Masker, base64_forms
from claude_gw.logs.redact import SECRET_HEADERS

SIMULATED_BASE_URL = "http://simulated.invalid/v1"
# The limits on an answer's size after decompression, and on how many times a compressed answer
# may expand (the values of config's DEFAULT_MAX_ANSWER and DEFAULT_MAX_DECOMPRESSION_RATIO).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_DECOMPRESSION_RATIO = 200.0
RATIO_FLOOR = 1024 * 1024  # the ratio is checked once this much is decoded (small answers vary)
INFLATE_STEP = 256 * 1024  # bytes decompressed per step: a bomb stops within one step
ACCEPTED_ENCODINGS = "gzip, deflate"  # what the gateway asks for, and decodes itself
Body = Mapping[str, Any] | bytes  # a request body, or its JSON already encoded (`encode_body`)


class UpstreamResponse(Protocol):
    """What `Upstream.stream` yields: an `httpx.Response`, or aiohttp's answer in its shape."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Upstream:
    """One endpoint of an upstream API (`apis`): the API's path under `base_url`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | None,
        api: UpstreamApi = CHAT,
        provider: str | None = None,
        auth_header: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_decompression_ratio: float = MAX_DECOMPRESSION_RATIO,
        call_timeout: float | None = None,
    ) -> None:
        """The key goes in `auth_header` (default: the API's), `extra_headers` over the API's
        own (`anthropic-version`); `provider` (default: the API's) names the upstream in
        messages and the log. Non-2xx answers become the API's errors (`api.error`).

        Answers are read raw and decoded here (`AnswerDecoder`), within `max_answer_bytes`
        after decompression and `max_decompression_ratio`; beyond, an `UpstreamError` (502).
        `call_timeout` bounds a whole call, connecting and reading the answer (the replay
        engine's per-try limit); the client's connect and read timeouts apply in any case.

        `transport`, when given, must be the one `client` sends through: requests then go
        to it straight, past the client's redirect, auth and cookie layers (an upstream call
        uses none of them), which cost about a quarter of the gateway's CPU per request. The
        client's timeouts still apply; give no transport when the client must apply proxies.
        An `AiohttpTransport` is called without httpx's request and response objects at all
        (what each saves: `bench/README.md`).
        """
        self.client = client
        self.api = api
        self.base_url, credentials = split_userinfo(base_url.rstrip("/"))
        self.provider = provider or api.provider
        self._api_key = api_key
        self._query = dict(query or {})
        extra = {**api.headers, **(extra_headers or {})}
        headers = request_headers(api_key, auth_header or api.auth_header, extra)
        if credentials and "authorization" not in headers:
            headers["authorization"] = basic_auth(*credentials)
        self._headers = headers
        self.masker = Masker(upstream_secrets(api_key, headers, self._query, credentials))
        self._transport = transport
        self._timeout = client.timeout.as_dict()
        self._url = httpx.URL(self.endpoint_url, params=self._query or None)  # parsed once
        self._aiohttp = transport if isinstance(transport, AiohttpTransport) else None
        self._aiohttp_url = URL(str(self._url), encoded=True)
        self.call_timeout = call_timeout
        self._aiohttp_timeout = aiohttp_timeout(self._timeout, total=call_timeout)
        self._headers.setdefault("accept-encoding", ACCEPTED_ENCODINGS)
        self.max_answer_bytes = max_answer_bytes
        self.max_decompression_ratio = max_decompression_ratio
        # where this upstream's web searches go when it cannot run them (`--search-upstream`)
        self.search: Upstream | None = None

    def with_api(self, api: UpstreamApi) -> Upstream:
        """This upstream (client, key, headers, limits) speaking another API of the same base
        URL, e.g. `/responses` next to `/chat/completions`."""
        other = copy.copy(self)
        other.api = api
        other._url = httpx.URL(other.endpoint_url, params=self._query or None)
        other._aiohttp_url = URL(str(other._url), encoded=True)
        return other

    @property
    def label(self) -> str:
        """How messages name this upstream: `openai at https://api.openai.com/v1`."""
        return f"{self.provider} at {self.base_url}"

    @property
    def path(self) -> str:
        """The endpoint's path below the base URL: the API's (`/chat/completions`)."""
        return self.api.path

    @property
    def endpoint_url(self) -> str:
        return f"{self.base_url}{self.path}"

    @property
    def endpoint_uri(self) -> str:
        """Path (and query) of the endpoint, as Kong logs it in `upstream_uri`."""
        path = urlsplit(self.endpoint_url).path
        return f"{path}?{urlencode(self._query)}" if self._query else path

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.base_url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default

    async def complete(
        self, body: Body, headers: Mapping[str, str] | None = None
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """POST a non-streaming request; the parsed completion and the response headers."""
        if self.call_timeout is None or self._aiohttp is not None:  # aiohttp applies it
            return await self._complete(body, headers)
        try:
            async with asyncio.timeout(self.call_timeout):
                return await self._complete(body, headers)
        except TimeoutError:
            raise self._transport_error(httpx.ReadTimeout("call timeout")) from None

    async def _complete(
        self, body: Body, headers: Mapping[str, str] | None
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        async with self._send(body, headers) as response:
            raw = await self._read(response)
        try:
            return parse_answer(raw, self.label), response.headers
        except GatewayError as error:
            raise self._scrubbed(error) from None

    @asynccontextmanager
    async def stream(
        self, body: Body, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[UpstreamResponse]:
        """POST a streaming request; yields the open 2xx response, closed on exit (which
        cancels the upstream request when the caller leaves early)."""
        sending = self._send(body, headers)
        del body
        async with sending as response:
            yield response

    def iter_bytes(self, response: UpstreamResponse) -> AsyncIterator[bytes]:
        """The decoded body of a streaming response, with transport errors mapped; an
        `UpstreamError` once it breaks the answer limits."""
        raw = _Chunks(raw_body(response), (httpx.HTTPError,), self._transport_error)
        return _Decoded(raw, self._decoder(response))

    def _decoder(self, response: UpstreamResponse) -> AnswerDecoder:
        already_read = isinstance(response, httpx.Response) and response.is_stream_consumed
        return AnswerDecoder(
            None if already_read else response.headers.get("content-encoding"),
            label=self.label,
            max_bytes=self.max_answer_bytes,
            max_ratio=self.max_decompression_ratio,
        )

    async def check(self) -> None:
        """Startup probe: raise `UpstreamError` if the upstream cannot be reached or rejects
        the key. Any other answer (even a 404 from a server without /models) is fine."""
        try:
            response = await self.client.get(
                f"{self.base_url}/models", headers=self._headers, params=self._query or None
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code in (401, 403):
            raise UpstreamError(
                f"upstream {self.label} rejected the API key ({response.status_code})"
            )

    @asynccontextmanager
    async def _send(
        self, body: Body, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[UpstreamResponse]:
        content = body if isinstance(body, bytes) else encode_body(body)
        del body  # a stream can last minutes: the request's objects need not
        # Per-request headers win: the caller passes only what may replace the gateway's own
        # (Anthropic's version/beta headers, an auth header with allow_override).
        merged = {**self._headers, **(headers or {})}
        response: UpstreamResponse
        try:
            if self._aiohttp is not None:
                response = await self._aiohttp.post(
                    self._aiohttp_url, merged, content, self._aiohttp_timeout
                )
            elif self._transport is not None:
                request = httpx.Request(
                    "POST",
                    self._url,
                    headers=merged,
                    content=content,
                    extensions={"timeout": self._timeout},
                )
                response = await self._transport.handle_async_request(request)
            else:
                request = self.client.build_request(
                    "POST",
                    self.endpoint_url,
                    content=content,
                    headers=merged,
                    params=self._query or None,
                )
                response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        try:
            if response.status_code >= 300:
                raw = await self._read(response)
                error = self.api.error(
                    response.status_code, raw, response.headers, upstream=self.label
                )
                error.upstream_status = response.status_code
                raise self._scrubbed(error)
            yield response
        finally:
            await response.aclose()

    async def _read(self, response: UpstreamResponse) -> bytes:
        """The whole decoded body, within the answer limits (refused unread when its
        content-length is over them already)."""
        decoder = self._decoder(response)
        declared = response.headers.get("content-length", "")
        whole = False
        if declared.isascii() and declared.isdigit():
            decoder.check_declared(int(declared))
            whole = decoder.identity
        parts = []
        try:
            if whole and isinstance(response, AiohttpResponse):
                # within the cap, and aiohttp reads no more than the length: read it at once
                return await response.read()
            async for raw in raw_body(response):
                parts.append(decoder.feed(raw))
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        parts.append(decoder.flush())
        return b"".join(parts)

    def _transport_error(self, exc: httpx.HTTPError) -> GatewayError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            if isinstance(exc, httpx.ConnectTimeout):
                text = f"timed out connecting to upstream {self.label}"
            elif self.call_timeout is not None:  # the only limit on a replay's call
                text = f"no answer from upstream {self.label} in {self.call_timeout:g}s"
            else:
                text = f"timed out waiting for upstream {self.label}"
            return self._scrubbed(UpstreamTimeout(text))
        if isinstance(exc, httpx.ConnectError):
            return self._scrubbed(UpstreamError(f"cannot reach upstream {self.label}: {reason}"))
        return self._scrubbed(
            UpstreamError(f"connection to upstream {self.label} failed: {reason}")
        )

    def _scrubbed(self, error: GatewayError) -> GatewayError:
        return masked_error(error, self.masker)


def remote_upstream(
    api: UpstreamApi,
    base_url: str,
    api_key: str | None,
    *,
    timeout: httpx.Timeout | None = None,
    pool: Pool | None = None,
    **options: Any,
) -> Upstream:
    """The upstream at `base_url` speaking `api`, on connections of its own (`timeout`: the
    connect and read timeouts) or of `pool`, shared by several upstreams as the replay
    engine's targets share one. `options`: those of `Upstream`."""
    client, transport = (pool or Pool(timeout)).for_url(base_url)
    return Upstream(
        client, base_url=base_url, api_key=api_key, api=api, transport=transport, **options
    )


class Pool:
    """Connections for upstream calls. Requests go through aiohttp's connection pool
    (`AiohttpTransport`: 6x less CPU per request than httpcore's) under httpx's interface,
    with no cap on connections (a cap only queues requests: tests/reliability/test_load.py);
    requests to a URL that a proxy from the environment applies to (HTTP(S)_PROXY, ALL_PROXY,
    minus NO_PROXY) go through an httpx client of httpx's own, which routes them through the
    proxy (httpx ignores the environment for a client given a transport). Each client is
    made on first use."""

    def __init__(self, timeout: httpx.Timeout | None = None) -> None:
        self.timeout = timeout
        self._transport: AiohttpTransport | None = None
        self._direct: httpx.AsyncClient | None = None
        self._proxied: httpx.AsyncClient | None = None

    def for_url(self, url: str) -> tuple[httpx.AsyncClient, AiohttpTransport | None]:
        """The client for `url`, and the transport to send through straight (None: send
        through the client, to a proxy)."""
        if env_proxy_for(url):
            if self._proxied is None:
                self._proxied = httpx.AsyncClient(timeout=self.timeout)  # proxies from the env
            return self._proxied, None
        if self._direct is None:
            self._transport = AiohttpTransport()
            self._direct = httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        return self._direct, self._transport

    async def aclose(self) -> None:
        for client in (self._direct, self._proxied):
            if client is not None:
                await client.aclose()


def env_proxy_for(url: str) -> bool:
    """Whether HTTP(S)_PROXY / ALL_PROXY (minus NO_PROXY) send requests to `url` via a proxy."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """(`url` without its `user:password@`, the decoded (user, password)); None when it has
    none. The credentials are sent as `Authorization: Basic` (what curl and browsers do with
    them) unless the key already takes that header; they are never shown: labels, logs and
    messages name the URL without them."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def basic_auth(user: str, password: str) -> str:
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")


# A secret this long or longer is also masked where it reads base64-encoded (its encoded forms
# are then at least 14 characters: nothing a text holds by chance).
BASE64_MIN = 12


def upstream_secrets(
    api_key: str | None,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    credentials: tuple[str, str] | None,
) -> list[str]:
    """What must never leave the gateway: the key, the value of every credential header sent
    (and its token without the scheme word), secret query values (`config.Secret`), and the
    URL's password (its user too, when long enough to be a key); the key and the password also
    as they read base64-encoded at any offset (`base64_forms`), when long enough that their
    encoded forms cannot be common words."""
    found: list[str] = [api_key or ""]
    if api_key and len(api_key) >= BASE64_MIN:
        found += base64_forms(api_key)
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            found += [value, value.partition(" ")[2]]
    found += [value for value in query.values() if type(value) is not str]
    if credentials:
        user, password = credentials
        found += [password, user if len(user) >= 16 else ""]
        if len(password) >= BASE64_MIN:
            found += base64_forms(password)
    return [secret for secret in found if secret]


def raw_body(response: UpstreamResponse) -> AsyncIterator[bytes]:
    """The body's chunks as they come; for an `httpx.Response` read already (one a mock
    transport built from content), its content, decoded by httpx (see `_decoder`)."""
    if isinstance(response, httpx.Response) and response.is_stream_consumed:
        return _once(response.content)
    return response.aiter_raw()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def request_headers(
    api_key: str | None, auth_header: str | None, extra_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """The headers of every upstream request: JSON, the extra ones, and the key, sent as
    `Authorization: Bearer <key>` or as the raw value of `auth_header` (e.g. `api-key`)."""
    headers = {"content-type": "application/json", **(extra_headers or {})}
    header = (auth_header or "authorization").lower()
    if api_key:
        headers[header] = f"Bearer {api_key}" if header == "authorization" else api_key
    return headers


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The JSON sent upstream; `InvalidRequest` for what cannot be written."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        # orjson writes at most 254 levels: a client body nested just under that grows past
        # it in translation (tools' input_schema gains wrapper levels). The client's fault.
        raise InvalidRequest(f"the request cannot be sent upstream: {exc}") from None


def parse_answer(raw: bytes, label: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; `UpstreamError` naming the upstream otherwise."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            f"upstream {label} answered 200 with a body that is not JSON: {raw[:200]!r}"
        ) from None
    if not isinstance(doc, dict):
        raise UpstreamError(f"upstream {label} answered 200 with JSON that is not an object")
    return doc


def masked_error(error: GatewayError, masker: Masker) -> GatewayError:
    """`error` with the upstream's secrets masked in its message and headers (an upstream may
    quote them back)."""
    message = masker.text(error.message)
    if message != error.message:
        error.message = message
        error.args = (message,)
    for name, value in error.headers.items():
        error.headers[name] = masker.text(value)
    return error


class AnswerDecoder:
    """Decodes one answer body (identity, gzip or deflate), fed chunk by chunk as it arrives,
    and keeps it within the limits: at most `max_bytes` decoded and, past RATIO_FLOOR decoded
    bytes, at most `max_ratio` decoded bytes per compressed byte consumed. Decompression runs
    in steps of INFLATE_STEP output bytes, so a gzip bomb costs one step past a limit, never
    its whole expansion. `UpstreamError` (502) naming the limit and its option otherwise."""

    def __init__(
        self, encoding: str | None, *, label: str, max_bytes: int, max_ratio: float
    ) -> None:
        self.label = label
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.decoded = 0
        self.received = 0
        name = (encoding or "identity").strip().lower()
        if name not in ("identity", "gzip", "x-gzip", "deflate"):
            raise UpstreamError(
                f"upstream {label} answered with content-encoding {name[:40]!r}, which "
                f"claude_gw does not decode (it asks for {ACCEPTED_ENCODINGS})"
            )
        self._gzip = name in ("gzip", "x-gzip")
        self._inflate: Any = None  # a zlib decompressobj, made on the first compressed byte
        self._identity = name == "identity"

    @property
    def identity(self) -> bool:
        """Whether the answer is sent as it is (no content-encoding)."""
        return self._identity

    def check_declared(self, size: int) -> None:
        if self._identity and size > self.max_bytes:
            raise self._too_large(size)

    def feed(self, data: bytes) -> bytes:
        self.received += len(data)
        if self._identity:
            self.decoded += len(data)
            if self.decoded > self.max_bytes:
                raise self._too_large(self.decoded, at_least=True)
            return data
        if self._inflate is None:
            if not data:
                return b""
            # deflate is meant to be zlib-wrapped, but some servers send it raw
            zlib_wrapped = (data[0] & 0x0F) == 8
            wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
            self._inflate = zlib.decompressobj(wbits if self._gzip or zlib_wrapped else -15)
        return self._inflate_all(data)

    def _inflate_all(self, data: bytes) -> bytes:
        parts = []
        pending = data
        while True:
            try:
                out = self._inflate.decompress(pending, INFLATE_STEP)
            except zlib.error as exc:
                raise UpstreamError(
                    f"upstream {self.label} sent a compressed answer that cannot be decoded: {exc}"
                ) from None
            pending = self._inflate.unconsumed_tail
            self._count(len(out), consumed=self.received - len(pending))
            parts.append(out)
            if not pending and len(out) < INFLATE_STEP:
                return b"".join(parts)

    def flush(self) -> bytes:
        if self._inflate is None:
            return b""
        out: bytes = self._inflate.flush()
        self._count(len(out), consumed=self.received)
        return out

    def _count(self, size: int, *, consumed: int) -> None:
        self.decoded += size
        if self.decoded > self.max_bytes:
            raise self._too_large(self.decoded, at_least=True)
        if self.decoded > RATIO_FLOOR and self.decoded > self.max_ratio * max(consumed, 1):
            raise UpstreamError(
                f"upstream {self.label} sent a compressed answer that expands over "
                f"{self.max_ratio:g} times ({self.decoded} bytes from {consumed}), over this "
                "gateway's limit (claude-gw serve --max-decompression-ratio)"
            )

    def _too_large(self, size: int, *, at_least: bool = False) -> UpstreamError:
        amount = f"{'over ' if at_least else ''}{size} bytes"
        return UpstreamError(
            f"upstream {self.label} answered {amount}, over this gateway's limit of "
            f"{self.max_bytes} bytes (claude-gw serve --max-answer)"
        )


class _Decoded:
    """`source` (raw body chunks) decoded by `decoder`; empty decoded chunks are skipped."""

    __slots__ = ("_decoder", "_ended", "_source")

    def __init__(self, source: _Chunks, decoder: AnswerDecoder) -> None:
        self._source = source
        self._decoder = decoder
        self._ended = False

    def __aiter__(self) -> _Decoded:
        return self

    async def __anext__(self) -> bytes:
        while not self._ended:
            try:
                data = await self._source.__anext__()
            except StopAsyncIteration:
                self._ended = True
                if tail := self._decoder.flush():
                    return tail
                break
            if data := self._decoder.feed(data):
                return data
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await self._source.aclose()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through an aiohttp connection pool.

    `httpx.AsyncClient(transport=AiohttpTransport())` keeps httpx's interface (timeouts,
    proxies from the environment, content decoding, errors as `httpx.HTTPError`) at a fraction
    of httpcore's CPU cost: httpcore's pool scans every connection, polling each socket, on every
    request (encode/httpcore#1035; the figures: `bench/README.md`). No limit on
    connections; idle ones are closed after 5 s, as httpx does. The session is made on first
    use, inside the event loop that serves (it is bound to that loop).

    Not the `httpx-aiohttp` package's transport: its error table (0.2.0) turns every
    `aiohttp.ClientConnectionError`, a server that drops the connection mid-answer included,
    into `httpx.ConnectTimeout`, and the gateway must tell a reset (502) from a timeout (504).
    """

    def __init__(self, *, keepalive_expiry: float = 5.0) -> None:
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,
                keepalive_timeout=self._keepalive_expiry,
                ssl=ssl_context(),  # the CAs httpx trusts
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # proxies from the environment are httpx's mounts
                # bodies come raw: `Upstream` decodes them within its limits, and httpx
                # decodes what `handle_async_request` returns (content-encoding kept)
                auto_decompress=False,
            )
        return self._session

    async def post(
        self, url: URL, headers: Mapping[str, str], content: bytes, limits: aiohttp.ClientTimeout
    ) -> AiohttpResponse:
        """POST without httpx's objects; aiohttp's errors raised as httpx's (as below)."""
        with _mapped_errors():
            response = await self._open_session().request(
                "POST", url, headers=headers, data=content, allow_redirects=False, timeout=limits
            )
        return AiohttpResponse(response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open_session()
        timeout = aiohttp_timeout(request.extensions.get("timeout", {}))
        content = await request.aread()
        with _mapped_errors():
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=content or None,
                allow_redirects=False,
                timeout=timeout,
            )
        reason = (response.reason or "").encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_AiohttpStream(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """httpx's TLS context (its CA set), made once: loading the CAs takes 0.1 s."""
    return httpx.create_ssl_context()


def aiohttp_timeout(
    timeouts: Mapping[str, float | None], *, total: float | None = None
) -> aiohttp.ClientTimeout:
    """httpx's timeouts (`Timeout.as_dict()`) as aiohttp's: connect, then each read; and
    `total` for the whole call."""
    return aiohttp.ClientTimeout(
        total=total, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
    )


def _release(response: aiohttp.ClientResponse) -> None:
    # A body read to the end gives its connection back to the pool; one left half-read (the
    # client went away mid-stream) closes it, which cancels the upstream request.
    if response.content.at_eof():
        response.release()
    else:
        response.close()


class AiohttpResponse:
    """An aiohttp answer with the part of `httpx.Response`'s interface `Upstream` uses."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers: Mapping[str, str] = response.headers

    def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it comes (the session does not decompress), aiohttp's errors mapped."""
        return _Chunks(self._response.content.iter_any(), AIOHTTP_ERRORS, _as_httpx_error)

    async def read(self) -> bytes:
        """The whole body at once (for one whose content-length is known to be within the
        limits), aiohttp's errors mapped."""
        with _mapped_errors():
            return await self._response.read()

    async def aclose(self) -> None:
        _release(self._response)


class _AiohttpStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        _release(self._response)


class _Chunks:
    """An async iterator over `source` that raises `mapped(error)` instead of each error of the
    types in `catch`. A class, not an async generator: a generator left unfinished (the stream
    ended at `[DONE]`, or the client left) is closed by the event loop's finalizer hook, which
    costs a task and a wake-up of the loop per stream; this one has nothing to finalize."""

    __slots__ = ("_catch", "_mapped", "_source")

    def __init__(
        self,
        source: AsyncIterator[bytes],
        catch: tuple[type[BaseException], ...],
        mapped: Callable[[Any], Exception],
    ) -> None:
        self._source = source
        self._catch = catch
        self._mapped = mapped

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._source.__anext__()
        except self._catch as error:
            raise self._mapped(error) from error

    async def aclose(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


AIOHTTP_ERRORS = (TimeoutError, aiohttp.ClientError)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn aiohttp's exceptions into the httpx ones `Upstream` maps (`raise ... from`)."""
    try:
        yield
    except AIOHTTP_ERRORS as exc:
        raise _as_httpx_error(exc) from exc


def _as_httpx_error(exc: BaseException) -> httpx.TransportError:
    return _httpx_error(exc)(str(exc) or type(exc).__name__)


def _httpx_error(exc: BaseException) -> type[httpx.TransportError]:
    table: list[tuple[type[BaseException], type[httpx.TransportError]]] = [
        (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
        (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
        (TimeoutError, httpx.ReadTimeout),
        (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
        (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    ]
    for source, target in table:
        if isinstance(exc, source):
            return target
    return httpx.ReadError
