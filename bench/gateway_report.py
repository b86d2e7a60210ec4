"""Tables and target verdicts for the gateway benchmark's result document (bench/gateway.py).

Every claude-gw figure is printed with its ratio to LiteLLM's in the same run, `value (r x)`,
r = claude-gw / LiteLLM (above 1 for throughput is better, below 1 for the rest).
"""

from __future__ import annotations

import math
from typing import Any

FLOOR, GATEWAY, LITELLM = "direct (floor)", "claude-gw", "LiteLLM"
BASELINE = "claude-gw (baseline)"  # `--baseline TREE`: the same gateway from another checkout
MODES = ("non-streaming", "streaming")
COLUMNS = (
    "concurrency",
    "contender",
    "req/s",
    "p50 ms",
    "p99 ms",
    "added p50 ms",
    "added p99 ms",
    "first event p50 ms",
    "CPU ms/req",
    "peak RSS MB",
    "errors",
)


def number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs <= 0 or math.isnan(theirs):
        return ""
    r = ours / theirs
    return f" ({r:.1f}x)" if r >= 9.95 else f" ({r:.2f}x)"


def added(cell: dict[str, Any], name: str, key: str) -> float | None:
    """Latency `name` adds over the floor at this cell (a difference of medians)."""
    if name == FLOOR or FLOOR not in cell or name not in cell:
        return None
    ours, floor = cell[name].get(key), cell[FLOOR].get(key)
    return None if ours is None or floor is None else ours - floor


def figures(cell: dict[str, Any], name: str) -> list[float | None]:
    """The row's figures, in COLUMNS order after the first two."""
    r = cell[name]
    server = name != FLOOR  # the floor's "server" is the double itself: not a gateway figure
    return [
        r["rps"],
        r["p50_ms"],
        r["p99_ms"],
        added(cell, name, "p50_ms"),
        added(cell, name, "p99_ms"),
        r.get("first_event_p50_ms"),
        r["cpu_ms_per_request"] if server else None,
        r["peak_rss_mb"] if server else None,
    ]


def row(cell: dict[str, Any], name: str) -> str:
    ours = figures(cell, name)
    theirs = figures(cell, LITELLM) if name == GATEWAY and LITELLM in cell else [None] * len(ours)
    shown = [number(v) + ratio(v, t) for v, t in zip(ours, theirs, strict=True)]
    errors = f"{cell[name]['errors']}/{cell[name]['requests']}"
    return "| " + " | ".join([str(cell["concurrency"]), name, *shown, errors]) + " |"


def mode_table(doc: dict[str, Any], mode: str) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * 2 + "---:|" * (len(COLUMNS) - 2),
    ]
    for cell in doc["cells"].values():
        if cell["mode"] != mode:
            continue
        for name in (FLOOR, GATEWAY, BASELINE, LITELLM):
            if name in cell:
                lines.append(row(cell, name))
    return "\n".join(lines)


BASELINE_FIGURES = (
    ("req/s", "rps"),
    ("CPU ms/req", "cpu_ms_per_request"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
)


def baseline_table(doc: dict[str, Any]) -> str:
    """claude-gw against the baseline tree, cell by cell: each figure as `this / baseline`,
    with the added p50 latency of both."""
    head = ["mode", "concurrency", *(f"{label} ratio" for label, _ in BASELINE_FIGURES)]
    head += ["added p50 ms (this / baseline)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for cell in doc["cells"].values():
        if BASELINE not in cell:
            continue
        ours, base = cell[GATEWAY], cell[BASELINE]
        ratios = [
            number(ours[key] / base[key], 3) if base[key] else "-" for _, key in BASELINE_FIGURES
        ]
        add = (
            f"{number(added(cell, GATEWAY, 'p50_ms'))} / {number(added(cell, BASELINE, 'p50_ms'))}"
        )
        lines.append(
            f"| {cell['mode']} | {cell['concurrency']} | " + " | ".join([*ratios, add]) + " |"
        )
    return "\n".join(lines)


def hold_table(doc: dict[str, Any]) -> str:
    lines = [
        "| contender | streams | open at once (max) | RSS before MB | peak RSS MB | CPU ms/stream "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    hold = doc["hold"]
    for name, r in hold.items():
        theirs = hold.get(LITELLM) if name == GATEWAY else None
        peak = number(r["peak_rss_mb"], 1) + ratio(
            r["peak_rss_mb"], theirs and theirs["peak_rss_mb"]
        )
        cpu = number(r["cpu_ms_per_request"]) + ratio(
            r["cpu_ms_per_request"], theirs and theirs["cpu_ms_per_request"]
        )
        lines.append(
            f"| {name} | {r['requests']} | {r['open_streams_max']} | "
            f"{number(r['rss_before_mb'], 1)} | {peak} | {cpu} "
            f"| {r['errors']} |"
        )
    return "\n".join(lines)


def verdicts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, each with the measured value and PASS / FAIL (or n/a when not measured)."""
    cells = doc["cells"]
    found: list[dict[str, Any]] = []

    def check(label: str, value: float | None, limit: float, at_most: bool = True) -> None:
        if value is None:
            found.append({"target": label, "measured": None, "verdict": "n/a"})
            return
        passed = value <= limit if at_most else value >= limit
        found.append(
            {"target": label, "measured": round(value, 3), "verdict": "PASS" if passed else "FAIL"}
        )

    for mode in MODES:
        cell = cells.get(f"{mode}/1")
        for key, limit in (("p50_ms", 1.0), ("p99_ms", 5.0)):
            label = f"added latency {key[:3]} <= {limit:g} ms at concurrency 1, {mode} (ms)"
            check(label, added(cell, GATEWAY, key) if cell else None, limit)
    for mode in MODES:
        cell = cells.get(f"{mode}/32")
        value = None
        if cell and LITELLM in cell and cell[LITELLM]["rps"] > 0:
            value = cell[GATEWAY]["rps"] / cell[LITELLM]["rps"]
        check(f"throughput >= 10x LiteLLM's at concurrency 32, {mode} (x)", value, 10.0, False)
    cell = cells.get("streaming/1")
    check(
        "streaming adds <= 2 ms to the first event (p50, concurrency 1) (ms)",
        added(cell, GATEWAY, "first_event_p50_ms") if cell else None,
        2.0,
    )
    hold = doc["hold"].get(GATEWAY)
    streams = doc["plan"]["hold_streams"]
    check(
        f"peak RSS <= 150 MB with {streams} concurrent streams (MB)",
        hold["peak_rss_mb"] if hold else None,
        150.0,
    )
    return found


def verdict_table(doc: dict[str, Any]) -> str:
    lines = ["| target | measured | verdict |", "|---|---:|---|"]
    for v in doc["targets"]:
        lines.append(f"| {v['target']} | {number(v['measured'])} | {v['verdict']} |")
    return "\n".join(lines)


def header(doc: dict[str, Any]) -> str:
    m, v, plan = doc["machine"], doc["versions"], doc["plan"]
    pins = m["pinning"]
    pinning = (
        f"gateways on core {pins['gateways']}, fake upstream and load generator on core "
        f"{pins['upstream']}"
        if pins["gateways"] is not None
        else "no pinning"
    )
    return (
        f"gateway benchmark, {doc['date']}: {m['cores']} cores, load average "
        f"{m['load_before']} before / {m['load_after']} after; {pinning}\n"
        f"python {v['python']}, uvicorn {v['uvicorn']}, uvloop {v['uvloop']}, httptools "
        f"{v['httptools']}, httpx {v['httpx']}, litellm {v['litellm']}; "
        f"{plan['duration']:g} s per run, median of {plan['repeat']} run(s), concurrency "
        f"{', '.join(map(str, plan['concurrency']))}"
    )


def render(doc: dict[str, Any]) -> str:
    log = doc["claude_gw_log"]
    sent = doc["sent"].get(GATEWAY, 0)
    lost = "none lost" if log["messages"] == sent else f"MISMATCH: {sent - log['messages']} missing"
    parts = [header(doc)]
    for mode in MODES:
        parts += [f"\n{mode}\n", mode_table(doc, mode)]
    parts += [
        "\npeak RSS with concurrent slow streams\n",
        hold_table(doc),
        "\ntargets\n",
        verdict_table(doc),
        f"\nclaude-gw log: {log['messages']} /v1/messages lines for {sent} requests sent "
        f"({lost}), {log['status_200']} with status 200; {log['lines']} lines in all",
    ]
    if doc["plan"].get("baseline"):
        parts += [f"\nclaude-gw against the baseline ({doc['plan']['baseline']})\n"]
        parts += [baseline_table(doc)]
    return "\n".join(parts)
