"""Shared material for the decK tests: the tutorial fixture, its three steps, a document builder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_gw.kong import AIProxyConfig, RouteConfig

KONG_FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "kong"
TUTORIAL_PATH = KONG_FIXTURES / "ai-proxy-anthropic-openai.kong.yaml"
KEY = "sk-test-kong-0123456789abcdef"
ENV = {"DECK_OPENAI_API_KEY": KEY}


def plugin_of(route: RouteConfig) -> AIProxyConfig:
    """The route's ai-proxy plugin, which the test's document gives it."""
    assert route.ai_proxy is not None, route
    return route.ai_proxy


def tutorial() -> tuple[str, str]:
    return ("kong.yaml", TUTORIAL_PATH.read_text(encoding="utf-8"))


def tutorial_steps() -> list[tuple[str, str]]:
    """The tutorial's three `deck gateway apply` documents, cut out of the merged fixture:
    the service and route, then the ai-proxy plugin, then the file-log plugin."""
    text = TUTORIAL_PATH.read_text(encoding="utf-8")
    version = '_format_version: "3.0"\n'
    services = text.index("services:\n")
    plugins = text.index("plugins:\n")
    file_log = text.index("  - name: file-log\n")
    assert version in text and services < plugins < file_log
    return [
        ("step1-service.yaml", version + text[services:plugins]),
        ("step2-ai-proxy.yaml", version + text[plugins:file_log]),
        ("step3-file-log.yaml", version + "plugins:\n" + text[file_log:]),
    ]


def ai_proxy(**config: Any) -> dict[str, Any]:
    """An ai-proxy plugin entry: route_type llm/v1/chat, provider openai, then `config`."""
    base: dict[str, Any] = {"route_type": "llm/v1/chat", "model": {"provider": "openai"}}
    return {"name": "ai-proxy", "config": base | config}


def document(**sections: Any) -> str:
    """A decK document as JSON text (JSON is YAML, and decK reads it)."""
    return json.dumps({"_format_version": "3.0", **sections}, indent=2)


def one_route(**plugins_and_more: Any) -> str:
    """One service `svc` (route `r` on /chat) with the given top-level sections."""
    service = {"name": "svc", "url": "http://upstream.invalid", "routes": [route("r", "/chat")]}
    return document(services=[service], **plugins_and_more)


def route(name: str, path: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "paths": [path], **more}
