"""`claude-gw env`: the shell lines that point `claude` at a running gateway."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from typing import Any

from claude_gw.capture import client_env
from claude_gw.cli import values
from claude_gw.cli.options import add_gateway_options, listen_from, settings_from

EXPORTED = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "CLAUDE_CODE_MAX_CONTEXT_TOKENS",  # only when the model's window is known
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "env",
        help="print the export lines that point a shell's claude at a running gateway",
        description='Print `export` lines for the Claude CLI: eval "$(claude-gw env)". The '
        "model variables follow the same --model/--map options (and variables) as serve; "
        "ANTHROPIC_API_KEY is the first key of --client-key-file (else a placeholder), so "
        "the output holds that key when one is given. CLAUDE_CODE_MAX_CONTEXT_TOKENS is the "
        "model's context window (--context-window, else the price table's), when known.",
    )
    parser.add_argument(
        "--gateway",
        metavar="URL",
        type=values.http_url,
        help="the gateway's URL (default http://HOST:PORT from the options)",
    )
    parser.add_argument(
        "--prefix", default="/anything", help="path prefix for the base URL (default /anything)"
    )
    add_gateway_options(parser)
    parser.set_defaults(run=run)


def export_lines(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    settings = settings_from(args, environ)
    listen = listen_from(args, environ)
    gateway = args.gateway or f"http://{listen.host}:{listen.port}"
    base_url = gateway.rstrip("/") + "/" + args.prefix.strip("/")
    env = client_env(base_url.rstrip("/"), settings, {})
    lines = [f"export {name}={shlex.quote(env[name])}" for name in EXPORTED if name in env]
    # The shell's own Anthropic credentials must not reach the gateway: the key exported above
    # is the gateway's client key (or a placeholder), and a token would be sent besides it.
    if "ANTHROPIC_AUTH_TOKEN" in environ:
        lines.append("unset ANTHROPIC_AUTH_TOKEN")
    return lines


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    print("\n".join(export_lines(args, environ)))
    return 0
