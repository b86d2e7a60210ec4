"""The `claude-gw` command: the only place that prints, exits and reads os.environ.

Each subcommand module adds its parser and a `run(args, environ) -> exit status` function;
`main` dispatches and turns the user's mistakes into one-line messages (exit status 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from claude_gw import __version__
from claude_gw.cli import capture, env, kong, logs, replay, report, serve
from claude_gw.cli.options import CliError
from claude_gw.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-gw",
        description="Run the Claude Code CLI against OpenAI or any OpenAI-compatible server, "
        "and log every request in Kong's claude.json shape.",
    )
    parser.add_argument("--version", action="version", version=f"claude-gw {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (serve, capture, env, logs, report, replay, kong):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args, os.environ))
    except (CliError, ConfigError) as exc:
        print(f"claude-gw: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
