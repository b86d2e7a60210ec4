"""Gateway speed: requests straight to a fake upstream (the floor), through `claude-gw serve`,
and through LiteLLM's proxy, in one run on this machine.

    python -m bench.gateway [--quick] [--out results.json] [--no-litellm] [--baseline TREE]

The upstream is bench/fake_openai.py, a TEST DOUBLE of OpenAI's Chat Completions (answers at
once, 8 content chunks when streaming). The requests are the Claude CLI's own (the bodies in
`../shared/fixtures/claude-cli/messages_*.json`, 33-78 KB, `stream` set per mode); the floor
gets the same bodies translated to OpenAI chat by claude_gw's translator. For each mode
(non-streaming, streaming) and concurrency, every contender gets its own pool of keep-alive
connections from the load generator (bench/gateway_load.py, in this process); the repetitions
alternate between contenders, so a slow moment on the shared machine hits all of them, and
while one is measured the other gateway is paused (SIGSTOP), so that its idle work does not
share the measured one's core; each figure is the median over the repetitions. Before all
that, on fresh processes, 256 concurrent slow streams (the double paced to ~2 s per stream)
measure each gateway's peak RSS. Cores: the
gateways on core 0, the double and this process on core 1 (`taskset`, when there are 2 or more).

Measured per run: throughput, latency p50/p99 (first byte sent to last byte received), the
time to the first streamed event, the gateway's CPU time per request (/proc utime + stime of the
process and its children), its peak RSS (VmHWM, reset before every run); derived: latency added
over the floor, and every figure's ratio to LiteLLM's. With `--baseline TREE` (another checkout
of claude_gw, e.g. `git archive REV | tar -x -C TREE`), a second claude-gw served from that
tree joins every cell, alternated and paused like the others, and a last table gives each
claude-gw figure's ratio to the baseline's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import gateway_litellm, gateway_report
from bench.gateway_load import Pool, Run, Target, build_request, percentile
from bench.gateway_procs import (
    Service,
    cpu_seconds,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    start_claude_gw,
    start_fake_upstream,
)
from bench.gateway_report import BASELINE, FLOOR, GATEWAY, LITELLM, MODES
from claude_gw.apis import CHAT, OPENAI_URL
from claude_gw.translate.models import target_for
from claude_gw.translate.profiles import choose_profile
from claude_gw.translate.web_search import is_search_request

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "claude-cli"
MODEL = "gpt-5-mini"
DROPPED_HEADERS = {"host", "content-length", "connection", "accept-encoding", "x-api-key"}
HOLD_PACING = {"chunks": 20, "chunk_interval": 0.1}  # ~2.2 s per stream in the RSS phase


@dataclass(frozen=True)
class Plan:
    concurrency: tuple[int, ...] = (1, 16, 32, 64, 256)
    duration: float = 2.0
    repeat: int = 3
    hold_streams: int = 256
    timeout: float = 120.0
    litellm: bool = True
    pin: bool = True
    quick: bool = False
    baseline: str | None = None  # a checkout of claude_gw to measure beside this one


@dataclass
class Contender:
    name: str
    service: Service
    targets: dict[str, Target]
    pools: list[Pool] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(pool.sent for pool in self.pools)


def fixture_requests() -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(headers, body) of every captured CLI Messages request, the model set to MODEL; not the
    WebSearch one, which a gateway in front of Chat Completions answers itself (unavailable)."""
    found = []
    for path in sorted(FIXTURES.glob("messages_*.json")):
        doc = json.loads(path.read_text())
        if is_search_request(doc["body"]):
            continue
        headers = {k: v for k, v in doc["headers"] if k.lower() not in DROPPED_HEADERS}
        found.append((headers, {**doc["body"], "model": MODEL}))
    if not found:
        raise FileNotFoundError(f"no messages_*.json in {FIXTURES}")
    return found


def cli_json(doc: dict[str, Any]) -> bytes:
    """The CLI's wire bytes (compact, non-ASCII kept), per the fixtures' notes."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def anthropic_target(service: Service, path: str, key: str, stream: bool) -> Target:
    requests = []
    for headers, body in fixture_requests():
        wire = cli_json({**body, "stream": stream})
        sent = {**headers, "x-api-key": key}
        requests.append(build_request("127.0.0.1", service.port, path, sent, wire))
    marker, expect = (b"event:", b"message_stop") if stream else (b"", b'"type":"message"')
    return Target("127.0.0.1", service.port, tuple(requests), expect, marker)


def floor_target(upstream: Service, stream: bool) -> Target:
    """The same requests as claude-gw sends them upstream (its own translator)."""
    requests = []
    profile = choose_profile(OPENAI_URL, None, None)
    for _, body in fixture_requests():
        doc = {**body, "stream": stream}
        chat = CHAT.request(doc, target_for(MODEL), stream=stream, profile=profile)
        headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
        wire = orjson.dumps(chat)
        requests.append(
            build_request("127.0.0.1", upstream.port, "/v1/chat/completions", headers, wire)
        )
    marker, expect = (b"data:", b"[DONE]") if stream else (b"", b'"chat.completion"')
    return Target("127.0.0.1", upstream.port, tuple(requests), expect, marker)


def gateway_contender(name: str, gateway: Service) -> Contender:
    path = "/anything/v1/messages?beta=true"
    return Contender(
        name, gateway, {m: anthropic_target(gateway, path, "x", m == MODES[1]) for m in MODES}
    )


def contenders(
    upstream: Service, gateway: Service, litellm: Service | None, baseline: Service | None = None
) -> list[Contender]:
    found = [
        Contender(FLOOR, upstream, {m: floor_target(upstream, m == MODES[1]) for m in MODES}),
        gateway_contender(GATEWAY, gateway),
    ]
    if baseline is not None:
        found.append(gateway_contender(BASELINE, baseline))
    if litellm is not None:
        key = gateway_litellm.MASTER_KEY
        targets = {
            m: anthropic_target(litellm, "/v1/messages?beta=true", key, m == MODES[1])
            for m in MODES
        }
        found.append(Contender(LITELLM, litellm, targets))
    return found


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measured_run(
    contender: Contender,
    pool: Pool,
    upstream: Service,
    plan: Plan,
    max_requests: int | None,
    field_: Sequence[Contender] = (),
) -> dict[str, Any]:
    """One bounded run with the server's CPU and peak RSS around it. The other gateways of
    `field_` are paused meanwhile (SIGSTOP, then SIGCONT): they share the measured one's core,
    and an idle LiteLLM still wakes up for its own background work."""
    pids = contender.service.pids
    idle = [c.service for c in field_ if c is not contender and c.name != FLOOR]
    with paused(idle):
        reset_peak_rss(pids)
        cpu0, up0, gen0 = cpu_seconds(pids), cpu_seconds([upstream.process.pid]), self_cpu()
        run = await pool.run(plan.duration, plan.timeout, max_requests)
        cpu1, up1, gen1 = cpu_seconds(pids), cpu_seconds([upstream.process.pid]), self_cpu()
    return summarize(run, cpu1 - cpu0, up1 - up0, gen1 - gen0, peak_rss_mb(pids))


@contextlib.contextmanager
def paused(services: Sequence[Service]) -> Iterator[None]:
    """Every process of `services` stopped (SIGSTOP) for the duration, then continued."""
    pids = [pid for service in services for pid in service.pids]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def summarize(run: Run, cpu: float, up_cpu: float, gen_cpu: float, peak: float) -> dict[str, Any]:
    latencies = [s.latency for s in run.samples]
    firsts = [s.first_event for s in run.samples if s.first_event is not None]
    n = max(1, len(run.samples))
    return {
        "requests": len(run.samples),
        "errors": run.errors,
        "wall_s": run.wall,
        "rps": len(run.samples) / run.wall if run.wall else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "first_event_p50_ms": percentile(firsts, 0.50) * 1000 if firsts else None,
        "first_event_p99_ms": percentile(firsts, 0.99) * 1000 if firsts else None,
        "cpu_ms_per_request": cpu * 1000 / n,
        "cpu_share": cpu / run.wall if run.wall else 0.0,
        "upstream_cpu_ms_per_request": up_cpu * 1000 / n,
        "generator_cpu_ms_per_request": gen_cpu * 1000 / n,
        "peak_rss_mb": peak,
        "max_in_flight": run.max_in_flight,
        "resent": run.resent,
        "open_streams_max": run.open_streams_max(),
    }


def median_of(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the repetitions (errors and requests: the sums)."""
    out: dict[str, Any] = {"repetitions": len(reps)}
    for key in reps[0]:
        values = [r[key] for r in reps if r[key] is not None]
        if key in ("errors", "requests", "resent"):
            out[key] = sum(values)
        else:
            out[key] = statistics.median(values) if values else None
    return out


async def measure_cell(
    field_: list[Contender], mode: str, concurrency: int, upstream: Service, plan: Plan
) -> dict[str, dict[str, Any]]:
    """All contenders at one (mode, concurrency): warm-up, then alternating repetitions."""
    pools = {}
    for c in field_:
        pools[c.name] = pool = await Pool.open(c.targets[mode], concurrency)
        c.pools.append(pool)
        await pool.run(3600, plan.timeout, max_requests=concurrency)  # warm-up: one each
    reps: dict[str, list[dict[str, Any]]] = {c.name: [] for c in field_}
    try:
        for _ in range(plan.repeat):
            for c in field_:
                run = await measured_run(c, pools[c.name], upstream, plan, None, field_)
                reps[c.name].append(run)
    finally:
        for pool in pools.values():
            pool.close()
    return {name: {**median_of(r), "runs": r} for name, r in reps.items()}


async def measure_hold(field_: list[Contender], upstream: Service, plan: Plan) -> dict[str, Any]:
    """`hold_streams` concurrent slow streams per gateway: peak RSS with all of them open."""
    await configure(upstream, HOLD_PACING)
    results = {}
    try:
        for c in field_:
            if c.name == FLOOR:
                continue
            pool = await Pool.open(c.targets[MODES[1]], plan.hold_streams)
            c.pools.append(pool)
            idle = rss_mb(c.service.pids)
            try:
                run = await measured_run(c, pool, upstream, plan, plan.hold_streams, field_)
            finally:
                pool.close()
            results[c.name] = {**run, "rss_before_mb": idle}
    finally:
        await configure(upstream, {"chunks": 8, "chunk_interval": 0.0})
    return results


async def configure(upstream: Service, changes: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{upstream.url}/config", json=changes, timeout=10)
        response.raise_for_status()


async def measure_all(field_: list[Contender], upstream: Service, plan: Plan) -> dict[str, Any]:
    # The RSS phase first: a process keeps the memory of its busiest moment (the allocator
    # does not give it back), so after the matrix it would show the matrix's peak instead.
    hold = await measure_hold(field_, upstream, plan)
    cells: dict[str, Any] = {}
    for mode in MODES:
        for concurrency in plan.concurrency:
            cell = await measure_cell(field_, mode, concurrency, upstream, plan)
            cells[f"{mode}/{concurrency}"] = {"mode": mode, "concurrency": concurrency, **cell}
            progress(mode, concurrency, cell)
    return {"cells": cells, "hold": hold}


def progress(mode: str, concurrency: int, cell: dict[str, dict[str, Any]]) -> None:
    parts = [f"{name} {r['rps']:.0f} req/s p50 {r['p50_ms']:.2f} ms" for name, r in cell.items()]
    print(f"[{time.strftime('%H:%M:%S')}] {mode} c={concurrency}: " + "; ".join(parts), flush=True)


def run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def cores(plan: Plan) -> tuple[int | None, int | None]:
    """(gateway core, upstream + generator core); None when not pinning."""
    if not plan.pin or (os.cpu_count() or 1) < 2:
        return None, None
    return 0, 1


def count_log_lines(path: Path) -> dict[str, int]:
    """Lines of claude-gw's log: all, those for `/v1/messages` (the benchmark's requests; the
    others are readiness probes), and those with status 200."""
    lines = messages = ok = 0
    with path.open("rb") as f:
        for line in f:
            record = orjson.loads(line)
            lines += 1
            messages += "/v1/messages" in record["request"]["uri"]
            ok += record["response"]["status"] == 200
    return {"lines": lines, "messages": messages, "status_200": ok}


def versions(litellm_version: str | None) -> dict[str, Any]:
    import uvicorn

    found: dict[str, Any] = {"python": platform.python_version(), "uvicorn": uvicorn.__version__}
    for name in ("uvloop", "httptools", "httpx", "orjson"):
        try:
            found[name] = __import__(name).__version__
        except ImportError:
            found[name] = None
    found["litellm"] = litellm_version
    return found


def benchmark(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Start everything, measure, stop everything; the whole result document."""
    gw_core, gen_core = cores(plan)
    litellm_version = gateway_litellm.ensure_venv() if plan.litellm else None
    affinity = os.sched_getaffinity(0)
    if gen_core is not None:
        os.sched_setaffinity(0, {gen_core})
    try:
        return measure_services(plan, workdir, gw_core, gen_core, litellm_version)
    finally:
        os.sched_setaffinity(0, affinity)


def measure_services(
    plan: Plan, workdir: Path, gw_core: int | None, gen_core: int | None, litellm: str | None
) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = datetime.now(UTC)
    upstream = start_fake_upstream(gen_core)
    services: list[Service] = [upstream]
    try:
        gateway = start_claude_gw(upstream, workdir / "claude.json", gw_core, MODEL)
        services.append(gateway)
        baseline = None
        if plan.baseline:
            tree = Path(plan.baseline).resolve()
            baseline = start_claude_gw(upstream, workdir / "baseline.json", gw_core, MODEL, tree)
            services.append(baseline)
        proxy = None
        if plan.litellm:
            proxy = gateway_litellm.start(upstream, workdir, gw_core, MODEL)
            services.append(proxy)
        field_ = contenders(upstream, gateway, proxy, baseline)
        results = run_loop(measure_all(field_, upstream, plan))
        sent = {c.name: c.sent for c in field_}
        gateway.stop()
        upstream_stats = httpx.get(f"{upstream.url}/stats", timeout=10).json()
    finally:
        for service in reversed(services):
            service.stop()
    log = count_log_lines(workdir / "claude.json")
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "plan": asdict(plan),
        "machine": {
            "cores": os.cpu_count(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "pinning": {"gateways": gw_core, "upstream": gen_core, "generator": gen_core},
        },
        "versions": versions(litellm),
        **results,
        "sent": sent,
        "claude_gw_log": log,
        "upstream_stats": upstream_stats,
    }


def parse(argv: Sequence[str] | None) -> tuple[Plan, Path | None]:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="concurrency 1 and 16, 0.5 s, 1 repetition")
    p.add_argument("--out", type=Path, help="write every measurement to this JSON file")
    p.add_argument("--no-litellm", action="store_true", help="floor and claude-gw only")
    p.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    p.add_argument("--concurrency", type=int, nargs="+", help="default 1 16 32 64 256")
    p.add_argument("--duration", type=float, help="seconds per run (default 2, quick 0.5)")
    p.add_argument("--repeat", type=int, help="runs per cell and contender (default 3, quick 1)")
    p.add_argument("--hold-streams", type=int, help="concurrent streams for peak RSS (256)")
    p.add_argument("--baseline", metavar="TREE", help="also serve claude_gw from this checkout")
    args = p.parse_args(argv)
    plan = Plan(
        litellm=not args.no_litellm, pin=not args.no_pin, quick=args.quick, baseline=args.baseline
    )
    if args.quick:
        plan = Plan(plan.concurrency[:2], 0.5, 1, 32, plan.timeout, plan.litellm, plan.pin, True)
        plan = Plan(**{**asdict(plan), "baseline": args.baseline})
    overrides = {
        "concurrency": tuple(args.concurrency) if args.concurrency else None,
        "duration": args.duration,
        "repeat": args.repeat,
        "hold_streams": args.hold_streams,
    }
    plan = Plan(**{**asdict(plan), **{k: v for k, v in overrides.items() if v is not None}})
    return plan, args.out


def main(argv: Sequence[str] | None = None) -> int:
    plan, out = parse(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        doc = benchmark(plan, Path(tmp))
    doc["targets"] = gateway_report.verdicts(doc)
    if out is not None:
        out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(gateway_report.render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
