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
