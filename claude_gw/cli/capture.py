"""`claude-gw capture [gateway options] -- claude [claude args]`: record one Claude CLI session."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from claude_gw.capture import (
    CaptureResult,
    check_name,
    check_pass_env,
    describe_record,
    run_capture,
)
from claude_gw.cli import values
from claude_gw.cli.options import (
    CliError,
    add_gateway_options,
    env_help,
    listen_from,
    require_key,
    settings_from,
)
from claude_gw.config import ENV

EPILOG = """\
The command runs with ANTHROPIC_BASE_URL pointing at the gateway, ANTHROPIC_MODEL and the
ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL variables following --model and --map, and
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1. ANTHROPIC_API_KEY is the first key of
--client-key-file, else a placeholder. Nothing else of your environment reaches it but PATH,
HOME, USER, LOGNAME, SHELL, PWD, TERM, COLORTERM, TERM_PROGRAM, COLUMNS, LINES, NO_COLOR,
FORCE_COLOR, LANG, LANGUAGE, TZ, TMPDIR, TMP, TEMP, EDITOR, VISUAL, CLAUDE_CONFIG_DIR and the
LC_*, XDG_*, CLAUDE_CODE_* and DISABLE_* variables without a word such as KEY, TOKEN, SECRET,
PASSWORD, CREDENTIALS, AUTH, COOKIE or SESSION in their names; add others with --pass-env.
The gateway's keys (OPENAI_API_KEY, ANTHROPIC_API_KEY, CLAUDE_GW_*, DECK_*, AWS_*) never
do: the command runs model-written shell commands. It keeps your terminal: an interactive
`claude` stays interactive. Every record it causes is labelled `claude_gw.capture = NAME`
in the log. The exit status is the command's. With --follow, one line per record goes to
stderr as the gateway logs it (best with `claude -p`: an interactive claude owns the
terminal). The log holds the session's requests and answers (payloads, with secrets scrubbed
as in every record) unless --no-payloads: `claude-gw view LOG` shows them turn by turn.

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
    parser.add_argument(
        "--pass-env",
        action="append",
        metavar="NAME",
        help=env_help(
            "also pass environment variable NAME to the command (repeatable; variable: "
            "comma-separated); the gateway's keys are refused",
            "pass_env",
        ),
    )
    parser.add_argument(
        "--no-payloads",
        action="store_true",
        help="leave the request and response bodies out of the log (by default capture logs "
        "them, secrets scrubbed, so that `claude-gw view` can show each turn)",
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


def pass_env_names(given: list[str] | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    """--pass-env names, else CLAUDE_GW_PASS_ENV's comma-separated ones; CliError for the
    gateway's own secrets."""
    names = given or [n.strip() for n in environ.get(ENV["pass_env"], "").split(",") if n.strip()]
    try:
        return check_pass_env(names)
    except ValueError as exc:
        raise CliError(f"capture: {exc}") from None


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise CliError("capture: give the command to run after --, e.g. -- claude -p 'say hi'")
    settings = settings_from(args, environ)
    if not args.gateway:  # a running gateway logs as it was started
        settings = replace(settings, log_payloads=not args.no_payloads)
    if args.name:
        try:
            check_name(args.name)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if not args.gateway:
        require_key(settings)
    pass_env = pass_env_names(args.pass_env, environ)
    if shutil.which(command[0]) is None:
        raise CliError(f"capture: command not found: {command[0]}")
    if settings.log_payloads and not args.gateway:
        print(
            f"claude-gw capture: logging this session's requests and answers to "
            f"{settings.log_path} (secrets scrubbed as in every record; --no-payloads "
            "to leave them out)",
            file=sys.stderr,
        )
    try:
        result = run_capture(
            command,
            settings,
            name=args.name,
            gateway_url=args.gateway,
            environ=environ,
            on_record=print_record if args.follow else None,
            pass_env=pass_env,
            listen=listen_from(args, environ),
        )
    except FileNotFoundError:
        raise CliError(f"capture: command not found: {command[0]}") from None
    print("\n".join(summary_lines(result)), file=sys.stderr)
    return result.returncode
