"""`claude-gw serve`: run the gateway in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any

from claude_gw import __version__
from claude_gw.cli.options import CliError, add_gateway_options, require_key, settings_from
from claude_gw.config import Settings
from claude_gw.errors import GatewayError
from claude_gw.server import runner
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
    parser.add_argument(
        "--no-check", action="store_true", help="do not probe the upstream at startup"
    )
    parser.set_defaults(run=run)


def startup_lines(settings: Settings, upstream: Upstream, url: str) -> list[str]:
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


async def check_upstream(upstream: Upstream) -> None:
    try:
        await upstream.check()
    except GatewayError as error:
        await upstream.client.aclose()
        raise CliError(error.message) from None


async def serve(settings: Settings, *, check: bool) -> None:
    await asyncio.to_thread(runner.warm_up)
    upstream = runner.build_upstream(settings)
    if check and not settings.simulated:
        await check_upstream(upstream)
    try:
        sock = runner.bind(settings.host, settings.port)
    except OSError as exc:
        await upstream.client.aclose()
        raise CliError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from None
    try:
        app = runner.build_gateway(settings, upstream)
    except OSError as exc:
        sock.close()
        await upstream.client.aclose()
        raise CliError(f"cannot open the log {settings.log_path}: {exc.strerror}") from None
    lines = startup_lines(settings, upstream, runner.url_of(sock))
    print("\n".join(lines), file=sys.stderr, flush=True)
    await runner.serve(app, sock)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = settings_from(args, environ)
    require_key(settings)
    asyncio.run(serve(settings, check=not args.no_check))
    return 0
