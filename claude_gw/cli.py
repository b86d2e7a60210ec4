"""The `claude-gw` command: the only place that prints, exits, reads os.environ, builds clients."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from claude_gw import __version__
from claude_gw.config import (
    DEFAULT_MODEL,
    ENV,
    SIMULATED,
    ConfigError,
    Settings,
    normalize_upstream,
    parse_model_rule,
    parse_size,
)
from claude_gw.errors import GatewayError
from claude_gw.logs.cost import find_model
from claude_gw.logs.writer import LogWriter
from claude_gw.server.app import create_app
from claude_gw.tokens import preload
from claude_gw.upstream import SIMULATED_BASE_URL, Upstream

# Seconds uvicorn waits for in-flight requests on SIGTERM/SIGINT before cancelling them.
GRACEFUL_SHUTDOWN_S = 30

SERVE_EPILOG = """\
Every option can also be set with the environment variable shown in [brackets]; an option on
the command line wins. The upstream key is never an option (a process list would show it): it
is read from OPENAI_API_KEY, or from the file named by --api-key-file.

Point the Claude CLI at the gateway (any path prefix works, as with Kong's /anything route):
  ANTHROPIC_BASE_URL=http://127.0.0.1:8000/anything ANTHROPIC_API_KEY=x \\
  ANTHROPIC_MODEL=gpt-5-mini CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude

Try it with no key and no network: claude-gw serve --upstream simulated
"""


class CliError(Exception):
    """A one-line message for the user; the process exits with status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-gw",
        description="Run the Claude Code CLI against OpenAI or any OpenAI-compatible server, "
        "and log every request in Kong's claude.json shape.",
    )
    parser.add_argument("--version", action="version", version=f"claude-gw {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_serve_parser(commands)
    return parser


def env_help(text: str, key: str) -> str:
    return f"{text} [{ENV[key]}]"


def add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="start the gateway (Anthropic Messages API in, OpenAI Chat Completions out)",
        description="Start the gateway: Anthropic Messages API in, OpenAI Chat Completions out, "
        "one Kong-shaped JSON line per request in the log.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = serve.add_argument
    add("--host", help=env_help("address to listen on (default 127.0.0.1)", "host"))
    add(
        "--port",
        type=int,
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
        type=float,
        metavar="S",
        help=env_help("seconds to connect to the upstream (default 10)", "connect_timeout"),
    )
    add(
        "--read-timeout",
        type=float,
        metavar="S",
        help=env_help(
            "seconds to wait for upstream data before giving up (default 600)", "read_timeout"
        ),
    )
    add(
        "--ping-interval",
        type=float,
        metavar="S",
        help=env_help(
            "send a stream ping after this many silent seconds (default 5)", "ping_interval"
        ),
    )
    add("--no-check", action="store_true", help="do not probe the upstream at startup")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    if args.api_key_file:
        settings = settings.with_options(
            api_key=Settings.from_env({**environ, ENV["api_key_file"]: args.api_key_file}).api_key
        )
    rules = tuple(parse_model_rule(r, "--map") for r in args.model_map) if args.model_map else None
    return settings.with_options(
        host=args.host,
        port=args.port,
        upstream_url=normalize_upstream(args.upstream) if args.upstream else None,
        model=args.model,
        model_map=rules,
        log_path=Path(args.log) if args.log else None,
        log_payloads=args.log_payloads,
        max_body_bytes=parse_size(args.max_body, "--max-body"),
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        ping_interval=args.ping_interval,
    )


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_key(settings: Settings) -> None:
    """A key is required for remote upstreams; local servers (vLLM, Ollama...) often need none."""
    if settings.simulated or settings.api_key or is_loopback(settings.upstream_url):
        return
    raise CliError(
        f"no API key for upstream {settings.upstream_url}: set OPENAI_API_KEY or pass "
        "--api-key-file FILE (or try it without a key: --upstream simulated)"
    )


def build_upstream(settings: Settings) -> Upstream:
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    if settings.simulated:
        from claude_gw.simulated import Simulator, simulated_transport

        client = httpx.AsyncClient(transport=simulated_transport(Simulator()), timeout=timeout)
        return Upstream(client, base_url=SIMULATED_BASE_URL, api_key=None, provider=SIMULATED)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    client = httpx.AsyncClient(timeout=timeout, limits=limits)
    return Upstream(client, base_url=settings.upstream_url, api_key=settings.api_key)


def bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise CliError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def startup_lines(settings: Settings, upstream: Upstream, sock: socket.socket) -> list[str]:
    host, port = sock.getsockname()[:2]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    if settings.simulated:
        where = "SIMULATED backend (built in; no network, no key; answers and timings are made up)"
    else:
        where = upstream.label
    rules = ", ".join(f"{r.pattern} -> {r.model}" for r in settings.model_map)
    models = f"model {settings.model}" + (f"; {rules}" if rules else "")
    payloads = "with payloads" if settings.log_payloads else "no payloads"
    return [
        f"claude-gw {__version__} listening on {url}",
        f"  upstream: {where}; {models}",
        f"  log:      {settings.log_path.resolve()} ({payloads})",
        f"  use:      ANTHROPIC_BASE_URL={url}/anything ANTHROPIC_API_KEY=x "
        f"ANTHROPIC_MODEL={settings.model} CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude",
    ]


def warm_up() -> None:
    preload()
    find_model(DEFAULT_MODEL, "openai")


async def check_upstream(upstream: Upstream) -> None:
    try:
        await upstream.check()
    except GatewayError as error:
        await upstream.client.aclose()
        raise CliError(error.message) from None


async def serve(settings: Settings, *, check: bool) -> None:
    # Load the tokenizer and the price table now (about a second) rather than on the first
    # request, which would stall every stream in flight.
    await asyncio.to_thread(warm_up)
    upstream = build_upstream(settings)
    if check and not settings.simulated:
        await check_upstream(upstream)
    sock = bind(settings)
    writer = LogWriter(settings.log_path)
    writer.start()

    async def shutdown() -> None:
        await upstream.client.aclose()
        await asyncio.to_thread(writer.close)

    app = create_app(settings, upstream=upstream, log_writer=writer, on_shutdown=[shutdown])
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    print("\n".join(startup_lines(settings, upstream, sock)), file=sys.stderr, flush=True)
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        writer.close()
        sock.close()


def run_serve(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = settings_from(args, environ)
    require_key(settings)
    asyncio.run(serve(settings, check=not args.no_check))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return run_serve(args, os.environ)
    except (CliError, ConfigError) as exc:
        print(f"claude-gw: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
