"""Fixture loading for the request/response translation tests.

The fixtures stay in the shared directory next to the repository (never copied in). A test that
takes the argument `cli_messages_request` runs once per captured Claude CLI `/v1/messages`
request in `shared/fixtures/claude-cli/`, so a newly captured fixture is picked up by itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
CLI_FIXTURES = FIXTURES / "claude-cli"
WIRE_FIXTURES = FIXTURES / "wire"


@dataclass(frozen=True)
class CliRequest:
    """One captured Claude CLI request: the fixture's file stem and its JSON body."""

    name: str
    body: dict[str, Any]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def cli_messages_requests() -> list[CliRequest]:
    """Every captured request whose path is `/v1/messages` (count_tokens calls excluded)."""
    found = []
    for path in sorted(CLI_FIXTURES.glob("*.json")):
        capture = load_json(path)
        if capture["path"].split("?")[0].endswith("/v1/messages"):
            found.append(CliRequest(path.stem, capture["body"]))
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cli_messages_request" in metafunc.fixturenames:
        requests = cli_messages_requests()
        assert requests, f"no Claude CLI messages fixtures found in {CLI_FIXTURES}"
        metafunc.parametrize(
            "cli_messages_request", requests, ids=[request.name for request in requests]
        )


@pytest.fixture
def wire_json() -> Any:
    """Loader for a JSON fixture in `shared/fixtures/wire/`, by file name."""
    return lambda name: load_json(WIRE_FIXTURES / name)


@pytest.fixture
def cli_body() -> Any:
    """Loader for the request body of a Claude CLI capture, by file stem."""
    return lambda name: load_json(CLI_FIXTURES / f"{name}.json")["body"]
