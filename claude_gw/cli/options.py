"""Options shared by the commands that run or point at a gateway (serve, capture, env)."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claude_gw.cli import values
from claude_gw.config import (
    ENV,
    SERVER_PROFILES,
    SIMULATED_TIMINGS,
    UPSTREAM_APIS,
    Listen,
    Settings,
    normalize_upstream,
    parse_count,
    parse_model_rule,
    parse_pair,
    parse_ratio,
    parse_seconds,
    parse_size,
    read_api_key,
    read_client_auth,
)
from claude_gw.routing import DEFAULT_LONG_CONTEXT_TOKENS, DEFAULT_MODEL


class CliError(Exception):
    """A one-line message for the user; the process exits with status 2."""


def env_help(text: str, key: str) -> str:
    return f"{text} [{ENV[key]}]"


def add_gateway_options(parser: argparse.ArgumentParser) -> None:
    add_route_options(parser)
    add_backend_options(parser)
    add_limit_options(parser)


# (option, Listen or Settings field, ENV key, parser, metavar, help): what clients and upstreams
# may make the gateway hold
LIMIT_OPTIONS: tuple[tuple[str, str, str, Callable[[str, str], Any], str, str], ...] = (
    (
        "--header-timeout", "header_timeout", "header_timeout", parse_seconds, "S",
        "seconds for a request line and headers to arrive; 408 after (default 10)",
    ),
    (
        "--body-timeout", "body_timeout", "body_timeout", parse_seconds, "S",
        "seconds for a whole request body to arrive after its headers; 408 after (default 60)",
    ),
    (
        "--idle-timeout", "idle_timeout", "idle_timeout", parse_seconds, "S",
        "seconds a keep-alive connection may wait for its next request (default 5)",
    ),
    (
        "--max-connections", "max_connections", "max_connections", parse_count, "N",
        "client connections served at once; requests on more get 529 (default: half the "
        "open-file limit, ulimit -n, at most 10000)",
    ),
    (
        "--max-header", "max_header_bytes", "max_header", parse_size, "SIZE",
        "largest request line + headers, e.g. 32KiB; larger gets 431 (default 64KiB)",
    ),
    (
        "--max-inflight", "max_inflight_bytes", "max_inflight", parse_size, "SIZE",
        "request body bytes held by all requests in flight together; beyond, 529 with "
        "retry-after (default 256MiB)",
    ),
    (
        "--max-answer", "max_answer_bytes", "max_answer", parse_size, "SIZE",
        "largest upstream answer, streamed or not, after decompression; 502 beyond "
        "(default 64MiB)",
    ),
    (
        "--max-decompression-ratio", "max_decompression_ratio", "max_decompression_ratio",
        parse_ratio, "N",
        "how many times a compressed upstream answer may expand; 502 beyond (default 200)",
    ),
    (
        "--shutdown-grace", "shutdown_grace", "shutdown_grace", parse_seconds, "S",
        "seconds in-flight requests get on SIGTERM/SIGINT before they are ended (default 30)",
    ),
)  # fmt: skip


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits")
    for option, field, key, _, metavar, text in LIMIT_OPTIONS:
        group.add_argument(option, dest=field, metavar=metavar, help=env_help(text, key))


LISTEN_FIELDS = frozenset(field.name for field in dataclasses.fields(Listen))


def limits_from_args(args: argparse.Namespace, *, listen: bool) -> dict[str, Any]:
    """The limit options given on the command line, parsed (None: not given): the process's
    (`Listen` fields) with `listen`, else the route's."""
    return {
        field: parse(value, option) if (value := getattr(args, field, None)) is not None else None
        for option, field, _, parse, _, _ in LIMIT_OPTIONS
        if (field in LISTEN_FIELDS) == listen
    }


def add_route_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", help=env_help("address to listen on (default 127.0.0.1)", "host"))
    add(
        "--port",
        type=values.port,
        help=env_help("port to listen on; 0 picks a free one (default 8000)", "port"),
    )
    add(
        "--upstream",
        metavar="URL",
        help=env_help(
            "OpenAI-compatible base URL (default https://api.openai.com/v1, or OPENAI_BASE_URL), "
            "or 'simulated' for the built-in simulated backend",
            "upstream",
        ),
    )
    add(
        "--api-key-file",
        metavar="FILE",
        help=env_help("read the upstream key from FILE instead of OPENAI_API_KEY", "api_key_file"),
    )
    add(
        "--client-key-file",
        metavar="FILE",
        help=env_help(
            "accept only clients that send one of the keys in FILE (one per line, 16+ "
            "characters) as x-api-key or Authorization: Bearer; others get a 401",
            "client_key_file",
        ),
    )
    add(
        "--model",
        help=env_help(
            f"default upstream model (default {DEFAULT_MODEL}); Claude model "
            "names and requests without a model go to it",
            "model",
        ),
    )
    add(
        "--map",
        dest="model_map",
        action="append",
        metavar="PATTERN=MODEL",
        help=env_help(
            "send models matching the glob PATTERN to MODEL, e.g. 'claude-haiku-*=gpt-5-nano' for "
            "the CLI's subagents; repeatable, first match wins (variable: comma-separated)",
            "model_map",
        ),
    )
    add(
        "--log",
        metavar="PATH",
        help=env_help("log file, one JSON record per request (default ./claude.json)", "log"),
    )
    add(
        "--log-payloads",
        action="store_true",
        default=None,
        help=env_help("also log request and response bodies (ai.proxy.payload)", "log_payloads"),
    )
    add(
        "--max-body",
        metavar="SIZE",
        help=env_help(
            "largest request body accepted, e.g. 512KiB "
            "(default 32MiB); larger bodies get a 400 'prompt is too long' so the CLI compacts",
            "max_body",
        ),
    )
    add(
        "--connect-timeout",
        type=values.seconds,
        metavar="S",
        help=env_help("seconds to connect to the upstream (default 10)", "connect_timeout"),
    )
    add(
        "--read-timeout",
        type=values.seconds,
        metavar="S",
        help=env_help(
            "seconds to wait for upstream data before giving up (default 600)", "read_timeout"
        ),
    )
    add(
        "--ping-interval",
        type=values.seconds,
        metavar="S",
        help=env_help(
            "send a stream ping after this many silent seconds (default 5)", "ping_interval"
        ),
    )


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--upstream-api",
        choices=UPSTREAM_APIS,
        help=env_help(
            "what the upstream speaks: OpenAI chat completions (default), OpenAI's Responses "
            "API, or Anthropic Messages (passed through, logged the same way)",
            "upstream_api",
        ),
    )
    add(
        "--provider",
        metavar="NAME",
        help=env_help(
            "provider name for the log (default openai, anthropic or simulated)", "provider"
        ),
    )
    add(
        "--server-profile",
        choices=SERVER_PROFILES,
        help=env_help(
            "request dialect of a chat-completions upstream: OpenAI's own (max_completion_tokens) "
            'or a compatible server\'s (max_tokens, "" for text-less tool-call turns, no user); '
            "default openai for api.openai.com, Azure and --provider openai/azure, else compatible",
            "server_profile",
        ),
    )
    add(
        "--context-window",
        type=values.count,
        metavar="TOKENS",
        help=env_help(
            "the upstream model's context window: longer prompts (counted locally) get 400 "
            "'prompt is too long' before anything is sent (default: genai-prices' window for "
            "the model; set it for local servers, e.g. llama.cpp's --n_ctx)",
            "context_window",
        ),
    )
    add(
        "--simulated-timing",
        choices=tuple(SIMULATED_TIMINGS),
        help=env_help(
            "how long --upstream simulated takes to answer: fast (default; about a second), "
            "realistic (each model's own latency, time to first token and speed) or instant",
            "simulated_timing",
        ),
    )
    add(
        "--search-upstream",
        metavar="URL",
        help=env_help(
            "send web searches (requests whose only tools are web_search) to the Responses API "
            "at URL, e.g. https://api.openai.com/v1, when the upstream cannot search (a local "
            "chat server); key from --search-api-key-file, else OPENAI_API_KEY",
            "search_upstream",
        ),
    )
    add(
        "--search-model",
        metavar="MODEL",
        help=env_help("the model of --search-upstream (default gpt-5-mini)", "search_model"),
    )
    add(
        "--search-api-key-file",
        metavar="FILE",
        help=env_help("file holding the key of --search-upstream", "search_api_key_file"),
    )
    add(
        "--auth-header",
        metavar="NAME",
        help=env_help(
            "header that carries the upstream key (default Authorization: Bearer; x-api-key for "
            "Anthropic; api-key for Azure OpenAI)",
            "auth_header",
        ),
    )
    add(
        "--upstream-header",
        dest="upstream_headers",
        action="append",
        metavar="'NAME: VALUE'",
        help=env_help(
            "extra header on every upstream request; repeatable (variable: "
            "comma-separated). Not for secrets: a process list shows arguments",
            "upstream_headers",
        ),
    )
    add(
        "--upstream-query",
        dest="upstream_query",
        action="append",
        metavar="NAME=VALUE",
        help=env_help(
            "extra query parameter on every upstream request, e.g. Azure's "
            "api-version=2024-10-21; repeatable",
            "upstream_query",
        ),
    )
    add(
        "--subagent-model",
        metavar="MODEL",
        help=env_help(
            "send requests from Claude CLI subagents (and for claude-haiku-*) to MODEL",
            "subagent_model",
        ),
    )
    add(
        "--long-context-model",
        metavar="MODEL",
        help=env_help(
            "send requests over --long-context-tokens prompt tokens (counted locally) to MODEL",
            "long_context_model",
        ),
    )
    add(
        "--long-context-tokens",
        type=values.count,
        metavar="N",
        help=env_help(
            f"threshold for --long-context-model (default {DEFAULT_LONG_CONTEXT_TOKENS})",
            "long_context_tokens",
        ),
    )


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    if args.api_key_file:
        settings = settings.with_options(
            api_key=Settings.from_env({**environ, ENV["api_key_file"]: args.api_key_file}).api_key
        )
    rules = tuple(parse_model_rule(r, "--map") for r in args.model_map) if args.model_map else None
    settings = settings.with_routing(
        model=args.model,
        model_map=rules,
        subagent_model=args.subagent_model,
        long_context_model=args.long_context_model,
        long_context_tokens=args.long_context_tokens,
    ).with_options(
        client_auth=read_client_auth(args.client_key_file),
        upstream_url=normalize_upstream(args.upstream) if args.upstream else None,
        log_path=Path(args.log) if args.log else None,
        log_payloads=args.log_payloads,
        max_body_bytes=parse_size(args.max_body, "--max-body"),
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        ping_interval=args.ping_interval,
        upstream_api=args.upstream_api,
        provider_name=args.provider,
        server_profile=args.server_profile,
        context_window=args.context_window,
        simulated_timing=args.simulated_timing,
        search_upstream_url=(
            normalize_upstream(args.search_upstream, "--search-upstream")
            if args.search_upstream
            else None
        ),
        search_model=args.search_model,
        auth_header=args.auth_header,
        upstream_headers=pairs(args.upstream_headers, ":", "--upstream-header"),
        upstream_query=pairs(args.upstream_query, "=", "--upstream-query"),
        **limits_from_args(args, listen=False),
    )
    if not args.api_key_file and not environ.get(ENV["api_key_file"], "").strip():
        # the key variable of the API given on the command line (ANTHROPIC_API_KEY for an
        # Anthropic upstream), never another vendor's
        key = read_api_key(environ, None, settings.api.key_env)
        settings = dataclasses.replace(settings, api_key=key)
    if settings.search_upstream_url and (args.search_api_key_file or not settings.search_api_key):
        key_file = args.search_api_key_file or environ.get(ENV["search_api_key_file"])
        settings = settings.with_options(search_api_key=read_api_key(environ, key_file))
    return settings


def listen_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Listen:
    """The process's settings: the variables, then the options given."""
    return Listen.from_env(environ).with_options(
        host=args.host,
        port=args.port,
        allow_unauthenticated=getattr(args, "allow_unauthenticated", None),
        **limits_from_args(args, listen=True),
    )


def pairs(
    items: list[str] | None, separator: str, where: str
) -> tuple[tuple[str, str], ...] | None:
    if not items:
        return None
    return tuple(parse_pair(item, separator, where) for item in items)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for everything
    else, including the wildcard addresses and names that would need resolving."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_key(settings: Settings) -> None:
    """A key is required for remote upstreams; local servers (vLLM, Ollama...) often need none."""
    if settings.simulated or settings.api_key or is_loopback(settings.upstream_url):
        return
    raise CliError(
        f"no API key for upstream {settings.upstream_url}: set {settings.api.key_env} or pass "
        "--api-key-file FILE (or try it without a key: --upstream simulated)"
    )
