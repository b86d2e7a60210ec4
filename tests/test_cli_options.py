"""The limit options of `claude-gw serve` (and `capture`): each sets its Settings field, wins
over its environment variable, and a bad value is a one-line error with exit status 2."""

from __future__ import annotations

import pytest

from claude_gw.cli import build_parser, main
from claude_gw.cli.options import settings_from

OPTIONS = [
    ("--header-timeout", "3", "header_timeout", 3.0),
    ("--body-timeout", "20", "body_timeout", 20.0),
    ("--idle-timeout", "60", "idle_timeout", 60.0),
    ("--max-connections", "100", "max_connections", 100),
    ("--max-header", "16KiB", "max_header_bytes", 16 * 1024),
    ("--max-inflight", "512MiB", "max_inflight_bytes", 512 * 1024**2),
    ("--max-answer", "8MiB", "max_answer_bytes", 8 * 1024**2),
    ("--max-decompression-ratio", "20", "max_decompression_ratio", 20.0),
    ("--shutdown-grace", "2", "shutdown_grace", 2.0),
]


@pytest.mark.parametrize(("option", "text", "field", "value"), OPTIONS)
def test_each_limit_option_sets_its_setting_over_the_environment(
    option: str, text: str, field: str, value: float
) -> None:
    args = build_parser().parse_args(["serve", option, text])
    environ = {"CLAUDE_GW_HEADER_TIMEOUT": "9", "CLAUDE_GW_MAX_ANSWER": "1MiB"}
    settings = settings_from(args, environ)
    assert getattr(settings, field) == value
    if field != "header_timeout":
        assert settings.header_timeout == 9.0  # the variable, where no option says otherwise


def test_a_bad_limit_option_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--upstream", "simulated", "--max-header", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-header: expected a size" in err
