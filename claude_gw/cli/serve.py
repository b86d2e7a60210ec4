"""`claude-gw serve`: run the gateway in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Mapping
from typing import Any

from claude_gw import __version__, aio, listener
from claude_gw.cli.kong import add_kong_config_option, routes_from_kong
from claude_gw.cli.options import (
    CliError,
    add_gateway_options,
    env_help,
    is_loopback_host,
    listen_from,
    require_key,
    settings_from,
)
from claude_gw.config import Listen, Settings
from claude_gw.errors import GatewayError
from claude_gw.logs.mask import printable
from claude_gw.server import runner
from claude_gw.server.masking import console_text
from claude_gw.server.web_search import describe as describe_search
from claude_gw.translate.profiles import choose_profile
from claude_gw.upstream import Upstream

EPILOG = """\
Every option can also be set with the environment variable shown in [brackets]; an option on
the command line wins. The upstream key is never an option (a process list would show it): it
is read from OPENAI_API_KEY, or from the file named by --api-key-file.

Point the Claude CLI at the gateway (any path prefix works, as with Kong's /anything route):
  ANTHROPIC_BASE_URL=http://127.0.0.1:8000/anything ANTHROPIC_API_KEY=x \\
  ANTHROPIC_MODEL=gpt-5-mini CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude
(`claude-gw env` prints these lines.) Try it with no key and no network:
  claude-gw serve --upstream simulated
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="start the gateway (Anthropic Messages API in, OpenAI Chat Completions out)",
        description="Start the gateway: Anthropic Messages API in, OpenAI Chat Completions out, "
        "one Kong-shaped JSON line per request in the log.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_gateway_options(parser)
    add_kong_config_option(parser)
    parser.add_argument(
        "--no-check", action="store_true", help="do not probe the upstream at startup"
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=None,
        help=env_help(
            "listen on a non-loopback --host even though some route has no client keys "
            "(anyone who reaches the port spends the upstream key); a warning is printed",
            "allow_unauthenticated",
        ),
    )
    parser.set_defaults(run=run)


def open_routes(routes: list[Settings]) -> list[str]:
    """The names of the routes anyone who reaches the port may use (no client keys)."""
    return [settings.name for settings in routes if settings.client_auth is None]


def check_exposure(listen: Listen, routes: list[Settings]) -> str | None:
    """Refuse (CliError) to listen beyond loopback while a route takes requests without a
    client key, unless `allow_unauthenticated` says the operator wants that: then the warning
    to print is returned."""
    host = listen.host
    unprotected = open_routes(routes)
    if is_loopback_host(host) or not unprotected:
        return None
    which = "" if unprotected == [routes[0].name] else f" (routes {', '.join(unprotected)})"
    if not listen.allow_unauthenticated:
        raise CliError(
            f"refusing to listen on {host} without client keys{which}: anyone who can reach "
            "the port would spend the upstream key. Give --client-key-file FILE (or a Kong "
            "key-auth plugin), listen on 127.0.0.1, or pass --allow-unauthenticated"
        )
    return (
        f"claude-gw: warning: listening on {host} without client keys{which} "
        "(--allow-unauthenticated): anyone who can reach the port spends the upstream key"
    )


def client_line(settings: Settings) -> str:
    auth = settings.client_auth
    if auth is None:
        return "  clients:  anyone who reaches the port (no client keys)"
    count = len(auth.credentials)
    return f"  clients:  {count} key{'' if count == 1 else 's'} from {auth.source}"


def api_line(settings: Settings) -> str:
    """`chat, compatible profile`: the API, and for chat the server profile in force."""
    if not settings.api.profiled:
        return settings.api.name
    profile = choose_profile(settings.upstream_url, settings.provider_name, settings.server_profile)
    return f"chat, {profile.name} profile"


def route_lines(settings: Settings, upstream: Upstream) -> list[str]:
    if settings.simulated:
        where = (
            "SIMULATED backend (built in; no network, no key; answers and timings are made up; "
            f"{settings.simulated_timing} timing, --simulated-timing)"
        )
    else:
        where = f"{upstream.label} ({api_line(settings)})"
    rules = ", ".join(f"{r.pattern} -> {r.model}" for r in settings.routing.model_map)
    models = f"model {settings.routing.model}" + (f"; {rules}" if rules else "")
    payloads = "with payloads" if settings.log_payloads else "no payloads"
    return [
        f"  upstream: {where}; {models}",
        f"  log:      {settings.log_path.resolve()} ({payloads})",
        client_line(settings),
        f"  search:   {describe_search(settings)}",
    ]


def startup_lines(routes: list[Settings], upstreams: list[Upstream], url: str) -> list[str]:
    lines = [f"claude-gw {__version__} listening on {url}"]
    for settings, upstream in zip(routes, upstreams, strict=True):
        if len(routes) > 1 or settings.paths != ("/",):
            lines.append(f"  route {settings.name} on {', '.join(settings.paths)}:")
        lines += route_lines(settings, upstream)
    prefix = routes[0].paths[0].rstrip("/") if routes[0].paths != ("/",) else "/anything"
    key = "'<a client key>'" if routes[0].client_auth else "x"
    lines.append(
        f"  use:      ANTHROPIC_BASE_URL={url}{prefix} ANTHROPIC_API_KEY={key} "
        f"ANTHROPIC_MODEL={routes[0].routing.model} "
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude"
    )
    return lines


async def check_upstream(upstream: Upstream) -> None:
    try:
        await upstream.check()
    except GatewayError as error:
        await upstream.client.aclose()
        raise CliError(console_text(upstream.masker, error.message)) from None


async def close_all(upstreams: list[Upstream]) -> None:
    for upstream in upstreams:
        await upstream.client.aclose()


async def serve(listen: Listen, routes: list[Settings], *, check: bool) -> None:
    tokenizer = any(settings.routing.long_context_model for settings in routes)
    await asyncio.to_thread(runner.warm_up, tokenizer=tokenizer)
    upstreams = [runner.build_upstream(settings) for settings in routes]
    if check:
        try:
            for settings, upstream in zip(routes, upstreams, strict=True):
                if not settings.simulated:
                    await check_upstream(upstream)
        except CliError:
            await close_all(upstreams)
            raise
    host, port = listen.host, listen.port
    try:
        sock = listener.bind(host, port)
    except OSError as exc:
        await close_all(upstreams)
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    try:
        app = runner.build_routes_gateway(routes, upstreams, listen=listen)
    except OSError as exc:
        sock.close()
        await close_all(upstreams)
        raise CliError(f"cannot open the log {exc.filename}: {exc.strerror}") from None
    lines = startup_lines(routes, upstreams, listener.url_of(sock))
    print(printable("\n".join(lines), keep="\n"), file=sys.stderr, flush=True)
    # What start-up made (modules, the price table, the app) lives as long as the process:
    # frozen, the garbage collector's full passes no longer walk it on every request burst.
    gc.freeze()
    await runner.serve(app, sock)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    listen = listen_from(args, environ)
    settings = settings_from(args, environ)
    if args.kong_config:
        routes = routes_from_kong(args.kong_config, settings, environ)
    else:
        routes = [settings]
    for route in routes:
        require_key(route)
    warning = check_exposure(listen, routes)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    aio.run(serve(listen, routes, check=not args.no_check))
    return 0
