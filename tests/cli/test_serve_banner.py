"""The start-up banner says which request dialect the upstream gets."""

import pytest

from claude_gw.cli.serve import api_line
from claude_gw.config import Settings


@pytest.mark.parametrize(
    ("options", "line"),
    [
        ({"upstream_url": "https://api.openai.com/v1"}, "chat, openai profile"),
        ({"upstream_url": "http://127.0.0.1:8080/v1"}, "chat, compatible profile"),
        (
            {"upstream_url": "http://127.0.0.1:8080/v1", "server_profile": "openai"},
            "chat, openai profile",
        ),
        ({"upstream_url": "https://api.openai.com/v1", "upstream_api": "responses"}, "responses"),
    ],
)
def test_api_line_names_the_server_profile(options, line):
    assert api_line(Settings(**options)) == line


def test_the_banner_says_what_a_web_search_will_get(tmp_path):
    from claude_gw.cli.serve import route_lines
    from claude_gw.server.runner import build_upstream

    settings = Settings(upstream_url="http://127.0.0.1:9/v1", log_path=tmp_path / "x.json")
    lines = route_lines(settings, build_upstream(settings))
    assert lines[-1].startswith("  search:   web search unavailable (Chat Completions")
