"""`claude-gw replay`: send logged requests again, to other models, and log the answers."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from claude_gw.cli.options import CliError

EPILOG = """\
Sources (--from, repeatable): claude_gw or Kong logs with payloads, JSONL files of Anthropic
Messages requests, or directories of either. Identical requests are sent once (--no-dedupe to
keep them). Results are appended to OUT as they arrive, one claude.json record per (request,
target) with a `replay` part; running the same command again skips the pairs OUT already has.

Targets: --target NAME picks a target of --targets FILE (TOML or YAML), else means the OpenAI
chat model NAME; --target name=x,kind=responses,base_url=URL,model=M,api_key_env=VAR spells
one out (kinds: chat, responses, anthropic, gateway).

examples:
  claude-gw replay --from claude.json --target gpt-5 --target gpt-5-nano -o replay.json
  claude-gw replay --from logs/ --targets targets.toml --target fast --dry-run
"""

DEFAULT_MAX_COST = 1.0  # USD: a run whose estimate may exceed this asks first


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay logged requests against other models",
        description="Send logged Claude Code requests to one or more targets and log the "
        "answers in claude.json records.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--from", dest="sources", action="append", required=True, metavar="FILE")
    add("--target", dest="targets", action="append", required=True, metavar="TARGET")
    add("--targets", dest="targets_file", metavar="FILE", help="TOML or YAML targets file")
    add("-o", "--output", metavar="OUT", help="result file (needed unless --dry-run)")
    add("--session", help="only requests of this session id")
    add("--model", help="only requests that asked for this model")
    add("--since", type=datetime.fromisoformat, help="only requests from (ISO time, UTC)")
    add("--until", type=datetime.fromisoformat, help="only requests before (ISO time, UTC)")
    add("--no-dedupe", action="store_true", help="send identical requests every time")
    add("--concurrency", type=int, default=4, help="requests in flight per target (4)")
    add("--rpm", type=float, help="at most this many requests per minute per target")
    add("--attempts", type=int, default=4, help="tries per request, the first included (4)")
    add("--timeout", type=float, default=300.0, help="seconds per try (300)")
    add("--cache", metavar="DIR", help="answer cache directory (content-addressed)")
    add("--dry-run", action="store_true", help="print counts, tokens and costs; send nothing")
    add("--max-cost", type=float, default=DEFAULT_MAX_COST, help="ask above this USD (1.0)")
    add("-y", "--yes", action="store_true", help="do not ask, whatever the cost")
    parser.set_defaults(run=run)


def utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def load(args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    """(requests, targets) as the options select them."""
    from claude_gw.replay import dedupe, load_requests, load_targets, select
    from claude_gw.replay.targets import TargetError, parse_target_option

    try:
        known = load_targets(args.targets_file) if args.targets_file else {}
        targets = [parse_target_option(value, known) for value in args.targets]
        requests = load_requests(args.sources)
    except (TargetError, FileNotFoundError) as exc:
        raise CliError(f"replay: {exc}") from None
    requests = select(
        requests,
        session=args.session,
        model=args.model,
        since=utc(args.since),
        until=utc(args.until),
    )
    return (requests if args.no_dedupe else dedupe(requests)), targets


def money(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def estimate_lines(estimates: Sequence[Any]) -> list[str]:
    return [
        f"{e.target} ({e.model}): {e.requests} requests, {e.prompt_tokens} prompt tokens, "
        f"cost {money(e.cost_low)} to {money(e.cost_high)}"
        for e in estimates
    ]


def confirmed(estimates: Sequence[Any], args: argparse.Namespace) -> bool:
    """True unless the highest estimate exceeds --max-cost and the user does not say yes."""
    high = sum(e.cost_high or 0.0 for e in estimates)
    if args.yes or high <= args.max_cost:
        return True
    if not sys.stdin.isatty():
        raise CliError(f"replay: may cost up to ${high:.2f} (> --max-cost): pass --yes")
    answer = input(f"This run may cost up to ${high:.2f}. Go on? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def status_class(record: dict[str, Any]) -> str:
    return "error" if record["response"]["status"] >= 400 else "ok"


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.replay import RetryPolicy, estimate, replay

    requests, targets = load(args)
    estimates = estimate(requests, targets)
    print("\n".join(estimate_lines(estimates)), file=sys.stderr)
    if args.dry_run:
        return 0
    if not args.output:
        raise CliError("replay: give -o OUT (or --dry-run)")
    if not confirmed(estimates, args):
        return 1
    policy = RetryPolicy(attempts=max(1, args.attempts), timeout=args.timeout)
    counts = Counter[str]()
    replay(
        requests,
        targets,
        environ=environ,
        output=args.output,
        cache=args.cache,
        concurrency=max(1, args.concurrency),
        rpm=args.rpm,
        policy=policy,
        progress=sys.stderr.isatty() and has_tqdm(),
        keep=False,  # written to the file as they come: memory stays flat on long runs
        on_result=lambda record: counts.update(("all", status_class(record))),
    )
    print(
        f"replay: {counts['all']} results ({counts['error']} errors) in {args.output}",
        file=sys.stderr,
    )
    return 0
