"""Benchmark the replay engine's throughput and CPU cost against a fake upstream.

    python -m bench.bench_replay [--requests 10000] [--concurrency 64] [--delay 0.020] [--out FILE]

Starts `bench.replay_upstream` (a fake OpenAI chat upstream, a test double answering every
request after `delay` seconds) in ANOTHER process on 127.0.0.1, then replays N distinct small
Anthropic requests on one `chat` target with `claude_gw.replay.areplay` in this process, as
`claude-gw replay` runs it: requests de-duplicated and estimated first (not timed), then the
runner's own session, cache off, records appended to a temporary file and not kept in memory,
on uvloop; the runner pinned to one core and the upstream to another. Measured (median of
`--repeat` runs): wall time of the `areplay` call; throughput N / wall; the ideal, concurrency /
delay (every slot busy all the time); their ratio (the target: at least 0.80); this process's CPU
time (getrusage RUSAGE_SELF, user + sys, over the call only) per request; the upstream's CPU
time (from /proc) over the same call. `--profile FILE` runs the call under cProfile instead
(slower: profile numbers are for finding what dominates, not for the table). Variants that
locate the cost: `--plain CLIENT` (bare POSTs through one HTTP client, no areplay: that
client's own ceiling; CLIENT is aiohttp, the runner's, or httpx, openai or openai-aiohttp),
`--no-output` (areplay
with no result file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import platform
import pstats
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

from claude_gw import aio
from claude_gw.replay import ReplayRequest, Target, areplay, dedupe, estimate
from claude_gw.replay.send import upstream_body

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.80
STARTUP_TIMEOUT_S = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    """One run's measurements (see the module docstring); `ratio` = throughput / ideal."""

    requests: int
    concurrency: int
    delay_s: float
    wall_s: float
    throughput_rps: float
    ideal_rps: float
    ratio: float
    verdict: str
    runner_cpu_s: float
    runner_cpu_ms_per_request: float
    runner_cpu_share: float  # runner CPU seconds per wall second (1.0 = one core busy)
    upstream_cpu_s: float
    upstream_cpu_ms_per_request: float
    ok_records: int
    error_records: int
    upstream_calls: int
    output_bytes: int


@dataclass(frozen=True)
class Settings:
    requests: int = 10_000
    concurrency: int = 64
    delay: float = 0.020
    plain: str | None = None  # an HTTP client's bare ceiling (PLAIN_CLIENTS) instead of areplay
    pin: bool = True  # runner on one core, upstream on another (when there are two)
    write_output: bool = True  # False: areplay with output=None (no result file)
    profile: Path | None = None


@dataclass
class Upstream:
    process: subprocess.Popen[bytes]
    base_url: str

    def cpu_s(self) -> float:
        """User + system CPU seconds the upstream process has used so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def calls(self) -> int:
        return int(httpx.get(f"{self.base_url}/stats", timeout=5.0).json()["calls"])


def cores_for(pin: bool) -> tuple[set[int], set[int]] | None:
    """(runner cores, upstream cores): two different cores this process may use, or None
    (no pinning asked, or fewer than two cores)."""
    allowed = sorted(os.sched_getaffinity(0))
    if not pin or len(allowed) < 2:
        return None
    return {allowed[0]}, {allowed[1]}


@contextlib.contextmanager
def upstream_process(delay: float, cores: set[int] | None = None) -> Iterator[Upstream]:
    """The fake upstream in a child process (on `cores`, if given), ready to answer;
    terminated on exit."""
    cmd = [sys.executable, "-m", "bench.replay_upstream", "--delay", str(delay)]
    process = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE)
    if cores:
        os.sched_setaffinity(process.pid, cores)
    try:
        port = read_port(process)
        upstream = Upstream(process, f"http://127.0.0.1:{port}")
        wait_ready(upstream)
        yield upstream
    finally:
        process.terminate()
        try:
            process.wait(5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)
        if process.stdout is not None:
            process.stdout.close()


def read_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT_S)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("PORT "):
        raise RuntimeError(f"the fake upstream did not start (said {line!r})")
    return int(line.split()[1])


def wait_ready(upstream: Upstream) -> None:
    """Poll /stats until uvicorn listens (the port is bound before it accepts)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            upstream.calls()
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or upstream.process.poll() is not None:
                raise RuntimeError("the fake upstream never answered /stats") from None
            time.sleep(0.05)


def make_requests(n: int) -> list[ReplayRequest]:
    """N distinct small Anthropic Messages requests (distinct bodies, distinct source ids)."""
    return [
        ReplayRequest(
            source_id=f"bench-{i}",
            body={
                "model": "claude-sonnet-4-5",
                "max_tokens": 64,
                "system": "You are a benchmark. Answer briefly.",
                "messages": [{"role": "user", "content": f"Request {i}: say ok."}],
            },
        )
        for i in range(n)
    ]


def cpu_self_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_replay(
    requests: list[ReplayRequest], target: Target, output: Path, settings: Settings
) -> list[dict[str, Any]]:
    # as the CLI runs it: records go to the file and to the callback, none kept in memory
    statuses: list[dict[str, Any]] = []
    await areplay(
        requests,
        [target],
        output=output if settings.write_output else None,
        concurrency=settings.concurrency,
        keep=False,
        on_result=lambda record: statuses.append({"response": record["response"]}),
    )
    return statuses


PLAIN_CLIENTS = ("aiohttp", "httpx", "openai", "openai-aiohttp")


async def run_plain(
    requests: list[ReplayRequest], target: Target, output: Path, settings: Settings
) -> list[dict[str, Any]]:
    """An HTTP client's own ceiling: the same requests POSTed through it alone (same
    concurrency; no translation, no records, no file). `aiohttp` a session with no
    connection cap (the runner's pool has none); `httpx` an AsyncClient with no connection
    cap (the gateway's settings); `openai` / `openai-aiohttp` the official SDK (its default
    httpx client / its aiohttp one), raw responses, so its models do not parse them."""
    url = f"{target.base_url}/chat/completions"
    slots = asyncio.Semaphore(settings.concurrency)
    statuses: list[dict[str, Any]] = []
    bodies = [upstream_body(target, request.body) for request in requests]
    async with plain_sender(settings.plain or "aiohttp", url) as send:

        async def one(body: dict[str, Any]) -> None:
            async with slots:
                statuses.append({"response": {"status": await send(body)}})

        async with asyncio.TaskGroup() as group:
            for body in bodies:
                group.create_task(one(body))
    return statuses


@contextlib.asynccontextmanager
async def plain_sender(client: str, url: str) -> AsyncIterator[Any]:
    """`send(body) -> status` through `client`, for `run_plain`."""
    headers = {"content-type": "application/json"}
    if client == "aiohttp":
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def send_aiohttp(body: dict[str, Any]) -> int:
                async with session.post(url, data=orjson.dumps(body), headers=headers) as r:
                    orjson.loads(await r.read())
                    return r.status

            yield send_aiohttp
    elif client == "httpx":
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=300.0) as http:

            async def send_httpx(body: dict[str, Any]) -> int:
                r = await http.post(url, content=orjson.dumps(body), headers=headers)
                orjson.loads(r.content)
                status: int = r.status_code
                return status

            yield send_httpx
    else:
        import openai

        http_client = openai.DefaultAioHttpClient() if client == "openai-aiohttp" else None
        base_url = url.removesuffix("/chat/completions")
        sdk = openai.AsyncOpenAI(
            api_key="unused", base_url=base_url, http_client=http_client, max_retries=0
        )
        async with sdk:

            async def send_openai(body: dict[str, Any]) -> int:
                r = await sdk.chat.completions.with_raw_response.create(**body)
                orjson.loads(r.content)
                status: int = r.status_code
                return status

            yield send_openai


@contextlib.contextmanager
def pinned(cores: set[int] | None) -> Iterator[None]:
    """This process on `cores` (if given) for the duration; its old affinity after."""
    before = os.sched_getaffinity(0)
    if cores:
        os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def measure(settings: Settings) -> Result:
    """Start the upstream, send N requests through it, and measure (see the docstring)."""
    requests = make_requests(settings.requests)
    run = run_plain if settings.plain else run_replay
    cores = cores_for(settings.pin)
    with (
        upstream_process(settings.delay, cores[1] if cores else None) as upstream,
        tempfile.TemporaryDirectory() as tmp,
        pinned(cores[0] if cores else None),
    ):
        target = Target("bench", kind="chat", base_url=f"{upstream.base_url}/v1", api_key_env="")
        output = Path(tmp) / "replay.json"
        # what `claude-gw replay` does before the run, outside the measurement: de-duplicate
        # (hashing each request) and estimate (loading the tokenizer and the price table)
        requests = dedupe(requests)
        estimate(requests, [target])
        profiler = cProfile.Profile() if settings.profile else None
        cpu0, up0, t0 = cpu_self_s(), upstream.cpu_s(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        records = aio.run(run(requests, target, output, settings))
        if profiler is not None:
            profiler.disable()
        wall, cpu, up_cpu = time.perf_counter() - t0, cpu_self_s() - cpu0, upstream.cpu_s() - up0
        calls, size = upstream.calls(), output.stat().st_size if output.exists() else 0
    if profiler is not None and settings.profile is not None:
        profiler.dump_stats(settings.profile)
    n, c, d = settings.requests, settings.concurrency, settings.delay
    return result_of(n, c, d, wall, cpu, up_cpu, records, calls, size)


def result_of(
    n: int,
    concurrency: int,
    delay: float,
    wall: float,
    cpu: float,
    up_cpu: float,
    records: list[dict[str, Any]],
    calls: int,
    size: int,
) -> Result:
    ok = sum(1 for r in records if r.get("response", {}).get("status") == 200)
    ideal = concurrency / delay
    throughput = n / wall
    ratio = throughput / ideal
    return Result(
        requests=n,
        concurrency=concurrency,
        delay_s=delay,
        wall_s=round(wall, 3),
        throughput_rps=round(throughput, 1),
        ideal_rps=round(ideal, 1),
        ratio=round(ratio, 3),
        verdict="PASS" if ratio >= TARGET_RATIO and ok == n else "FAIL",
        runner_cpu_s=round(cpu, 3),
        runner_cpu_ms_per_request=round(cpu / n * 1000, 3),
        runner_cpu_share=round(cpu / wall, 2),
        upstream_cpu_s=round(up_cpu, 3),
        upstream_cpu_ms_per_request=round(up_cpu / n * 1000, 3),
        ok_records=ok,
        error_records=len(records) - ok,
        upstream_calls=calls,
        output_bytes=size,
    )


def describe_pinning(cores: tuple[set[int], set[int]] | None) -> str:
    if cores is None:
        return "not pinned"
    return f"runner on core {min(cores[0])}, upstream on core {min(cores[1])}"


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
    }


def render(header: dict[str, Any], r: Result) -> str:
    """The Markdown report: a header line, the measurements, the verdict."""
    m = header["machine"]
    rows = [
        (
            "requests / concurrency / upstream delay",
            f"{r.requests:,} / {r.concurrency} / {r.delay_s * 1000:g} ms",
        ),
        ("wall time", f"{r.wall_s:.2f} s"),
        ("throughput", f"{r.throughput_rps:,.0f} req/s"),
        ("ideal (concurrency / delay)", f"{r.ideal_rps:,.0f} req/s"),
        ("throughput / ideal", f"{r.ratio:.1%} (target >= {TARGET_RATIO:.0%})"),
        (
            "runner CPU (user + sys)",
            f"{r.runner_cpu_s:.2f} s = {r.runner_cpu_ms_per_request:.3f} "
            f"ms/request ({r.runner_cpu_share:.0%} of one core)",
        ),
        (
            "fake upstream CPU",
            f"{r.upstream_cpu_s:.2f} s = {r.upstream_cpu_ms_per_request:.3f} ms/request",
        ),
        (
            "records ok / error; upstream calls",
            f"{r.ok_records:,} / {r.error_records:,}; {r.upstream_calls:,}",
        ),
        ("output file", f"{r.output_bytes / 1e6:,.1f} MB"),
    ]
    lines = [
        f"replay benchmark ({header['runner']}, result file {header['output_file']}, "
        f"{header['pinned']}, median of {len(header['runs'])} runs), {header['date']}: "
        f"machine {m['cores']} cores, {m['system']}, "
        f"python {m['python']}, httpx {m['httpx']}, load average {header['load_before']} "
        f"before / {m['load_average']} after",
        "",
        "| measure | value |",
        "|---|---:|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"**{r.verdict}**: throughput {r.ratio:.1%} of ideal, target {TARGET_RATIO:.0%}"
        + ("" if r.error_records == 0 else f"; {r.error_records} error records"),
    ]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> tuple[Settings, Path | None, int]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--delay", type=float, default=0.020, help="upstream answer delay, seconds")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument(
        "--repeat", type=int, default=3, help="runs; the report is the median run's (default 3)"
    )
    p.add_argument("--profile", type=Path, help="run under cProfile, dump the stats here")
    p.add_argument(
        "--plain",
        choices=PLAIN_CLIENTS,
        help="baseline: bare POSTs through this HTTP client, no areplay",
    )
    p.add_argument("--no-output", action="store_true", help="areplay without a result file")
    p.add_argument(
        "--no-pin", action="store_true", help="leave the runner and the upstream unpinned"
    )
    a = p.parse_args(argv)
    settings = Settings(
        requests=a.requests,
        concurrency=a.concurrency,
        delay=a.delay,
        plain=a.plain,
        pin=not a.no_pin,
        write_output=not a.no_output,
        profile=a.profile,
    )
    return settings, a.out, max(1, a.repeat)


def median_run(results: list[Result]) -> Result:
    """The run of median throughput (the lower middle one for an even count)."""
    ranked = sorted(results, key=lambda r: r.throughput_rps)
    return ranked[(len(ranked) - 1) // 2]


def run_lines(results: list[Result]) -> str:
    """One line per run, for the report: throughput, ratio and CPU of each."""
    return "\n".join(
        f"run {i}: {r.throughput_rps:,.0f} req/s = {r.ratio:.1%} of ideal, runner "
        f"{r.runner_cpu_ms_per_request:.3f} ms CPU/request ({r.runner_cpu_share:.0%} of a core)"
        for i, r in enumerate(results, 1)
    )


def main(argv: list[str] | None = None) -> int:
    """Run, print the report (and the profile's top entries), write `--out`; 0 unless
    the run itself broke (a missed target is a result, not an error)."""
    settings, out, repeat = parse(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = [measure(settings) for _ in range(1 if settings.profile else repeat)]
    result = median_run(runs)
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_before,
        "machine": machine(),
        "runner": f"plain {settings.plain} (baseline)" if settings.plain else "areplay",
        "output_file": settings.write_output and not settings.plain,
        "pinned": describe_pinning(cores_for(settings.pin)),
        "profiled": settings.profile is not None,
        "runs": [asdict(r) for r in runs],
    }
    sys.stdout.write(render(header, result) + "\n\n" + run_lines(runs) + "\n")
    if settings.profile is not None:
        stats = pstats.Stats(str(settings.profile), stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)
    if out is not None:
        out.write_bytes(orjson.dumps({**header, **asdict(result)}, option=orjson.OPT_INDENT_2))
    return 0 if all(r.upstream_calls == r.requests for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
