"""`claude-gw view LOG... [--session ID] -o session.html`: a captured session turn by turn."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from claude_gw.cli.options import CliError

EPILOG = """\
LOG may be files (.gz read transparently) or directories, from claude_gw or from Kong. The page
lists every turn of each session (time, main agent or subagent, model asked and used, status,
tokens, cost, latency, stop reason, tools called, and what the turn added since the agent's
previous one); clicking a turn shows the request as sent, the answer and its replays (give the
replay's result log as a LOG too). Requests and answers are shown when the log has payloads:
`claude-gw capture` records them by default, `serve` with --log-payloads. One file, no server,
no network. The directory of OUT.html must exist.

examples:
  claude-gw view claude.json -o session.html
  claude-gw view claude.json --session refactor-1 -o refactor.html
  claude-gw view claude.json replay-results.json -o with-replays.html
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "view",
        help="write one HTML page showing captured sessions turn by turn",
        description="Show each session of claude.json logs turn by turn: what was sent, what "
        "came back, what each turn cost and what changed since the turn before.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="LOG", help="log files or directories")
    parser.add_argument(
        "--session",
        metavar="ID",
        help="only this session: its id, a prefix of it, or its capture name (default: all)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="session.html",
        metavar="OUT.html",
        help="the HTML file to write (default: %(default)s; replaced if it exists)",
    )
    parser.add_argument(
        "--title", default="claude_gw session view", help="the page title (default: %(default)s)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.view import write_view

    try:
        shown = write_view(args.files, args.output, session=args.session, title=args.title)
    except FileNotFoundError as exc:
        raise CliError(f"view: {exc}") from None
    except LookupError as exc:
        raise CliError(f"view: {exc}") from None
    turns = sum(len(s.turns) for s in shown)
    if not turns:
        raise CliError(f"view: no request records in {', '.join(args.files)}")
    print(f"wrote {len(shown)} sessions, {turns} turns to {args.output}", file=sys.stderr)
    return 0
