"""The session view in a real browser (Debian's chromium driven by Playwright, as the report's
test does): written by `claude-gw view`, opened from its file, every turn opened by a click.
The page must log no console error, fetch nothing but itself, and show in each turn what the
raw JSON lines of the log say (read here with the standard library)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claude_gw.analysis import formats
from claude_gw.cli import main
from tests.browser import opened

DATA = Path(__file__).resolve().parents[2] / "data"
SESSIONS = DATA / "claude_gw-sessions.json"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def open_every_turn(page_path: Path) -> dict[str, Any]:
    """Rows, each turn's opened detail text, console problems and the URLs fetched."""
    with opened(page_path.as_uri(), width=1400) as (page, watched):
        keys = page.eval_on_selector_all("tr.turn", "rows => rows.map(r => r.dataset.turn)")
        rows = page.eval_on_selector_all(
            "tr.turn", "rows => rows.map(r => [...r.children].map(c => c.innerText))"
        )
        details = {}
        for key in keys:
            page.click(f'tr[data-turn="{key}"]')
            details[key] = page.locator(f'tr[data-turn="{key}"] + tr.detail-row').inner_text()
        page.click(f'tr[data-turn="{keys[0]}"]')  # a second click folds it away
        folded = page.locator(f'tr[data-turn="{keys[0]}"] + tr.detail-row').count()
        owned = page.evaluate("window.owned")  # set only if markup from the log ran
    return {
        "keys": keys,
        "rows": rows,
        "details": details,
        "problems": watched.problems,
        "requested": watched.requested,
        "folded": folded,
        "owned": owned,
    }


def test_every_turn_opens_with_its_request_answer_and_replays(tmp_path):
    out = tmp_path / "session.html"
    assert main(["view", str(SESSIONS), str(DATA / "replay.json"), "-o", str(out)]) == 0
    seen = open_every_turn(out)
    assert seen["problems"] == []
    assert seen["requested"] == [out.as_uri()]
    assert seen["folded"] == 0
    records = lines(SESSIONS)
    replays = lines(DATA / "replay.json")
    assert len(seen["rows"]) == len(records)
    by_capture: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["started_at"]):
        by_capture.setdefault(record["claude_gw"]["capture"], []).append(record)
    ordered = [r for group in by_capture.values() for r in group]
    for key, row, record in zip(seen["keys"], seen["rows"], ordered, strict=True):
        usage = record["ai"]["proxy"]["usage"]
        assert row[5] == formats.count(usage["prompt_tokens"])
        assert row[7] == formats.count(usage["completion_tokens"])
        assert row[9] == formats.usd(usage["cost"])
        detail = seen["details"][key]
        request = json.loads(record["ai"]["proxy"]["payload"]["request"])
        assert f"{len(request['messages'])} messages, {len(request['tools'])} tools" in detail
        answer = json.loads(record["ai"]["proxy"]["payload"]["response"])
        for block in answer["content"]:
            if block["type"] == "tool_use":
                assert block["input"]["command"] in detail
        if "1 message changed (system" in detail:  # the CLI's environment reminder, rewritten
            assert "system (changed this turn)" in detail and "(new this turn)" in detail
        targets = {
            r["replay"]["target"]
            for r in replays
            if r["replay"]["source_id"] == record["request"]["id"]
        }
        assert targets and all(target in detail for target in targets)


def test_a_log_without_payloads_still_lists_every_turn_and_says_what_is_missing(tmp_path):
    bare = tmp_path / "claude.json"
    records = lines(SESSIONS)
    for record in records:
        del record["ai"]["proxy"]["payload"]
    bare.write_text("".join(json.dumps(record) + "\n" for record in records))
    out = tmp_path / "bare.html"
    assert main(["view", str(bare), "-o", str(out), "--session", "two-rounds"]) == 0
    seen = open_every_turn(out)
    assert seen["problems"] == []
    assert len(seen["rows"]) == 3
    assert all("no payloads" in detail for detail in seen["details"].values())
    assert [row[-1] for row in seen["rows"]] == ["", "", ""]  # no request: no change to name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["view", "missing.json"], "no such file or directory: missing.json"),
        (["view", "README.md"], "no request records in README.md"),
        (["view", str(SESSIONS), "--session", "nope"], "no session 'nope' in the log"),
    ],
)
def test_view_mistakes_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main([*argv, "-o", str(tmp_path / "out.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_text_from_the_log_is_shown_never_run(tmp_path):
    """A message or model name holding markup: the page shows it as text, fetches nothing
    and runs nothing of it."""
    hostile = (
        "<!--<script></script><script>window.owned=1</script>"
        '<img src="http://127.0.0.1:9/x" onerror="window.owned=2">'
    )
    record = lines(SESSIONS)[0]
    request = json.loads(record["ai"]["proxy"]["payload"]["request"])
    request["messages"][0]["content"] = [{"type": "text", "text": hostile}]
    record["ai"]["proxy"]["payload"]["request"] = json.dumps(request)
    record["ai"]["proxy"]["meta"]["response_model"] = hostile
    log = tmp_path / "claude.json"
    log.write_text(json.dumps(record) + "\n")
    out = tmp_path / "hostile.html"
    assert main(["view", str(log), "-o", str(out)]) == 0
    seen = open_every_turn(out)
    assert seen["problems"] == []
    assert seen["requested"] == [out.as_uri()]
    assert hostile in seen["rows"][0][3]  # the model cell, as text
    assert hostile in next(iter(seen["details"].values()))
    assert seen["owned"] is None  # after every turn was opened
