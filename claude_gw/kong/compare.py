"""Do two configurations behave the same? Route by route, every field that changes what the
gateway does or logs; provenance (files, key paths, how a secret was written) is left out."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from claude_gw.config import Secret
from claude_gw.kong.model import DeckConfig


def behaviour_differences(first: DeckConfig, second: DeckConfig) -> list[str]:
    """What differs, one line per field (`routes[example-route].ai_proxy.model_name: ...`);
    empty when both serve the same routes the same way. Secret values are never shown."""
    left = {route.key: route for route in first.routes}
    right = {route.key: route for route in second.routes}
    found = [f"routes[{key}]: only in the first" for key in left.keys() - right.keys()]
    found += [f"routes[{key}]: only in the second" for key in right.keys() - left.keys()]
    for key in left.keys() & right.keys():
        found += _differences(left[key], right[key], f"routes[{key}]")
    return sorted(found)


def same_behaviour(first: DeckConfig, second: DeckConfig) -> bool:
    return not behaviour_differences(first, second)


def _differences(left: Any, right: Any, path: str) -> list[str]:
    if is_dataclass(left) and type(left) is type(right):
        found: list[str] = []
        for item in fields(left):
            if item.compare:
                found += _differences(
                    getattr(left, item.name), getattr(right, item.name), f"{path}.{item.name}"
                )
        return found
    if left == right:
        return []
    if isinstance(left, Secret) or isinstance(right, Secret):
        return [f"{path}: the secrets differ"]
    return [f"{path}: {left!r} != {right!r}"]
