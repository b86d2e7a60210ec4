"""bench/view.py on a small session: the log it writes is what the view reads, and its report
says what it measured."""

from __future__ import annotations

import json

from bench.view import report, run


def test_a_small_long_session_is_written_read_and_measured(tmp_path):
    result = run(turns=12, body_kb=40, repeat=1, directory=tmp_path, browser=True)
    lines = (tmp_path / "claude.json").read_text().splitlines()
    assert len(lines) == 12
    requests = [json.loads(json.loads(line)["ai"]["proxy"]["payload"]["request"]) for line in lines]
    main = [r for r in requests if r["model"] == "gpt-5-mini"]
    assert len(main) == 10 and all(len(json.dumps(r)) >= 40_000 for r in main)
    assert result["payload_mb"] * 1e6 == sum(
        len(json.loads(line)["ai"]["proxy"]["payload"]["request"]) for line in lines
    )
    # each main request repeats the conversation: the page keeps it once
    assert result["page_mb"] < result["payload_mb"] / 4
    assert "| the page |" in report(result) and "write_view:" in report(result)
    assert result["load_s"] > 0 and result["open_s"] > 0  # chromium: .ci/run installs it
    assert "the last turn opened in" in report(result)
