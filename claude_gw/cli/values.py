"""Argument types for option values: each turns the text into a value or refuses it with
`argparse.ArgumentTypeError`, whose message argparse prints after `argument --OPTION:`.

The checks are the ones the environment variables get (`config.parse_*`), so an option and
its variable accept the same values.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from claude_gw.config import ConfigError, parse_count, parse_port, parse_seconds

T = TypeVar("T")
HTTP_URL = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[^/\s:\[\]]+)(:\d{1,5})?(/\S*)?$")


def checked(parse: Callable[[str, str], T | None], name: str) -> Callable[[str], T]:
    """An argument type from a `config.parse_*` function (which names what it parses)."""

    def convert(text: str) -> T:
        try:
            value = parse(text.strip(), name)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{name}: ")) from None
        assert value is not None  # the text is never None here
        return value

    convert.__name__ = name
    return convert


port = checked(parse_port, "port")
seconds = checked(parse_seconds, "seconds")
count = checked(parse_count, "count")


def positive_number(text: str) -> float:
    """A number above 0 (a rate, say)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def amount(text: str) -> float:
    """A number of dollars, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected an amount of 0 or more, got {text!r}")
    return value


def iso_time(text: str) -> datetime:
    """An ISO 8601 date or time, e.g. 2026-11-25 or 2026-11-25T17:30."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date or time such as 2026-11-25T17:30, got {text!r}"
        ) from None


def http_url(text: str) -> str:
    """An http(s) URL with a host, e.g. http://127.0.0.1:8000."""
    if not HTTP_URL.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"expected an http(s) URL such as http://127.0.0.1:8000, got {text!r}"
        )
    return text.strip()
