"""How `Upstream` reaches its transport: straight, or through an httpx client when an
environment proxy applies (claude_gw/upstream.py), for the gateway and replay alike."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from claude_gw.config import Secret, Settings
from claude_gw.replay.runner import replay
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import Target
from claude_gw.server.asgi import read_body
from claude_gw.server.runner import build_upstream
from claude_gw.upstream import AiohttpTransport, Upstream, env_proxy_for
from tests.sdk import text_of
from tests.server.test_gateway import start_gateway
from tests.servers import ServerThread

KEY = "sk-test-upstream-key-0123456789"


def recording_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A test double of an OpenAI endpoint: records each request, answers a tiny completion."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "chatcmpl-x", "object": "chat.completion"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("straight", [True, False], ids=["straight", "through_client"])
def test_both_ways_send_the_same_request(straight: bool) -> None:
    seen: list[httpx.Request] = []
    transport = recording_transport(seen)
    timeout = httpx.Timeout(30.0, connect=3.0)
    client = httpx.AsyncClient(transport=transport, timeout=timeout)
    upstream = Upstream(
        client,
        base_url="https://example.test/openai/deployments/d",
        api_key=KEY,
        auth_header="api-key",
        extra_headers={"x-extra": "1"},
        query={"api-version": "2025-04-01"},
        transport=transport if straight else None,
    )

    async def call() -> dict[str, object]:
        async with client:
            doc, _ = await upstream.complete({"model": "m"}, {"x-extra": "2"})
            return doc

    assert asyncio.run(call())["id"] == "chatcmpl-x"
    [request] = seen
    assert str(request.url) == (
        "https://example.test/openai/deployments/d/chat/completions?api-version=2025-04-01"
    )
    assert request.headers["api-key"] == KEY and request.headers["x-extra"] == "2"
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.content) == {"model": "m"}
    assert request.extensions["timeout"] == timeout.as_dict()


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        pytest.param({}, "https://api.openai.com/v1", False, id="no_proxy_set"),
        pytest.param(
            {"HTTPS_PROXY": "http://proxy:3128"}, "https://api.openai.com/v1", True, id="https"
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://proxy:3128"}, "http://127.0.0.1:8001/v1", False, id="http_url"
        ),
        pytest.param({"ALL_PROXY": "http://proxy:3128"}, "http://10.0.0.5/v1", True, id="all"),
        pytest.param(
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "api.openai.com"},
            "https://api.openai.com/v1",
            False,
            id="no_proxy_excludes",
        ),
    ],
)
def test_an_environment_proxy_is_detected_for_the_upstream_url(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], url: str, expected: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert env_proxy_for(url) is expected


def test_a_proxied_upstream_goes_through_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    settings = Settings(upstream_url="https://api.openai.com/v1", api_key=Secret(KEY))
    direct = build_upstream(settings)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    proxied = build_upstream(settings)
    assert isinstance(direct._transport, AiohttpTransport)
    assert proxied._transport is None
    asyncio.run(direct.client.aclose())
    asyncio.run(proxied.client.aclose())


def proxy_env(monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """HTTP_PROXY set to `proxy`, loopback excluded (the test's own clients reach the
    gateway straight), no other proxy variable."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


FAR = "http://upstream.invalid/v1"  # a host that does not exist: only a proxy can answer for it


def test_the_gateway_sends_through_an_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_openai: str, simulator: Any
) -> None:
    # the simulated backend on loopback, as a test double of a forward proxy that answers
    proxy_env(monkeypatch, fake_openai.removesuffix("/v1"))
    gateway = start_gateway(tmp_path, FAR)
    message = gateway.client().messages.create(
        model="gpt-5-mini",
        max_tokens=2000,
        messages=[{"role": "user", "content": "[sim:reply proxied] hi"}],
    )
    assert text_of(message) == "proxied"
    gateway.stop()
    assert simulator.recorder.headers[0]["host"] == "upstream.invalid"


def test_replay_sends_through_an_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, fake_openai: str, simulator: Any
) -> None:
    proxy_env(monkeypatch, fake_openai.removesuffix("/v1"))
    target = Target("far", kind="chat", base_url=FAR, model="gpt-4.1")
    request = ReplayRequest(
        source_id="s1",
        body={
            "model": "gpt-4.1",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "[sim:reply proxied] hi"}],
        },
    )
    (record,) = replay([request], [target], environ={"OPENAI_API_KEY": KEY})
    assert record["response"]["status"] == 200, record["claude_gw"]["error_message"]
    assert simulator.recorder.headers[0]["host"] == "upstream.invalid"


# --------------------------------------------------------------------------- compressed answers


def gzipping_openai(seen: list[dict[str, str]]) -> Any:
    """A test double of an OpenAI endpoint that gzips its answers, as servers may when the
    client offers it: a chat completion, or an SSE stream when the request says `stream`."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        body = await read_body(scope, receive, limit=1 << 20)
        if orjson.loads(body).get("stream"):
            chunk = {"id": "c", "object": "chat.completion.chunk", "choices": []}
            plain = b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for _ in range(3))
            plain += b"data: [DONE]\n\n"
            kind = b"text/event-stream"
        else:
            plain = orjson.dumps({"id": "chatcmpl-gz", "object": "chat.completion"})
            kind = b"application/json"
        data = gzip.compress(plain)
        headers = [(b"content-type", kind), (b"content-encoding", b"gzip")]
        headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    return app


@pytest.mark.parametrize("straight", [True, False], ids=["straight", "through_client"])
def test_a_gzipped_answer_is_decoded_once_either_way(straight: bool) -> None:
    seen: list[dict[str, str]] = []
    with ServerThread(gzipping_openai(seen)) as server:
        transport = AiohttpTransport()
        client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0))
        upstream = Upstream(
            client,
            base_url=f"{server.base_url}/v1",
            api_key=KEY,
            transport=transport if straight else None,
        )

        async def call() -> tuple[dict[str, Any], bytes]:
            async with client:
                doc, _ = await upstream.complete({"model": "m"})
                async with upstream.stream({"model": "m", "stream": True}) as response:
                    assert response.status_code == 200
                    streamed = b"".join([c async for c in upstream.iter_bytes(response)])
                await transport.aclose()
                return doc, streamed

        doc, streamed = asyncio.run(call())
    assert doc["id"] == "chatcmpl-gz"
    assert streamed.count(b"chat.completion.chunk") == 3 and streamed.endswith(b"[DONE]\n\n")
    assert all("gzip" in headers.get("accept-encoding", "") for headers in seen)
    assert all(headers["authorization"] == f"Bearer {KEY}" for headers in seen)
