"""How `Upstream` reaches its transport: straight, or through the httpx client when an
environment proxy applies (claude_gw/upstream.py, claude_gw/server/runner.py)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from claude_gw.config import Settings
from claude_gw.server.runner import build_upstream, env_proxy_for
from claude_gw.upstream import AiohttpTransport, Upstream

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
    settings = Settings(upstream_url="https://api.openai.com/v1", api_key=KEY)
    direct = build_upstream(settings)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    proxied = build_upstream(settings)
    assert isinstance(direct._transport, AiohttpTransport)
    assert proxied._transport is None
    asyncio.run(direct.client.aclose())
    asyncio.run(proxied.client.aclose())
