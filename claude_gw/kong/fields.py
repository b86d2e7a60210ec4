"""Typed reading of one YAML mapping of a decK file, with key paths in every message.

A `Node` is a mapping at a key path (`plugins[0].config.model`) in a file. Its accessors return
typed values or raise `KongConfigError` naming the file, the key path and what was expected;
`null` counts as absent (Kong's dumps write every unset field as null). Each accessor marks its
key as read, so `finish()` can warn about the keys nobody read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_gw.kong.model import ConfigWarning, KongConfigError

_KINDS = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
}


def describe(value: Any) -> str:
    """`a string`, `a list`, `null`...: what a YAML value is, for error messages."""
    if value is None:
        return "null"
    return next((name for kind, name in _KINDS.items() if isinstance(value, kind)), "a value")


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass
class Node:
    """A YAML mapping being read, with its file, key path and the warnings list it feeds."""

    data: Mapping[str, Any]
    file: str
    path: str
    warnings: list[ConfigWarning]
    seen: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, value: Any, file: str, path: str, warnings: list[ConfigWarning]) -> Node:
        """A node for `value`, which must be a mapping with string keys."""
        if not isinstance(value, dict):
            raise KongConfigError(file, path, f"expected a mapping, got {describe(value)}")
        for key in value:
            if not isinstance(key, str):
                raise KongConfigError(file, join(path, str(key)), "expected a string key")
        return cls(value, file, path, warnings)

    def at(self, key: str | int) -> str:
        return join(self.path, key)

    def error(self, key: str, message: str) -> KongConfigError:
        return KongConfigError(self.file, self.at(key), message)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(ConfigWarning(self.file, self.at(key), message))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def _typed(self, key: str, kind: type | tuple[type, ...], expected: str) -> Any:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"expected {expected}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {expected}, got {describe(value)}")
        return value

    def string(
        self, key: str, *, required: bool = False, choices: Collection[str] | None = None
    ) -> str | None:
        value = self._typed(key, str, "a string")
        if value is None and required:
            raise self.error(key, "required key is missing: expected a string")
        if value is not None and choices is not None and value not in choices:
            raise self.error(key, f"expected one of {', '.join(choices)}; got {value!r}")
        return value  # type: ignore[no-any-return]

    def boolean(self, key: str, default: bool) -> bool:
        value = self._typed(key, bool, "true or false")
        return default if value is None else bool(value)

    def integer(
        self, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._typed(key, (int, float), "an integer")
        if value is None:
            return None
        if isinstance(value, float) and not value.is_integer():
            raise self.error(key, f"expected an integer, got {value!r}")
        self._check_range(key, value, minimum, maximum)
        return int(value)

    def number(
        self,
        key: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        value = self._typed(key, (int, float), "a number")
        if value is None:
            return None
        if positive and value <= 0:
            raise self.error(key, f"expected a number greater than 0, got {value!r}")
        self._check_range(key, value, minimum, maximum)
        return float(value)

    def _check_range(
        self, key: str, value: float, minimum: float | None, maximum: float | None
    ) -> None:
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            if minimum is not None and maximum is not None:
                bounds = f"between {minimum:g} and {maximum:g}"
            else:
                bounds = f">= {minimum:g}" if minimum is not None else f"<= {maximum:g}"
            raise self.error(key, f"expected a number {bounds}, got {value!r}")

    def strings(self, key: str) -> tuple[str, ...] | None:
        values = self._typed(key, list, "a list of strings")
        if values is None:
            return None
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise KongConfigError(
                    self.file,
                    join(self.at(key), index),
                    f"expected a string, got {describe(value)}",
                )
        return tuple(values)

    def child(self, key: str, *, required: bool = False) -> Node | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.error(key, "required key is missing: expected a mapping")
            return None
        return Node.of(value, self.file, self.at(key), self.warnings)

    def children(self, key: str) -> Iterator[Node]:
        """The mappings of a list value, each with its `key[i]` path."""
        values = self._typed(key, list, "a list")
        for index, value in enumerate(values or ()):
            yield Node.of(value, self.file, join(self.at(key), index), self.warnings)

    def accept(self, *keys: str) -> None:
        """Keys that are valid and change nothing claude_gw does (ids, tags, timestamps)."""
        self.seen.update(keys)

    def ignore(self, key: str, why: str, *, default: Any = None) -> None:
        """A valid key claude_gw does not act on: warn when it is set to something other than
        null or Kong's default."""
        value = self.raw(key)
        if value is not None and value != default:
            self.warn(key, f"ignored: {why}")

    def finish(self, why: str = "Kong would reject an unknown field") -> None:
        """Warn about every key no accessor read."""
        for key in self.data:
            if key not in self.seen:
                self.warn(key, f"unknown key, ignored ({why})")
