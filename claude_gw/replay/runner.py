"""The runner: every (request, target) pair sent once, concurrently, whatever fails.

- Per target: at most `concurrency` requests in flight, and with `rpm` at most that many
  starts per minute (evenly spaced).
- Each pair is tried up to `RetryPolicy.attempts` times (see `retry.py`), each try bounded by
  `RetryPolicy.timeout`; a pair that still fails, a target without its key, even a bug in a
  translator, gives an error record: the run itself never aborts.
- With `output`, each record is appended as it arrives (`output.py`) and pairs already in the
  file are skipped, so re-running the same call resumes; cancelling the run (Ctrl-C) leaves
  whole lines only. With `cache`, answers come from (and go to) the cache (`cache.py`).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from claude_gw.errors import GatewayError, UpstreamError, UpstreamTimeout
from claude_gw.replay.cache import ResponseCache
from claude_gw.replay.output import append_record, done_pairs
from claude_gw.replay.records import Outcome, result_record
from claude_gw.replay.retry import RetryPolicy, delay_before, retryable
from claude_gw.replay.send import send_once
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import Target

Sleep = Callable[[float], Awaitable[None]]
OnResult = Callable[[dict[str, Any]], None]


class Pacer:
    """At most `concurrency` holders at once and, with `rpm`, starts spaced 60/rpm s apart."""

    def __init__(self, concurrency: int, rpm: float | None, sleep: Sleep) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.interval = 60.0 / rpm if rpm else 0.0
        self.next_start = 0.0
        self.sleep = sleep

    async def __aenter__(self) -> None:
        await self.slots.acquire()
        if self.interval:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
            if start > now:
                await self.sleep(start - now)

    async def __aexit__(self, *exc: object) -> None:
        self.slots.release()


@dataclass
class Run:
    """What every task of one run shares."""

    client: httpx.AsyncClient
    environ: Mapping[str, str]
    policy: RetryPolicy
    run_id: str
    sleep: Sleep
    cache: ResponseCache | None
    output: str | os.PathLike[str] | None
    on_result: OnResult | None
    results: list[dict[str, Any]] = field(default_factory=list)


def key_of(target: Target, environ: Mapping[str, str]) -> str | None:
    """The target's API key; raises `UpstreamError` when its variable is not set."""
    if not target.api_key_env:
        return None
    key = environ.get(target.api_key_env)
    if not key:
        raise UpstreamError(
            f"target {target.name}: ${target.api_key_env} is not set",
            headers={"x-should-retry": "false"},
        )
    return key


async def try_once(run: Run, target: Target, body: dict[str, Any]) -> Outcome:
    try:
        async with asyncio.timeout(run.policy.timeout):
            answer = await send_once(target, body, run.client, key_of(target, run.environ))
    except TimeoutError:
        error = UpstreamTimeout(f"target {target.name}: no answer in {run.policy.timeout:g}s")
        return Outcome(None, error, 1)
    except GatewayError as exc:
        return Outcome(None, exc, 1)
    except Exception as exc:  # a bug must cost one row, not the run
        return Outcome(None, UpstreamError(f"target {target.name}: {exc!r}"), 1)
    return Outcome(answer, None, 1)


async def send_with_retries(
    run: Run, pacer: Pacer, target: Target, body: dict[str, Any]
) -> Outcome:
    attempt = 0
    while True:
        attempt += 1
        async with pacer:
            outcome = await try_once(run, target, body)
        error = outcome.error
        if error is None or attempt >= run.policy.attempts or not retryable(error):
            return Outcome(outcome.answer, error, attempt)
        await run.sleep(delay_before(attempt, error, run.policy, time.time()))


async def replay_pair(run: Run, pacer: Pacer, request: ReplayRequest, target: Target) -> None:
    started = (time.time(), time.monotonic())
    cached = await asyncio.to_thread(run.cache.get, target, request.key) if run.cache else None
    if cached is not None:
        outcome = Outcome(cached, None, 0, cached=True)
    else:
        outcome = await send_with_retries(run, pacer, target, request.body)
        if run.cache is not None and outcome.answer is not None:
            await asyncio.to_thread(run.cache.put, target, request.key, outcome.answer)
    record = result_record(request, target, outcome, run_id=run.run_id, started=started)
    if run.output is not None:
        # shielded: a cancelled run still finishes the line it started, so no pair is lost
        await asyncio.shield(asyncio.to_thread(append_record, run.output, record))
    run.results.append(record)
    if run.on_result is not None:
        run.on_result(record)


def pending(
    requests: Sequence[ReplayRequest],
    targets: Sequence[Target],
    output: str | os.PathLike[str] | None,
) -> list[tuple[ReplayRequest, Target]]:
    """The pairs still to do: all of them, minus those already in `output`."""
    done = done_pairs(output) if output is not None else set()
    return [(r, t) for t in targets for r in requests if (r.source_id, t.name) not in done]


async def areplay(
    requests: Sequence[ReplayRequest],
    targets: Sequence[Target],
    *,
    environ: Mapping[str, str] | None = None,
    output: str | os.PathLike[str] | None = None,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    concurrency: int = 4,
    rpm: float | None = None,
    policy: RetryPolicy | None = None,
    client: httpx.AsyncClient | None = None,
    run_id: str | None = None,
    on_result: OnResult | None = None,
    progress: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> list[dict[str, Any]]:
    """Replay every request on every target; the result records, in completion order.

    `environ` maps the targets' key variables to keys (pass `os.environ`; nothing is read
    from the process environment otherwise). `concurrency` and `rpm` apply per target.
    `client` is closed only when the runner made it. `on_result` is called with each record
    as it is written; `progress=True` shows a tqdm bar (needs the analysis extra).
    See the module docstring.
    """
    policy = policy or RetryPolicy()
    own = client is None
    client = client or httpx.AsyncClient(timeout=policy.timeout)
    run = Run(
        client=client,
        environ=environ or {},
        policy=policy,
        run_id=run_id or uuid.uuid4().hex,
        sleep=sleep,
        cache=ResponseCache(cache) if isinstance(cache, str | os.PathLike) else cache,
        output=output,
        on_result=on_result,
    )
    todo = await asyncio.to_thread(pending, requests, targets, output)
    pacers = {t.name: Pacer(concurrency, rpm, sleep) for t in targets}
    bar = progress_bar(len(todo)) if progress else None
    if bar is not None:
        run.on_result = with_bar(bar, on_result)
    try:
        async with asyncio.TaskGroup() as group:
            for request, target in todo:
                group.create_task(replay_pair(run, pacers[target.name], request, target))
    finally:
        if bar is not None:
            bar.close()
        if own:
            await client.aclose()
    return run.results


def progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="req", desc="replay")


def with_bar(bar: Any, on_result: OnResult | None) -> OnResult:
    def advance(record: dict[str, Any]) -> None:
        bar.update(1)
        if on_result is not None:
            on_result(record)

    return advance


def replay(
    requests: Sequence[ReplayRequest], targets: Sequence[Target], **options: Any
) -> list[dict[str, Any]]:
    """`areplay` for synchronous callers, Jupyter included: inside a running event loop the
    run gets its own loop in a worker thread (the notebook waits for it); else `asyncio.run`."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(areplay(requests, targets, **options))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="claude-gw-replay") as pool:
        future = pool.submit(lambda: asyncio.run(areplay(requests, targets, **options)))
        return future.result()
