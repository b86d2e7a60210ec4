"""The runner: every (request, target) pair sent once, concurrently, whatever fails.

- Per target: at most `concurrency` requests in flight, and with `rpm` at most that many
  starts per minute (evenly spaced).
- Each pair is tried up to `RetryPolicy.attempts` times (see `retry.py`), each try bounded by
  `RetryPolicy.timeout`; a pair that still fails, a target without its key, even a bug in a
  translator, gives an error record: the run itself never aborts.
- With `output`, records are appended as they arrive (`output.ResultWriter`) and pairs the file
  already answers are skipped, so re-running the same call resumes and sends again the pairs
  that failed (their error rows are replaced; `keep_failed` keeps them as done instead);
  cancelling the run (Ctrl-C) writes the pairs already finished and leaves whole lines only.
  With `cache`, answers come from (and go to) the cache (`cache.py`).
- Requests go out through one connection pool (`upstream.Pool`), made by the run
  unless given.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from claude_gw import aio
from claude_gw.errors import GatewayError, UpstreamError
from claude_gw.replay.cache import ResponseCache
from claude_gw.replay.output import ResultWriter, resume
from claude_gw.replay.records import Outcome, result_record
from claude_gw.replay.retry import RetryPolicy, delay_before, retryable
from claude_gw.replay.send import send_once, upstream_for
from claude_gw.replay.sources import ReplayRequest
from claude_gw.replay.targets import Target
from claude_gw.upstream import Pool, Upstream

Sleep = Callable[[float], Awaitable[None]]
OnResult = Callable[[dict[str, Any]], None]


class Pacer:
    """At most `concurrency` holders at once and, with `rpm`, starts spaced 60/rpm s apart."""

    def __init__(self, concurrency: int, rpm: float | None, sleep: Sleep) -> None:
        self.concurrency = concurrency
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

    pool: Pool
    environ: Mapping[str, str]
    policy: RetryPolicy
    run_id: str
    sleep: Sleep
    cache: ResponseCache | None
    writer: ResultWriter
    results: list[dict[str, Any]] | None = field(default_factory=list)
    upstreams: dict[str, Upstream] = field(default_factory=dict)

    def upstream(self, target: Target) -> Upstream:
        """The sender for `target`, made on first use; raises `UpstreamError` without a key."""
        upstream = self.upstreams.get(target.name)
        if upstream is None:
            key = key_of(target, self.environ)
            upstream = upstream_for(target, self.pool, key, self.policy.timeout)
            self.upstreams[target.name] = upstream
        return upstream


def key_of(target: Target, environ: Mapping[str, str]) -> str | None:
    """The target's API key; raises `UpstreamError` when its variable is not set, unless the
    target is on loopback (a local server: no key then)."""
    if not target.api_key_env:
        return None
    key = environ.get(target.api_key_env)
    if not key and target.on_loopback:
        return None
    if not key:
        raise UpstreamError(
            f"target {target.name}: ${target.api_key_env} is not set",
            headers={"x-should-retry": "false"},
        )
    return key


async def try_once(run: Run, target: Target, body: dict[str, Any]) -> Outcome:
    """One try; its time limit (`RetryPolicy.timeout`) is the sender's (`upstream_for`)."""
    try:
        answer = await send_once(target, body, run.upstream(target))
    except GatewayError as exc:
        return Outcome(None, exc, 1)
    except Exception as exc:  # a bug must cost one row, not the run
        return Outcome(None, UpstreamError(f"target {target.name}: {exc!r}"), 1)
    return Outcome(answer, None, 1)


async def send_with_retries(
    run: Run, pacer: Pacer, target: Target, body: dict[str, Any]
) -> Outcome:
    attempt, started = 0, None
    while True:
        attempt += 1
        async with pacer:
            started = started or (time.time(), time.monotonic())
            outcome = await try_once(run, target, body)
        error = outcome.error
        if error is None or attempt >= run.policy.attempts or not retryable(error):
            return Outcome(outcome.answer, error, attempt, started=started)
        await run.sleep(delay_before(attempt, error, run.policy, time.time()))


async def replay_pair(run: Run, pacer: Pacer, request: ReplayRequest, target: Target) -> None:
    started = (time.time(), time.monotonic())
    cached = await asyncio.to_thread(run.cache.get, target, request.key) if run.cache else None
    if cached is not None:
        outcome = Outcome(cached, None, 0, cached=True, started=started)
    else:
        outcome = await send_with_retries(run, pacer, target, request.body)
        if run.cache is not None and outcome.answer is not None:
            await asyncio.to_thread(run.cache.put, target, request.key, outcome.answer)
    record = result_record(request, target, outcome, run_id=run.run_id)
    if run.results is not None:
        run.results.append(record)
    run.writer.add(record)


async def feed(
    group: asyncio.TaskGroup,
    run: Run,
    pacer: Pacer,
    target: Target,
    requests: Sequence[ReplayRequest],
) -> None:
    """Start a task per request for `target`, keeping at most twice its concurrency started
    and unfinished: enough to fill every slot the moment it frees, without holding a task
    (and its garbage-collected state) per request of a long run."""
    started = asyncio.Semaphore(2 * pacer.concurrency)
    for request in requests:
        await started.acquire()
        task = group.create_task(replay_pair(run, pacer, request, target))
        task.add_done_callback(lambda _: started.release())


def by_target(
    pairs: Sequence[tuple[ReplayRequest, Target]],
) -> list[tuple[Target, list[ReplayRequest]]]:
    """The pairs grouped by target (by name), in order."""
    grouped: dict[str, tuple[Target, list[ReplayRequest]]] = {}
    for request, target in pairs:
        grouped.setdefault(target.name, (target, []))[1].append(request)
    return list(grouped.values())


def pending(
    requests: Sequence[ReplayRequest],
    targets: Sequence[Target],
    output: str | os.PathLike[str] | None,
    *,
    keep_failed: bool = False,
) -> list[tuple[ReplayRequest, Target]]:
    """The pairs still to do: all of them, minus those `output` already answers (and, with
    `keep_failed`, minus those it holds an error row for); see `output.resume`."""
    pairs = [(r, t) for t in targets for r in requests]
    if output is None:
        return pairs
    done = resume(output, {(r.source_id, t.name) for r, t in pairs}, keep_failed=keep_failed)
    return [(r, t) for r, t in pairs if (r.source_id, t.name) not in done]


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
    pool: Pool | None = None,
    run_id: str | None = None,
    on_result: OnResult | None = None,
    progress: bool = False,
    keep: bool = True,
    keep_failed: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> list[dict[str, Any]]:
    """Replay every request on every target; the result records, in completion order.

    `environ` maps the targets' key variables to keys (pass `os.environ`; nothing is read
    from the process environment otherwise). `concurrency` and `rpm` apply per target.
    `pool` (`upstream.Pool`) is closed only when the runner made it. `on_result` is
    called with each record once it is written; `progress=True` shows a tqdm bar (needs the
    analysis extra). `keep=False` returns an empty list instead of every record (they are in
    `output` and passed to `on_result`): a long run's memory then stays flat.
    `keep_failed=True` counts the error rows already in `output` as done; by default their
    pairs are sent again (and the old rows taken out). See the module docstring.
    """
    todo = await asyncio.to_thread(pending, requests, targets, output, keep_failed=keep_failed)
    bar = progress_bar(len(todo)) if progress else None
    writer = ResultWriter(output, with_bar(bar, on_result))
    run = Run(
        pool=pool or Pool(),
        environ=environ or {},
        policy=policy or RetryPolicy(),
        run_id=run_id or uuid.uuid4().hex,
        sleep=sleep,
        cache=ResponseCache(cache) if isinstance(cache, str | os.PathLike) else cache,
        writer=writer,
        results=[] if keep else None,
    )
    writing = asyncio.create_task(writer.run(), name="claude-gw-replay-writer")
    # Everything alive now (modules, the requests) outlives the run: freezing it keeps the
    # garbage collector's full passes, which otherwise stall the loop for tens of ms a few
    # times a run, to the objects the run makes. Unfrozen (back to normal) when it ends.
    gc.freeze()
    try:
        async with asyncio.TaskGroup() as group:
            for target, its_requests in by_target(todo):
                pacer = Pacer(concurrency, rpm, sleep)
                group.create_task(feed(group, run, pacer, target, its_requests))
    finally:
        gc.unfreeze()
        try:
            await writer.close(writing)
        finally:
            if bar is not None:
                bar.close()
            if pool is None:
                await run.pool.aclose()
    return run.results or []


def progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="req", desc="replay")


def with_bar(bar: Any, on_result: OnResult | None) -> OnResult:
    """What to call for each written record: advance the bar (if any), showing the errors and
    the cost so far, then call `on_result`."""
    errors, cost = 0, 0.0

    def advance(record: dict[str, Any]) -> None:
        nonlocal errors, cost
        if bar is not None:
            errors += record["response"]["status"] >= 400
            cost += (record.get("ai") or {}).get("proxy", {}).get("usage", {}).get("cost") or 0.0
            bar.set_postfix_str(f"errors={errors} cost=${cost:.4f}", refresh=False)
            bar.update(1)
        if on_result is not None:
            on_result(record)

    return advance


def replay(
    requests: Sequence[ReplayRequest], targets: Sequence[Target], **options: Any
) -> list[dict[str, Any]]:
    """`areplay` for synchronous callers, Jupyter included: inside a running event loop the
    run gets its own loop in a worker thread (the notebook waits for it); else `aio.run`
    (uvloop's loop when installed)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return aio.run(areplay(requests, targets, **options))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="claude-gw-replay") as pool:
        future = pool.submit(lambda: aio.run(areplay(requests, targets, **options)))
        return future.result()
