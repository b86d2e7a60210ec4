"""The session view of a long session: how long `claude-gw view` takes and how big its page is.

    python -m bench.view [--turns 300] [--body-kb 500] [--repeat 3] [--dir DIR] [--no-browser]

Writes a synthetic claude_gw log (records shaped as the gateway writes them, payloads
included) of one session of `--turns` turns whose main requests are each `--body-kb` KB or
more, as a long Claude CLI session's are: a system prompt of 3 blocks (its billing-header block
changing every turn), 20 tools, a conversation that starts with a large file read and gains one
tool round trip per turn (with the CLI's `cache_control` marker moving to the newest message);
every fifth turn is a subagent's (its own short conversation). Then, `--repeat` times, in this
process: `claude_gw.view.write_view` of the log (read, turns, changes, page), wall and CPU time.
Printed side by side: the log's size, the page's size, and the size the page would have if it
kept every request whole (the sum of the payloads), with their ratios; the median times; and,
with Debian's chromium installed (unless `--no-browser`), how long it takes to load the page
and to open the last turn.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from claude_gw.view import write_view

SESSION = "5b1d0a44-7f0e-4c55-9e61-3c2f9a0e8d17"
MAIN_MODEL, SUB_MODEL = "gpt-5-mini", "gpt-5-nano"


def text(n: int, seed: int) -> str:
    """`n` characters of words, different for every seed."""
    words = [f"w{seed}x{i % 97}" for i in range(n // 6 + 1)]
    return " ".join(words)[:n]


def tools() -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {"command": {"type": "string"}}}
    return [
        {"name": f"Tool{i}", "description": text(1500, 1000 + i), "input_schema": schema}
        for i in range(20)
    ]


def system(turn: int) -> list[dict[str, Any]]:
    billing = f"x-anthropic-billing-header: cc_version=2.1.332; cch={turn:05x};"
    return [
        {"type": "text", "text": billing},
        {"type": "text", "text": text(4000, 1)},
        {"type": "text", "text": text(11000, 2), "cache_control": {"type": "ephemeral"}},
    ]


def round_trip(turn: int) -> list[dict[str, Any]]:
    call_id = f"toolu_{turn:04d}"
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": call_id, "name": "Tool0", "input": {"command": "ls"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": text(300, turn)}
            ],
        },
    ]


def marked(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with the CLI's cache marker on the newest one only."""
    out = [dict(m) for m in messages]
    last = out[-1]
    blocks = [dict(b) for b in last["content"]]
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    out[-1] = {**last, "content": blocks}
    return out


def record(turn: int, request: dict[str, Any], agent: str | None, started: int) -> dict[str, Any]:
    answer = {
        "id": f"msg_{turn}",
        "type": "message",
        "role": "assistant",
        "model": request["model"],
        "content": round_trip(turn + 1)[0]["content"],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1000, "output_tokens": 50},
    }
    return {
        "request": {"id": f"{turn:032x}", "uri": "/v1/messages", "method": "POST"},
        "response": {"status": 200},
        "started_at": started,
        "ai": {
            "proxy": {
                "meta": {
                    "provider_name": "openai",
                    "request_model": request["model"],
                    "response_model": request["model"],
                    "llm_latency": 2000,
                },
                "usage": {
                    "prompt_tokens": 120_000,
                    "completion_tokens": 50,
                    "cost": 0.03,
                    "time_to_first_token": 900,
                    "prompt_tokens_details": {"cached_tokens": 100_000},
                    "completion_tokens_details": {"reasoning_tokens": 20},
                },
                "payload": {"request": json.dumps(request), "response": json.dumps(answer)},
            }
        },
        "claude_gw": {
            "session_id": SESSION,
            "agent_id": agent,
            "client_model": request["model"],
            "stop_reason": "tool_use",
            "tool_calls": 1,
            "cost_source": "genai-prices",
            "endpoint": "messages",
            "capture": "long-session",
        },
    }


def write_log(path: Path, turns: int, body_kb: int) -> int:
    """The synthetic session (see the module); the bytes of all payload requests."""
    kit = tools()
    history: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "read the big file"}]},
        *round_trip(0),
    ]
    fixed = len(json.dumps({"system": system(0), "tools": kit, "messages": history}))
    history[-1]["content"][0]["content"] = text(max(body_kb * 1000 - fixed, 0), 7)
    payloads = 0
    with path.open("w") as out:
        for turn in range(1, turns + 1):
            if turn % 5 == 0:
                asked = [{"role": "user", "content": [{"type": "text", "text": text(2000, turn)}]}]
                request = {"model": SUB_MODEL, "system": system(turn), "tools": kit[:5]}
                line = record(turn, {**request, "messages": asked}, f"{turn:016x}", turn * 3000)
            else:
                history += round_trip(turn)
                request = {"model": MAIN_MODEL, "system": system(turn), "tools": kit}
                line = record(turn, {**request, "messages": marked(history)}, None, turn * 3000)
            payloads += len(line["ai"]["proxy"]["payload"]["request"])
            out.write(json.dumps(line) + "\n")
    return payloads


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    turns: int, body_kb: int, repeat: int, directory: Path, *, browser: bool = False
) -> dict[str, Any]:
    log, page = directory / "claude.json", directory / "session.html"
    payloads = write_log(log, turns, body_kb)
    walls, cpus = [], []
    for _ in range(repeat):
        wall0, cpu0 = time.perf_counter(), cpu()
        (session,) = write_view(log, page)
        walls.append(time.perf_counter() - wall0)
        cpus.append(cpu() - cpu0)
    assert len(session.turns) == turns
    found = {
        "turns": turns,
        "log_mb": log.stat().st_size / 1e6,
        "payload_mb": payloads / 1e6,
        "page_mb": page.stat().st_size / 1e6,
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "last_request_kb": len(
            json.loads(log.read_text().splitlines()[-2])["ai"]["proxy"]["payload"]["request"]
        )
        / 1000,
    }
    if browser and CHROMIUM.exists():
        found |= browser_times(page, f"0-{turns - 1}", repeat)
    return found


CHROMIUM = Path("/usr/bin/chromium")


def browser_times(page: Path, last: str, repeat: int) -> dict[str, float]:
    """Median seconds for Debian's chromium (headless, via Playwright) to load the page and to
    open its last turn (the turn whose detail is the largest)."""
    from playwright.sync_api import sync_playwright

    loads, opens = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(repeat):
                tab = browser.new_page()
                start = time.perf_counter()
                tab.goto(page.as_uri(), wait_until="load")
                loaded = time.perf_counter()
                tab.click(f'tr[data-turn="{last}"]')
                tab.wait_for_selector("tr.detail-row")
                opens.append(time.perf_counter() - loaded)
                loads.append(loaded - start)
                tab.close()
        finally:
            browser.close()
    return {"load_s": statistics.median(loads), "open_s": statistics.median(opens)}


def report(result: dict[str, Any]) -> str:
    page, payload, log = result["page_mb"], result["payload_mb"], result["log_mb"]
    return "\n".join(
        [
            f"session view, {result['turns']} turns, last main request "
            f"{result['last_request_kb']:.0f} KB (python {sys.version.split()[0]})",
            "",
            "| what | MB | page / it |",
            "|---|---:|---:|",
            f"| the log | {log:.1f} | {page / log:.4f} |",
            f"| every request whole (sum of payloads) | {payload:.1f} | {page / payload:.4f} |",
            f"| the page | {page:.2f} | 1 |",
            "",
            f"write_view: {result['wall_s']:.2f} s wall, {result['cpu_s']:.2f} s CPU (median)",
            *(
                [
                    f"chromium: page loaded in {result['load_s']:.2f} s, the last turn opened in "
                    f"{result['open_s']:.2f} s (median)"
                ]
                if "load_s" in result
                else []
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=300, help="turns in the session")
    parser.add_argument("--body-kb", type=int, default=500, help="size of each main request")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (the median is shown)")
    parser.add_argument("--dir", type=Path, help="keep the log and the page here")
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the chromium load and open times"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="view-bench-") as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        found = run(args.turns, args.body_kb, args.repeat, directory, browser=not args.no_browser)
        print(report(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
