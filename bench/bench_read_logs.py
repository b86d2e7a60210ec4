"""Benchmark `claude_gw.logs.read_logs` against pandas and polars baselines, in one run.

    python -m bench.bench_read_logs [--records 1000000] [--seed 0] [--repeat K] [--out FILE]

Generates (or reuses, under `bench/.data/`, keyed by N, seed and generator version) a data set
with `bench.gen_logs`, then runs every contender in its own subprocess (`bench.contenders`), K
times in interleaved rounds (each contender once per round), and prints one table: wall and
CPU time (the median of K), peak RSS over the interpreter + imports baseline (largest of K),
that peak divided by the input file size, speed ratios, `read_logs` beside DuckDB's
`read_ndjson` on the same columns (`bench/duck.py`: the 12 columns of an analysis, and the
whole schema; DuckDB reads the same file with `ignore_errors` and as many threads as
`read_logs`), and PASS/FAIL for each of the targets.

The baselines cannot read the generated file (`pd.read_json` stops at the first bad line;
`pl.read_ndjson` too, even with `ignore_errors`), so they read a copy without the not-JSON,
array, scalar and truncated lines (the `no_ai` records, valid JSON objects, stay): same records,
less work. `read_logs` reads the original file, bad lines and all.

Above 200k records each contender first runs on a tenth of the data (the pilot); one whose
extrapolated peak would pass the memory cap, or whose time would pass the timeout, is not run
at full size and is reported with its estimate. Every child runs under an RSS watchdog
(`--mem-cap-gb`, see `bench/child.py`; the pure pandas baseline also under RLIMIT_AS) and a
timeout, so nothing can take the machine down; hitting the cap is a result ("out of memory").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import child
from bench.contenders import duckdb_threads
from bench.gen_logs import GENERATOR_VERSION, Manifest, generate, manifest_path
from bench.report import Outcome, render_table, targets

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / ".data"
PILOT_ABOVE = 200_000
GIB = 1 << 30
OOM_SIGNS = ("memory allocation of", "MemoryError", "std::bad_alloc", "Cannot allocate memory")


@dataclass
class Contender:
    name: str  # a reader of bench.contenders
    label: str
    clean: bool  # reads the copy without bad lines
    info: bool = False  # shown, but no target depends on it
    address_cap: bool = False  # also cap its address space (pure pandas: see bench/child.py)


CONTENDERS = [
    Contender("read_logs_polars", "read_logs(engine='polars')", clean=False),
    Contender("read_logs_logged", "read_logs(cost='logged')", clean=False),
    Contender("read_logs_columns", "read_logs(columns=<the 12>, cost='logged')", clean=False),
    Contender("duckdb_columns", "duckdb read_ndjson, the 12 columns", clean=False),
    Contender("duckdb_full", "duckdb read_ndjson, every column", clean=False),
    Contender("read_logs_pandas", "read_logs(engine='pandas')", clean=False),
    Contender(
        "pandas_baseline", "pandas read_json(lines) + json_normalize", True, address_cap=True
    ),
    Contender("read_ndjson", "polars read_ndjson", clean=True),
    Contender("read_ndjson_default", "polars read_ndjson, default 100-line inference", True, True),
    Contender("read_ndjson_dirty", "polars read_ndjson(ignore_errors), dirty file", False, True),
]


@dataclass
class DataSet:
    manifest: Manifest
    dirty: Path
    clean: Path
    dirty_bytes: int
    clean_bytes: int


@dataclass
class Settings:
    records: int
    seed: int
    repeat: int
    cap_bytes: int
    timeout_s: float
    data_dir: Path
    only: list[str] = field(default_factory=list)
    pilot: bool = True


def data_set(n: int, seed: int, data_dir: Path) -> DataSet:
    """The generated file and its clean copy, made once per (n, seed, generator version)."""
    dirty = data_dir / f"claude-n{n}-s{seed}-g{GENERATOR_VERSION}.json"
    clean = dirty.with_suffix(".clean.json")
    mpath = manifest_path(dirty, 1)
    if mpath.exists() and dirty.exists() and clean.exists():
        manifest = Manifest.from_json(mpath.read_bytes())
    else:
        log(f"generating {n:,} records (seed {seed}) into {dirty} ...")
        manifest = generate(dirty, n, seed=seed)
        write_clean(dirty, clean, manifest)
        log(f"  {manifest.size / 1e6:,.1f} MB in {manifest.seconds:.1f} s")
    return DataSet(manifest, dirty, clean, dirty.stat().st_size, clean.stat().st_size)


def write_clean(dirty: Path, clean: Path, manifest: Manifest) -> None:
    """Copy `dirty` without the lines that are not JSON objects (by the manifest's numbers)."""
    drop = {n for kind, ns in manifest.bad_lines.items() if kind != "no_ai" for n in ns}
    tmp = clean.with_suffix(".tmp")
    with dirty.open("rb") as src, tmp.open("wb") as dst:
        for number, line in enumerate(src, 1):
            if number not in drop:
                dst.write(line)
    tmp.replace(clean)


def run_child(c: Contender, path: Path, settings: Settings) -> dict[str, Any]:
    """One measurement of one contender in a fresh interpreter, under the memory watchdog."""
    cmd = [sys.executable, "-m", "bench.contenders", c.name, str(path)]
    if c.address_cap:
        cmd += ["--cap", str(settings.cap_bytes)]
    done = child.run(cmd, cwd=REPO, rss_cap=settings.cap_bytes, timeout_s=settings.timeout_s)
    cap = f"out of memory: passed the {settings.cap_bytes / GIB:.0f} GB cap"
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.killed == "timeout":
        return {"ok": False, "error": f"timeout after {settings.timeout_s:.0f} s"}
    if done.returncode == 0 and lines:
        report: dict[str, Any] = orjson.loads(lines[-1])
        if report.get("oom"):
            report["error"] = cap
        return report
    oom = done.killed == "memory" or any(s in done.stderr for s in OOM_SIGNS)
    tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    return {
        "ok": False,
        "oom": oom,
        "error": cap if oom else tail[0][:300],
        "max_rss_kb": done.max_rss_bytes // 1024,
        "child_s": round(done.seconds, 1),
    }


def summarised(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by wall time (its CPU time is the median's too), every wall and CPU
    time, the largest peak; a failed run is the result."""
    failed = next((r for r in runs if not r.get("ok")), None)
    if failed is not None:
        return failed
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    median = ordered[(len(ordered) - 1) // 2]
    return {
        **median,
        "runs": len(runs),
        "walls_s": [round(r["wall_s"], 3) for r in runs],
        "cpus_s": [round(r.get("cpu_s", 0.0), 3) for r in runs],
        "cpu_s": statistics.median(r.get("cpu_s", 0.0) for r in runs),
        "peak_kb": max(r["peak_kb"] for r in runs),
        "baseline_kb": min(r["baseline_kb"] for r in runs),
    }


def pilot_verdict(report: dict[str, Any], factor: float, settings: Settings) -> str | None:
    """Why a contender should not run at full size, judged from its pilot; None if it may."""
    if not report.get("ok"):
        return f"pilot failed: {report.get('error')}"
    peak = (report["baseline_kb"] + (report["peak_kb"] - report["baseline_kb"]) * factor) * 1024
    wall = report["wall_s"] * factor
    if peak > settings.cap_bytes:
        return f"estimated peak {peak / GIB:.1f} GB > cap {settings.cap_bytes / GIB:.0f} GB"
    if wall > settings.timeout_s * 0.8:
        return f"estimated {wall:.0f} s > timeout {settings.timeout_s:.0f} s"
    return None


def measure_all(settings: Settings) -> tuple[DataSet, list[Outcome]]:
    full = data_set(settings.records, settings.seed, settings.data_dir)
    pilot_n = settings.records // 10
    pilot = settings.pilot and settings.records > PILOT_ABOVE
    small = data_set(pilot_n, settings.seed, settings.data_dir) if pilot else None
    outcomes = []
    chosen = [c for c in CONTENDERS if not settings.only or c.name in settings.only]
    for c in chosen:
        outcome = Outcome(
            c.name, c.label, c.clean, c.info, full.clean_bytes if c.clean else full.dirty_bytes
        )
        if small is not None:
            path = small.clean if c.clean else small.dirty
            log(f"pilot {c.label} on {pilot_n:,} records ...")
            outcome.pilot = run_child(c, path, settings)
            factor = settings.records / pilot_n
            outcome.skipped = pilot_verdict(outcome.pilot, factor, settings)
            if outcome.skipped and outcome.pilot.get("ok"):
                outcome.estimate = {
                    "wall_s": outcome.pilot["wall_s"] * factor,
                    "net_kb": (outcome.pilot["peak_kb"] - outcome.pilot["baseline_kb"]) * factor,
                }
        outcomes.append(outcome)
    runs: dict[str, list[dict[str, Any]]] = {o.name: [] for o in outcomes if o.skipped is None}
    # Rounds: every contender once per round, so that a change in the machine's load hits all.
    for round_ in range(settings.repeat):
        for c in chosen:
            done = runs.get(c.name)
            if done is None or (done and not done[-1].get("ok")):
                continue
            log(f"round {round_ + 1}/{settings.repeat}: {c.label} on {settings.records:,} ...")
            done.append(run_child(c, full.clean if c.clean else full.dirty, settings))
    for outcome in outcomes:
        if outcome.name in runs:
            outcome.result = summarised(runs[outcome.name])
        log(f"  {outcome.label} -> {outcome.summary()}")
    return full, outcomes


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for module in ("polars", "pandas", "orjson", "pyarrow", "duckdb"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            found[module] = "missing"
    return found


def machine() -> dict[str, Any]:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem / GIB, 1),
        "system": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
    }


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def parse(argv: list[str] | None) -> tuple[Settings, Path | None]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--repeat", type=int, default=0, help="runs per contender (0: 3, or 1 above 200k)"
    )
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--mem-cap-gb", type=float, default=12.0, help="RSS cap of each child")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per child")
    p.add_argument("--data-dir", type=Path, default=DATA)
    p.add_argument("--only", nargs="*", default=[], help="contender names to run")
    p.add_argument("--no-pilot", action="store_true", help="run every contender at full size")
    a = p.parse_args(argv)
    repeat = a.repeat or (3 if a.records <= PILOT_ABOVE else 1)
    settings = Settings(
        records=a.records,
        seed=a.seed,
        repeat=repeat,
        cap_bytes=int(a.mem_cap_gb * GIB),
        timeout_s=a.timeout,
        data_dir=a.data_dir,
        only=a.only,
        pilot=not a.no_pilot,
    )
    return settings, a.out


def main(argv: list[str] | None = None) -> int:
    settings, out = parse(argv)
    load_before = machine()["load_average"]
    data, outcomes = measure_all(settings)
    verdicts = targets(outcomes)
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "records": settings.records,
        "seed": settings.seed,
        "repeat": settings.repeat,
        "dirty_bytes": data.dirty_bytes,
        "clean_bytes": data.clean_bytes,
        "bad_lines": {k: len(v) for k, v in data.manifest.bad_lines.items()},
        "shapes": data.manifest.shapes,
        "machine": {**machine(), "load_average_before": load_before},
        "versions": versions(),
        "mem_cap_gb": settings.cap_bytes / GIB,
        "threads": duckdb_threads(),
    }
    sys.stdout.write(render_table(header, outcomes, verdicts) + "\n")
    if out is not None:
        doc = {**header, "results": [asdict(o) for o in outcomes], "targets": verdicts}
        out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
