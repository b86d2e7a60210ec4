"""The long version of the reliability suite: `python -m tests.reliability.long`.

The test suite runs each reliability check once, sized for CI. This script repeats them at
scale, against the same test doubles:

- **load**: `--rounds` rounds of `--requests` concurrent requests (default 10 x 1,000) through
  one gateway on a real loopback socket, in front of the fault-injecting upstream
  (`faulty_upstream.py`, a test double that resets, stalls, truncates, sends invalid JSON and
  SSE and answers 429/500/503), with clients leaving at random points. After every round:
  every answer is what the contract allows, every request is logged exactly once as valid
  NDJSON, no upstream request is left open, no per-request object is alive, no key is in the
  log; every client that left early and reached the gateway is logged once, as a 499
  `client_disconnected` (or with the answer it had begun to get), and every client that left
  after its response's headers came is logged; and the process's memory in use (resident size
  after `malloc_trim`) must not keep growing from round to round.
- **bad input**: the hypothesis properties of `test_bad_input.py` and
  `test_bad_input_socket.py` with `--examples` examples each (default 2,000), run by pytest.

Prints a line per round and a verdict; exits 0 when everything held, 1 otherwise (with the
problems listed). On a 2-core machine a load round of 1,000 takes about 18 s (the stalled
requests wait for the gateway's 15 s read timeout) and the bad input at 2,000 examples about a
minute: under 5 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_gw.server.runner import build_gateway
from tests.reliability.asgi_driver import CLIENT_KEY, UPSTREAM_KEY
from tests.reliability.faulty_upstream import FaultyUpstream
from tests.reliability.test_load import (
    ALLOWED,
    ID_HEADER,
    Outcome,
    assert_answer,
    back_to,
    gateway_settings,
    load,
    request_state,
    wait_until_idle,
)
from tests.servers import ServerThread

REPO = Path(__file__).resolve().parents[2]
LOG_WAIT_S = 10.0
# Memory in use may settle a little higher after the first round (pools, caches) but must not
# keep growing: the last round may be at most this much above the first. Measured: 113 MB
# after the first of 12 rounds of 1,000, 116-117 MB from the third on. (Without `malloc_trim`
# the resident size crept up by ~2 MB a round: memory glibc keeps after it was freed, while
# tracemalloc showed no Python allocation growing.)
RSS_GROWTH_MB = 10.0


@dataclass
class Round:
    """What one load round did, and what it broke (counts only: the answers themselves are
    dropped once checked, so that the script's own memory does not grow with the rounds)."""

    number: int
    requests: int
    statuses: Counter[int]
    left: int  # clients that left on purpose before their answer
    seconds: float
    upstream_open: int
    alive: int
    rss_mb: float
    logged: int = 0
    left_logged: int = 0  # of the clients that left early, the ones logged (they reached it)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        shown = " ".join(f"{status}:{n}" for status, n in sorted(self.statuses.items()))
        verdict = "ok" if not self.problems else f"{len(self.problems)} PROBLEM(S)"
        return (
            f"round {self.number}: {self.requests} requests in {self.seconds:.1f} s "
            f"({shown}; {self.left} clients left early, {self.left_logged} of them logged), "
            f"{self.logged} logged, "
            f"{self.upstream_open} upstream open, {self.alive} request objects alive, "
            f"RSS {self.rss_mb:.0f} MB: {verdict}"
        )


def rss_mb() -> float:
    """This process's resident memory (Linux `/proc`; 0 elsewhere), after asking glibc to give
    back the free memory it keeps (`malloc_trim`), so that what is left is memory in use."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def check_round(
    outcomes: Sequence[Outcome], raw_log: bytes, logged_before: set[int]
) -> tuple[list[str], set[int]]:
    """Problems with one round's answers and the whole log so far, and the ids logged now.

    `logged_before` holds the ids of earlier rounds: an id logged twice, in this round or
    across rounds, is a problem, as is an answered request that is not logged at all.
    """
    problems = []
    for outcome in outcomes:
        try:
            assert_answer(outcome)
        except AssertionError as error:
            problems.append(f"request {outcome.index} ({outcome.fault}): {error or outcome}")
    if raw_log and not raw_log.endswith(b"\n"):
        problems.append("the log does not end with a whole line")
    ids: list[int] = []
    by_id: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(raw_log.splitlines(), start=1):
        try:
            record = json.loads(line)
            ids.append(int(record["request"]["headers"][ID_HEADER]))
        except (ValueError, KeyError, TypeError) as error:
            problems.append(f"log line {number} is not a whole record: {error!r}")
            continue
        by_id[ids[-1]] = record
    problems += early_leavers(outcomes, by_id)
    seen = Counter(ids)
    problems += [f"request {i} is logged {n} times" for i, n in seen.items() if n > 1]
    this_round = {o.index for o in outcomes}
    logged_now = {i for i in seen if i in this_round}
    missing = sorted({o.index for o in outcomes if o.status is not None} - logged_now)
    problems += [f"request {i} was answered but not logged" for i in missing]
    problems += [f"request {i} was logged in an earlier round" for i in logged_now & logged_before]
    for secret in (CLIENT_KEY, UPSTREAM_KEY):
        if secret.encode() in raw_log:
            problems.append("a key is in the log")
    return problems, logged_now


def early_leavers(outcomes: Sequence[Outcome], by_id: dict[int, dict[str, Any]]) -> list[str]:
    """Problems with the requests whose clients left on purpose: one that reached the gateway
    is logged as a 499 `client_disconnected`, or with the answer it had begun to get; one that
    got its response's headers before leaving must be logged (one that left sooner may have
    left before its request was sent: the load keeps a busy client loop)."""
    problems = []
    for outcome in outcomes:
        if outcome.status is not None:
            continue
        record = by_id.get(outcome.index)
        if record is None:
            if outcome.reached:
                problems.append(f"request {outcome.index} left after its headers, unlogged")
            continue
        status = record["response"]["status"]
        error_type = record["claude_gw"].get("error_type")
        if status == 499 and error_type != "client_disconnected":
            problems.append(f"request {outcome.index} left early but is logged as {error_type}")
        elif status != 499 and status not in ALLOWED[outcome.fault]:
            problems.append(f"request {outcome.index} left early and is logged as a {status}")
    return problems


def left_logged(outcomes: Sequence[Outcome], raw_log: bytes) -> int:
    """How many of the clients that left early are in the log."""
    left = {o.index for o in outcomes if o.status is None}
    return len(left & logged_ids(raw_log))


def logged_ids(raw_log: bytes) -> set[int]:
    """The request numbers of the log's whole records."""
    ids = set()
    for line in raw_log.splitlines():
        try:
            ids.add(int(json.loads(line)["request"]["headers"][ID_HEADER]))
        except (ValueError, KeyError, TypeError):
            continue  # check_round reports it
    return ids


def wait_for_log(path: Path, outcomes: Sequence[Outcome]) -> bytes:
    """The log once every answered request of the round is in it (or after LOG_WAIT_S): the
    writer appends a few milliseconds after each response."""
    wanted = {o.index for o in outcomes if o.status is not None}
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        raw = path.read_bytes() if path.exists() else b""
        if wanted <= logged_ids(raw) or time.monotonic() > deadline:
            return raw
        time.sleep(0.05)


def load_rounds(rounds: int, requests: int, workdir: Path) -> list[Round]:
    log_path = workdir / "claude.json"
    baseline = request_state()
    done: list[Round] = []
    logged: set[int] = set()
    with FaultyUpstream() as upstream:
        with ServerThread(build_gateway(gateway_settings(upstream, log_path))) as server:
            url = f"{server.base_url}/v1/messages"
            for number in range(1, rounds + 1):
                started = time.monotonic()
                outcomes = asyncio.run(load(url, requests, first=(number - 1) * requests))
                seconds = time.monotonic() - started
                wait_until_idle(upstream)
                raw_log = wait_for_log(log_path, outcomes)
                problems, logged_now = check_round(outcomes, raw_log, logged)
                result = Round(
                    number,
                    requests=len(outcomes),
                    statuses=Counter(o.status for o in outcomes if o.status is not None),
                    left=sum(o.status is None for o in outcomes),
                    seconds=seconds,
                    upstream_open=upstream.active,
                    alive=back_to(baseline) - baseline,
                    rss_mb=rss_mb(),
                    left_logged=left_logged(outcomes, raw_log),
                )
                del outcomes, raw_log
                logged |= logged_now
                result.logged = len(logged_now)
                result.problems = problems
                if result.upstream_open:
                    result.problems.append(f"{result.upstream_open} upstream requests still open")
                if result.alive > 0:
                    result.problems.append(f"{result.alive} request objects still alive")
                print(result.line(), flush=True)
                done.append(result)
    if len(done) > 1 and done[-1].rss_mb - done[0].rss_mb > RSS_GROWTH_MB:
        done[-1].problems.append(
            f"resident memory grew from {done[0].rss_mb:.0f} MB after the first round to "
            f"{done[-1].rss_mb:.0f} MB after the last"
        )
    return done


def bad_input(examples: int) -> int:
    """The hypothesis properties at `examples` examples each, through pytest; its exit code."""
    tests = ["tests/reliability/test_bad_input.py", "tests/reliability/test_bad_input_socket.py"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    env = {**os.environ, "CLAUDE_GW_RELIABILITY_EXAMPLES": str(examples)}
    print(f"bad input: {' '.join(tests)} with {examples} examples per property", flush=True)
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.long",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--rounds", type=int, default=10, help="load rounds (default 10)")
    parser.add_argument(
        "--requests", type=int, default=1000, help="concurrent requests per round (default 1000)"
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=2000,
        help="hypothesis examples per bad-input property (default 2000; 0 skips them)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or args.examples < 0:
        parser.error("--rounds and --requests must be at least 1, --examples at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="claude-gw-reliability-") as workdir:
        rounds = load_rounds(args.rounds, args.requests, Path(workdir))
    failed = args.examples and bad_input(args.examples)
    problems = [f"round {r.number}: {p}" for r in rounds for p in r.problems]
    if failed:
        problems.append(f"the bad-input properties failed (pytest exit code {failed})")
    total = sum(r.requests for r in rounds)
    if problems:
        print(f"\nFAILED: {len(problems)} problem(s) in {total} requests", file=sys.stderr)
        for problem in problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"\nevery invariant held: {total} requests in {len(rounds)} rounds", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
