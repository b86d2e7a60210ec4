"""`claude-gw replay`: send logged requests again, to other models, and log the answers."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from claude_gw.cli import values
from claude_gw.cli.options import CliError

EPILOG = """\
Sources (--from, repeatable): claude_gw or Kong logs with payloads, JSONL files of Anthropic
Messages requests (.gz read transparently), or directories of either. Identical requests are
sent once (--no-dedupe to keep them). Results are appended to OUT as they arrive, one
claude.json record per (request, target) with a `replay` part; running the same command again
skips the pairs OUT already answers and sends the failed ones again (--keep-failed: not).
The exit status is 1 when every pair sent failed.

Targets: --target NAME picks a target of --targets FILE (TOML or YAML), else means the OpenAI
chat model NAME; --target name=x,kind=responses,base_url=URL,model=M,api_key_env=VAR spells
one out (kinds: chat, responses, anthropic, gateway). With --targets and no --target, every
target of the file. Chat and responses targets without a base_url go to OPENAI_BASE_URL when
it is set (else api.openai.com); targets on loopback need no key.

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
    add(
        "--from",
        dest="sources",
        action="append",
        required=True,
        metavar="FILE",
        help="log, JSONL file or directory of them to take requests from (repeatable)",
    )
    add(
        "--target",
        dest="targets",
        action="append",
        metavar="TARGET",
        help="where to send them: a name of --targets FILE, an OpenAI chat model, or "
        "key=value,... (repeatable; needed unless --targets)",
    )
    add("--targets", dest="targets_file", metavar="FILE", help="TOML or YAML targets file")
    add("-o", "--output", metavar="OUT", help="result file (needed unless --dry-run)")
    add("--session", help="only requests of this session id")
    add("--model", help="only requests that asked for this model")
    add("--since", type=values.iso_time, help="only requests from (ISO time, UTC)")
    add("--until", type=values.iso_time, help="only requests before (ISO time, UTC)")
    add("--no-dedupe", action="store_true", help="send identical requests every time")
    add("--concurrency", type=values.count, default=4, help="requests in flight per target (4)")
    add("--rpm", type=values.positive_number, help="at most this many requests a minute a target")
    add("--attempts", type=values.count, default=4, help="tries per request, the first included")
    add("--timeout", type=values.seconds, default=300.0, help="seconds per try (300)")
    add("--cache", metavar="DIR", help="answer cache directory (content-addressed)")
    add("--dry-run", action="store_true", help="print counts, tokens and costs; send nothing")
    add("--max-cost", type=values.amount, default=DEFAULT_MAX_COST, help="ask above this USD")
    add("-y", "--yes", action="store_true", help="do not ask, whatever the cost")
    add(
        "--keep-failed",
        action="store_true",
        help="count the error rows already in OUT as done (default: send those pairs again)",
    )
    parser.set_defaults(run=run)


def utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def base_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """Chat and responses targets without a base_url go where the openai SDK would send them:
    to OPENAI_BASE_URL when it is set."""
    url = environ.get("OPENAI_BASE_URL", "").strip()
    return {"chat": url, "responses": url} if url else {}


def load_targets_of(args: argparse.Namespace, environ: Mapping[str, str]) -> list[Any]:
    """The targets the options name: each --target, or every target of --targets FILE."""
    from claude_gw.replay import load_targets
    from claude_gw.replay.targets import parse_target_option

    urls = base_urls(environ)
    known = load_targets(args.targets_file, base_urls=urls) if args.targets_file else {}
    if not args.targets and not args.targets_file:
        raise CliError("replay: give --target NAME (repeatable) or --targets FILE")
    if args.targets:
        targets = [parse_target_option(value, known, urls) for value in args.targets]
    else:
        targets = list(known.values())
    names = Counter(t.name for t in targets)
    twice = sorted(name for name, n in names.items() if n > 1)
    if twice:
        raise CliError(f"replay: target {twice[0]} is given twice: give each target once")
    return targets


def load_requests_of(args: argparse.Namespace) -> list[Any]:
    """The requests of --from, selected and (unless --no-dedupe) de-duplicated; an empty
    selection is refused, saying why."""
    from claude_gw.replay import dedupe, load_requests, select

    loaded = load_requests(args.sources)
    if not loaded:
        raise CliError(
            f"replay: no requests in {', '.join(args.sources)}: log records need their "
            "payloads (serve --log-payloads, Kong log_payloads: true)"
        )
    chosen = select(
        loaded,
        session=args.session,
        model=args.model,
        since=utc(args.since),
        until=utc(args.until),
    )
    if not chosen:
        raise CliError(
            f"replay: none of the {len(loaded)} requests matches --session/--model/--since/--until"
        )
    return chosen if args.no_dedupe else dedupe(chosen)


def load(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[list[Any], list[Any]]:
    """(requests, targets) as the options select them."""
    from claude_gw.replay.targets import TargetError

    try:
        targets = load_targets_of(args, environ)
        return load_requests_of(args), targets
    except (TargetError, FileNotFoundError) as exc:
        raise CliError(f"replay: {exc}") from None


def check_keys(targets: Sequence[Any], environ: Mapping[str, str]) -> None:
    """Refuse to start when a target's key variable is not set (loopback targets need none)."""
    from claude_gw.errors import GatewayError
    from claude_gw.replay.runner import key_of

    for target in targets:
        try:
            key_of(target, environ)
        except GatewayError as exc:
            raise CliError(f"replay: {exc.message} (targets on loopback need no key)") from None


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


def error_text(record: dict[str, Any]) -> str:
    """What went wrong in an error row, in a few words."""
    message = (record.get("claude_gw") or {}).get("error_message")
    return f"{record['response']['status']} {message or ''}".strip()


class Tally:
    """Counts the results of a run as they are written, and keeps the first error."""

    def __init__(self) -> None:
        self.counts = Counter[str]()
        self.first_error: str | None = None

    def __call__(self, record: dict[str, Any]) -> None:
        kind = status_class(record)
        self.counts.update(("all", kind))
        if kind == "error" and self.first_error is None:
            self.first_error = error_text(record)


def outcome_lines(tally: Tally, output: str) -> tuple[list[str], int]:
    """What to say at the end of a run, and the exit status: 1 when every pair sent failed."""
    total, errors = tally.counts["all"], tally.counts["error"]
    if total == 0:
        return [f"replay: nothing to send: {output} already answers every pair"], 0
    lines = [f"replay: {total} results ({errors} errors) in {output}"]
    if errors == total:
        lines.append(f"replay: every pair failed; the first: {tally.first_error}")
        return lines, 1
    return lines, 0


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.replay import RetryPolicy, estimate, replay

    requests, targets = load(args, environ)
    if not args.dry_run:
        if not args.output:
            raise CliError("replay: give -o OUT (or --dry-run)")
        check_keys(targets, environ)
    estimates = estimate(requests, targets)
    print("\n".join(estimate_lines(estimates)), file=sys.stderr)
    if args.dry_run:
        return 0
    if not confirmed(estimates, args):
        return 1
    tally = Tally()
    replay(
        requests,
        targets,
        environ=environ,
        output=args.output,
        cache=args.cache,
        concurrency=args.concurrency,
        rpm=args.rpm,
        policy=RetryPolicy(attempts=args.attempts, timeout=args.timeout),
        progress=sys.stderr.isatty() and has_tqdm(),
        keep=False,  # written to the file as they come: memory stays flat on long runs
        keep_failed=args.keep_failed,
        on_result=tally,
    )
    lines, status = outcome_lines(tally, args.output)
    print("\n".join(lines), file=sys.stderr)
    return status
