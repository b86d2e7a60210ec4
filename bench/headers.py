"""Request headers of the clients in the generated logs, and how each gateway logs them.

The Claude CLI header sets follow `../shared/fixtures/claude-cli/*.json` (2.1.331) and
`../shared/fixtures/kong/claude.json` (2.0.37); the OpenAI SDK set is what `openai-python` 1.x
sends. `CLIENT_HEADERS[client][kind]` is the raw list, in arrival order, with placeholders that
`logged_headers` leaves for the renderer to fill per request (session id, host, length).
"""

from __future__ import annotations

from typing import Any

from claude_gw.logs.record import log_headers

SESSION = "x-claude-code-session-id"
AGENT = "x-claude-code-agent-id"
BETAS_2_1_331 = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,"
    "advanced-tool-use-2025-11-20,effort-2025-11-24"
)
BETAS_COUNT = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "token-counting-2024-11-01"
)
BETAS_2_0_37 = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
)

Raw = list[tuple[str, str]]


def claude_cli(version: str, mode: str, package: str, node: str, kind: str) -> Raw:
    """The CLI's headers: `kind` is "main", "subagent" (adds the agent id) or "count"."""
    headers: Raw = [
        ("Accept", "application/json"),
        ("Content-Type", "application/json"),
        ("User-Agent", f"claude-cli/{version} (external, {mode})"),
        ("X-Claude-Code-Session-Id", "-"),
        ("X-Stainless-Arch", "x64"),
        ("X-Stainless-Lang", "js"),
        ("X-Stainless-OS", "Linux"),
        ("X-Stainless-Package-Version", package),
        ("X-Stainless-Retry-Count", "0"),
        ("X-Stainless-Runtime", "node"),
        ("X-Stainless-Runtime-Version", node),
    ]
    if kind != "count":
        headers.append(("X-Stainless-Timeout", "600"))
    headers += [
        ("anthropic-beta", BETAS_COUNT if kind == "count" else BETAS_2_1_331),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("anthropic-version", "2023-06-01"),
        ("x-api-key", "x"),
        ("x-app", "cli"),
    ]
    if kind == "subagent":
        headers.append(("x-claude-code-agent-id", "-"))
    return [*headers, ("Connection", "keep-alive"), ("Host", "-"), *TRAILER]


TRAILER: Raw = [("Accept-Encoding", "gzip, deflate, br, zstd"), ("Content-Length", "0")]


def claude_cli_2_0_37(kind: str) -> Raw:
    """The fixture's client: no session header yet; Kong logged `authorization` as REDACTED."""
    headers: Raw = [
        ("x-stainless-runtime", "node"),
        ("x-stainless-package-version", "0.60.0"),
        ("content-length", "0"),
        ("host", "-"),
        ("connection", "keep-alive"),
        ("x-stainless-timeout", "600"),
        ("accept-encoding", "gzip, deflate, br"),
        ("authorization", "Bearer kong-local-placeholder"),
        ("accept", "application/json"),
        ("x-stainless-arch", "arm64"),
        ("x-stainless-lang", "js"),
        ("x-app", "cli"),
        ("user-agent", "claude-cli/2.0.37 (external, cli)"),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("anthropic-version", "2023-06-01"),
        ("x-stainless-os", "MacOS"),
        ("x-stainless-runtime-version", "v22.19.0"),
        ("content-type", "application/json"),
        ("x-stainless-retry-count", "0"),
        ("anthropic-beta", BETAS_2_0_37),
        ("x-api-key", "kong-local-placeholder"),
    ]
    if kind != "count":
        headers.append(("x-stainless-helper-method", "stream"))
    return headers


def openai_python(kind: str) -> Raw:
    return [
        ("host", "-"),
        ("accept-encoding", "gzip, deflate"),
        ("connection", "keep-alive"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("user-agent", "OpenAI/Python 1.40.6"),
        ("x-stainless-lang", "python"),
        ("x-stainless-package-version", "1.40.6"),
        ("x-stainless-os", "Linux"),
        ("x-stainless-arch", "x64"),
        ("x-stainless-runtime", "CPython"),
        ("x-stainless-runtime-version", "3.11.9"),
        ("authorization", "Bearer sk-team-placeholder"),
        ("x-stainless-async", "false"),
        ("x-stainless-retry-count", "0"),
        ("content-length", "0"),
    ]


KINDS = ("main", "subagent", "count")
CLIENT_HEADERS: dict[str, dict[str, Raw]] = {
    "cli-2.1.331": {k: claude_cli("2.1.331", "cli", "0.128.0", "v26.12.1", k) for k in KINDS},
    "sdk-cli-2.1.331": {
        k: claude_cli("2.1.331", "sdk-cli", "0.128.0", "v26.12.1", k) for k in KINDS
    },
    "cli-2.1.197": {k: claude_cli("2.1.197", "cli", "0.94.0", "v24.11.1", k) for k in KINDS},
    "cli-2.0.37": {k: claude_cli_2_0_37(k) for k in KINDS},
    "openai-python": {k: openai_python(k) for k in KINDS},
}


def kong_logged(raw: Raw) -> dict[str, Any]:
    """Kong's serializer: lower-cased names, only `authorization` redacted."""
    return {
        name.lower(): "REDACTED" if name.lower() in ("authorization", "proxy-authorization") else v
        for name, v in raw
    }


def logged_headers(gateway: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(client, kind) -> the header map as `gateway` ("claude_gw" or "kong") logs it."""
    log = log_headers if gateway == "claude_gw" else kong_logged
    return {(c, k): log(raw) for c, kinds in CLIENT_HEADERS.items() for k, raw in kinds.items()}


def user_agent(client: str) -> str:
    return next(v for k, v in CLIENT_HEADERS[client]["main"] if k.lower() == "user-agent")
