"""`claude-gw capture [gateway options] -- claude [claude args]`: record one Claude CLI session."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from claude_gw.capture import CaptureResult, check_name, describe_record, run_capture
from claude_gw.cli import values
from claude_gw.cli.options import CliError, add_gateway_options, require_key, settings_from

EPILOG = """\
The command runs with ANTHROPIC_BASE_URL pointing at the gateway, ANTHROPIC_MODEL and the
ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL variables following --model and --map, and
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1. It keeps your terminal: an interactive `claude`
stays interactive. Every record it causes is labelled `claude_gw.capture = NAME` in the log.
The exit status is the command's. With --follow, one line per record goes to stderr as the
gateway logs it (best with `claude -p`: an interactive claude owns the terminal).

examples:
  claude-gw capture --upstream simulated -- claude -p "say hi"
  claude-gw capture --follow --model gpt-5-mini -- claude -p "list the files here"
  claude-gw capture --name refactor-1 --model gpt-5 -- claude
  claude-gw capture --gateway http://127.0.0.1:8000 --log claude.json -- claude -p "hi"
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "capture",
        help="run a command (claude ...) through a gateway and record its session",
        description="Start a gateway on a free loopback port (or use a running one), run the "
        "command against it, stop the gateway, and print what the session cost.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--name", help="label for this capture's records (default: capture-DATE-TIME)"
    )
    parser.add_argument(
        "--gateway",
        metavar="URL",
        type=values.http_url,
        help="use the gateway already running at URL instead of starting one; pass its --log "
        "to get the summary",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="print one line per record (time, model, status, tokens, stop reason, tool calls) "
        "to stderr as the gateway logs it",
    )
    add_gateway_options(parser)
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    parser.set_defaults(run=run)


def summary_lines(result: CaptureResult) -> list[str]:
    s = result.summary()
    where = result.log_path.resolve() if result.log_path else "the gateway's log"
    cost = f"${s.cost:.4f}" + (f" (+{s.unpriced} unpriced)" if s.unpriced else "")
    return [
        f"claude-gw capture {result.name}: {s.requests} requests ({s.errors} errors), "
        f"{s.token_counts} token counts",
        f"  tokens: {s.prompt_tokens} prompt ({s.cached_tokens} cached), "
        f"{s.completion_tokens} completion ({s.reasoning_tokens} reasoning); cost {cost}",
        f"  log:    {where} (records with claude_gw.capture = {result.name!r})",
    ]


def print_record(record: dict[str, Any]) -> None:
    print(describe_record(record), file=sys.stderr, flush=True)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise CliError("capture: give the command to run after --, e.g. -- claude -p 'say hi'")
    settings = settings_from(args, environ)
    if args.name:
        try:
            check_name(args.name)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if not args.gateway:
        require_key(settings)
    try:
        result = run_capture(
            command,
            settings,
            name=args.name,
            gateway_url=args.gateway,
            environ=environ,
            on_record=print_record if args.follow else None,
        )
    except FileNotFoundError:
        raise CliError(f"capture: command not found: {command[0]}") from None
    print("\n".join(summary_lines(result)), file=sys.stderr)
    return result.returncode
