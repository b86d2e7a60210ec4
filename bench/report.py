"""The benchmark's results: one `Outcome` per contender, the targets, the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB = 1e6


@dataclass
class Outcome:
    name: str
    label: str
    clean: bool  # read the copy without bad lines
    info: bool
    input_bytes: int
    result: dict[str, Any] | None = None  # the full-size measurement (bench.contenders' report)
    pilot: dict[str, Any] | None = None  # the measurement on a tenth of the data
    skipped: str | None = None  # why it did not run at full size
    estimate: dict[str, float] | None = None  # extrapolated from the pilot when skipped

    @property
    def ok(self) -> bool:
        return bool(self.result and self.result.get("ok"))

    def wall(self) -> tuple[float, bool] | None:
        """(seconds, estimated?) or None when neither measured nor estimated."""
        if self.ok:
            assert self.result is not None
            return float(self.result["wall_s"]), False
        if self.estimate:
            return self.estimate["wall_s"], True
        return None

    def net_bytes(self) -> tuple[float, bool] | None:
        """Peak RSS minus the interpreter + imports baseline, in bytes."""
        if self.ok:
            assert self.result is not None
            return (self.result["peak_kb"] - self.result["baseline_kb"]) * 1024.0, False
        if self.estimate:
            return self.estimate["net_kb"] * 1024.0, True
        return None

    def failure(self) -> str:
        if self.skipped:
            return f"not run: {self.skipped}"
        return str((self.result or {}).get("error", "not run"))

    def summary(self) -> str:
        wall, net = self.wall(), self.net_bytes()
        if wall is None or net is None:
            return self.failure()
        mark = " (est.)" if wall[1] else ""
        runs = (self.result or {}).get("walls_s")
        spread = f" (runs {runs})" if runs else ""
        return f"{wall[0]:.2f} s, +{net[0] / MB:,.0f} MB{mark}{spread}"


# (read_logs contender, DuckDB contender, the columns both extract)
DUCKDB_PAIRS = (
    ("read_logs_columns", "duckdb_columns", "the 12 columns"),
    ("read_logs_logged", "duckdb_full", "every column"),
)


def cpu(outcome: Outcome | None) -> float | None:
    """CPU seconds (all threads) of the median run, when measured."""
    if outcome is None or not outcome.ok:
        return None
    assert outcome.result is not None
    value = outcome.result.get("cpu_s")
    return float(value) if value is not None else None


def duckdb_rows(outcomes: list[Outcome]) -> list[str]:
    """read_logs beside DuckDB on the same columns: wall and CPU time, and their ratios."""
    o = by_name(outcomes)
    rows = []
    for mine, theirs, what in DUCKDB_PAIRS:
        a, b = o.get(mine), o.get(theirs)
        if a is None or b is None:
            continue
        wa, wb, ca, cb = a.wall(), b.wall(), cpu(a), cpu(b)
        walls = ratio(a, b)
        cpus = ca / cb if ca is not None and cb else None
        cells = [
            what,
            cell(wa, ".2f"),
            cell(wb, ".2f"),
            cell(walls, ".2f") + "x" if walls else "-",
            f"{ca:.2f}" if ca is not None else "-",
            f"{cb:.2f}" if cb is not None else "-",
            f"{cpus:.2f}x" if cpus is not None else "-",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "",
        "| columns | read_logs wall s | DuckDB wall s | time / DuckDB's | read_logs CPU s | "
        "DuckDB CPU s | CPU / DuckDB's |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def by_name(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.name: o for o in outcomes}


def ratio(slow: Outcome | None, fast: Outcome | None) -> tuple[float, bool] | None:
    """slow.wall / fast.wall, and whether either side is an estimate."""
    a, b = (slow.wall() if slow else None), (fast.wall() if fast else None)
    if a is None or b is None or b[0] <= 0:
        return None
    return a[0] / b[0], a[1] or b[1]


def verdict(value: tuple[float, bool] | None, ok: bool, missing: str) -> dict[str, Any]:
    if value is None:
        return {"value": None, "verdict": f"n/a ({missing})"}
    word = "PASS" if ok else "FAIL"
    return {"value": round(value[0], 2), "verdict": word + (" (est.)" if value[1] else "")}


def targets(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The targets, each with its measured value and PASS / FAIL."""
    o = by_name(outcomes)
    pl, pd = o.get("read_logs_polars"), o.get("read_logs_pandas")
    base, raw = o.get("pandas_baseline"), o.get("read_ndjson")
    rows = []
    speed = ratio(base, pl)
    rows.append(
        (
            "polars engine >= 10x faster than the pandas baseline (x)",
            speed,
            speed is not None and speed[0] >= 10,
            "no timing",
        )
    )
    near = ratio(pl, raw)
    rows.append(
        (
            "polars engine within 1.5x of read_ndjson (time / read_ndjson)",
            near,
            near is not None and near[0] <= 1.5,
            "no timing",
        )
    )
    speed = ratio(base, pd)
    rows.append(
        (
            "pandas engine >= 3x faster than the pandas baseline (x)",
            speed,
            speed is not None and speed[0] >= 3,
            "no timing",
        )
    )
    for mine, theirs, what in DUCKDB_PAIRS:
        near = ratio(o.get(mine), o.get(theirs))
        rows.append(
            (
                f"{what}: read_logs no slower than DuckDB (time / DuckDB's)",
                near,
                near is not None and near[0] <= 1.0,
                "no timing",
            )
        )
    for engine in (pl, pd):
        if engine is None:
            continue
        net = engine.net_bytes()
        per_file = (net[0] / engine.input_bytes, net[1]) if net else None
        rows.append(
            (
                f"{engine.label}: peak memory < 3x file size (net RSS / file)",
                per_file,
                per_file is not None and per_file[0] < 3,
                engine.failure(),
            )
        )
    return [{"target": name, **verdict(value, ok, why)} for name, value, ok, why in rows]


def cell(value: tuple[float, bool] | None, fmt: str) -> str:
    if value is None:
        return "-"
    return ("~" if value[1] else "") + format(value[0], fmt)


def contender_row(c: Outcome, base: Outcome | None, raw: Outcome | None) -> str:
    wall, net = c.wall(), c.net_bytes()
    baseline = (c.result or c.pilot or {}).get("baseline_kb")
    if wall is None or net is None:
        note = c.failure().replace("|", "/")[:90]
        return f"| {c.label} | {c.input_bytes / MB:,.0f} | {note} | | | | | | | |"
    peak = (net[0] + (baseline or 0) * 1024.0, net[1])
    per_file = (net[0] / c.input_bytes, net[1])
    rows = (c.result or {}).get("rows", "~" if c.estimate else "")
    used = cpu(c)
    cells = [
        c.label,
        f"{c.input_bytes / MB:,.0f}",
        cell(wall, ".2f"),
        f"{used:.2f}" if used is not None else "-",
        cell((net[0] / MB, net[1]), ",.0f"),
        cell((peak[0] / MB, peak[1]), ",.0f"),
        cell(per_file, ".2f"),
        cell(ratio(base, c), ".1f") + "x" if base and c is not base else "1x" if c is base else "-",
        cell(ratio(c, raw), ".2f") + "x" if raw and c is not raw else "1x" if c is raw else "-",
        str(rows),
    ]
    return "| " + " | ".join(cells) + " |"


def render_table(
    header: dict[str, Any], outcomes: list[Outcome], verdicts: list[dict[str, Any]]
) -> str:
    o = by_name(outcomes)
    base, raw = o.get("pandas_baseline"), o.get("read_ndjson")
    v, m = header["versions"], header["machine"]
    lines = [
        f"read_logs benchmark, {header['date']}: {header['records']:,} lines "
        f"(seed {header['seed']}), file {header['dirty_bytes'] / MB:,.0f} MB "
        f"({header['clean_bytes'] / MB:,.0f} MB without bad lines), "
        f"bad lines {header['bad_lines']}",
        f"machine: {m['cores']} cores, {m['memory_gb']} GiB, load average "
        f"{m['load_average_before'][0]} before / {m['load_average'][0]} after; "
        f"python {v['python']}, "
        f"polars {v['polars']}, pandas {v['pandas']}, pyarrow {v['pyarrow']}; "
        f"median of {header['repeat']} interleaved run(s); "
        f"{header.get('threads', '?')} threads for read_logs and DuckDB; "
        f"RSS cap {header['mem_cap_gb']:.0f} GB per contender",
        "",
        "| contender | input MB | wall s | CPU s | peak RSS MB (net) | peak RSS MB (total) | "
        "net / file | faster than pandas baseline | time vs read_ndjson | rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(contender_row(c, base, raw) for c in outcomes),
        *duckdb_rows(outcomes),
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
        *(
            f"| {t['target']} | {t['value'] if t['value'] is not None else '-'} | {t['verdict']} |"
            for t in verdicts
        ),
    ]
    notes = [f"- {c.label}: {c.skipped}" for c in outcomes if c.skipped]
    if notes:
        lines += ["", "Estimated (~) from a run on a tenth of the data:", *notes]
    return "\n".join(lines)
