"""The limit options of `claude-gw serve` (and `capture`): each sets its field of Listen (the
process's) or Settings (the route's), wins over its environment variable, and a bad value is a
one-line error with exit status 2."""

from __future__ import annotations

import pytest

from claude_gw.cli import build_parser, main
from claude_gw.cli.options import listen_from, settings_from

OPTIONS = [
    ("--header-timeout", "3", "listen", "header_timeout", 3.0),
    ("--body-timeout", "20", "listen", "body_timeout", 20.0),
    ("--idle-timeout", "60", "listen", "idle_timeout", 60.0),
    ("--max-connections", "100", "listen", "max_connections", 100),
    ("--max-header", "16KiB", "listen", "max_header_bytes", 16 * 1024),
    ("--max-inflight", "512MiB", "listen", "max_inflight_bytes", 512 * 1024**2),
    ("--max-answer", "8MiB", "route", "max_answer_bytes", 8 * 1024**2),
    ("--max-decompression-ratio", "20", "route", "max_decompression_ratio", 20.0),
    ("--shutdown-grace", "2", "listen", "shutdown_grace", 2.0),
]


@pytest.mark.parametrize(("option", "text", "whose", "field", "value"), OPTIONS)
def test_each_limit_option_sets_its_setting_over_the_environment(
    option: str, text: str, whose: str, field: str, value: float
) -> None:
    args = build_parser().parse_args(["serve", option, text])
    environ = {"CLAUDE_GW_HEADER_TIMEOUT": "9", "CLAUDE_GW_MAX_ANSWER": "1MiB"}
    listen, settings = listen_from(args, environ), settings_from(args, environ)
    assert getattr(listen if whose == "listen" else settings, field) == value
    if field != "header_timeout":
        assert listen.header_timeout == 9.0  # the variable, where no option says otherwise
    if field != "max_answer_bytes":
        assert settings.max_answer_bytes == 1024**2  # the same, for a route's limit


def test_a_bad_limit_option_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--upstream", "simulated", "--max-header", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-header: expected a size" in err
