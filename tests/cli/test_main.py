"""The error boundary of `claude-gw` (`claude_gw.cli.main`) for what is not the user's mistake."""

from __future__ import annotations

import tempfile

from claude_gw.cli import BUG, path_message, report_bug


def raise_a_bug() -> None:
    dict[str, int]()["missing"]  # the bug under test: a KeyError


def test_a_bug_is_one_line_saying_so_and_the_traceback_goes_to_a_file(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        raise_a_bug()
    except KeyError as exc:
        status = report_bug(exc, environ={})
    (line,) = capsys.readouterr().err.splitlines()
    (crash,) = tmp_path.glob("claude-gw-crash-*.txt")
    assert status == BUG == 70
    assert "internal error" in line and "KeyError: 'missing'" in line
    assert "test_main.py" in line and "in raise_a_bug" in line and str(crash) in line
    assert "Traceback" not in line and "Traceback (most recent call last)" in crash.read_text()


def test_with_claude_gw_traceback_set_the_traceback_is_printed_too(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        raise_a_bug()
    except KeyError as exc:
        report_bug(exc, environ={"CLAUDE_GW_TRACEBACK": "1"})
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)") and "internal error" in err


def test_an_os_error_about_a_path_names_the_path_and_the_cause():
    error = FileNotFoundError(2, "No such file or directory", "/some/where.json")
    assert path_message(error) == "/some/where.json: No such file or directory"
