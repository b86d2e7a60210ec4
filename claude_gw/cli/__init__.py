"""The `claude-gw` command: the only place that prints, exits and reads os.environ.

Each subcommand module adds its parser and a `run(args, environ) -> exit status` function;
`main` dispatches and is the error boundary:

- the user's mistakes (a bad option, a file that cannot be read or written, a value out of
  range, a config that does not parse) are one line on stderr, `claude-gw: ...` naming the
  option or file and the cause, and exit status 2; never a traceback;
- anything else is a bug in claude-gw: one line saying so, with the exception and where it
  was raised, the full traceback in a file whose path the line gives (printed as well with
  CLAUDE_GW_TRACEBACK=1), and exit status 70 (EX_SOFTWARE);
- Ctrl-C is exit status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from claude_gw import __version__
from claude_gw.cli import capture, env, kong, logs, replay, report, serve, view
from claude_gw.cli.options import CliError
from claude_gw.config import ConfigError

USER_ERROR = 2
BUG = 70  # EX_SOFTWARE (sysexits.h)
INTERRUPTED = 130
# OSErrors that are about a path the user gave (or its directory), not about claude-gw.
PATH_ERRORS = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    FileExistsError,
)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line that names the option and the cause."""

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="claude-gw",
        description="Run the Claude Code CLI against OpenAI or any OpenAI-compatible server, "
        "and log every request in Kong's claude.json shape.",
    )
    parser.add_argument("--version", action="version", version=f"claude-gw {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (serve, capture, env, logs, report, view, replay, kong):
        module.add_parser(commands)
    return parser


def check_output(args: argparse.Namespace) -> None:
    """`-o OUT` must be a file in a directory that exists: refused before any work is done."""
    output = getattr(args, "output", None)
    if not output:
        return
    path = Path(output)
    if path.is_dir():
        raise CliError(f"{args.command}: cannot write {output}: it is a directory")
    if not path.parent.is_dir():
        raise CliError(f"{args.command}: cannot write {output}: no directory {str(path.parent)!r}")


def path_message(exc: OSError) -> str:
    """`FILE: cause` for an OSError about a path."""
    if exc.filename is None:
        return str(exc)
    cause = exc.strerror or str(exc)
    return f"{exc.filename}: {cause}"


def innermost_frame(exc: BaseException) -> str:
    """`file:line in function` of the deepest frame of claude_gw's own code in the traceback
    (the deepest frame of all when none is claude_gw's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}claude_gw{os.sep}" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def report_bug(exc: BaseException, environ: Mapping[str, str]) -> int:
    """Keep the traceback in a file, say where, and return the exit status of a bug."""
    text = "".join(traceback.format_exception(exc))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"claude-gw-crash-{stamp}-{os.getpid()}.txt"
    try:
        path.write_text(f"claude-gw {__version__} {' '.join(sys.argv)}\n{text}", encoding="utf-8")
        where = f"traceback in {path}"
    except OSError:
        where = "run with CLAUDE_GW_TRACEBACK=1 for the traceback"
    if environ.get("CLAUDE_GW_TRACEBACK"):
        sys.stderr.write(text)
    print(
        f"claude-gw: internal error (a bug in claude-gw, not in what you asked): "
        f"{type(exc).__name__}: {exc} at {innermost_frame(exc)}; {where}",
        file=sys.stderr,
    )
    return BUG


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USER_ERROR
    try:
        check_output(args)
        return int(args.run(args, os.environ))
    except (CliError, ConfigError) as exc:
        print(f"claude-gw: {exc}", file=sys.stderr)
        return USER_ERROR
    except PATH_ERRORS as exc:
        print(f"claude-gw: {path_message(exc)}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        return report_bug(exc, os.environ)
