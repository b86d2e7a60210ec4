"""The `[sim:...]` directives that steer a simulated answer (see the package docstring)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

ERROR_KINDS = ("429", "500", "503", "401", "context_length")
MAX_STALL_S = 60.0
_OPEN = "[sim:"
_DECODER = json.JSONDecoder()


class DirectiveError(ValueError):
    """A `[sim:...]` directive that cannot be understood; the simulator answers 400."""


@dataclass(frozen=True)
class ToolDirective:
    name: str
    arguments: str  # compact JSON text, as a model would emit it


@dataclass(frozen=True)
class Directives:
    reply: str | None = None
    tools: tuple[ToolDirective, ...] = ()
    error: str | None = None
    stall_s: float = 0.0
    cut: bool = False
    no_finish: bool = False
    rounds: int = 1  # [sim:rounds N]: the prompt's tool calls are made in N successive turns
    sequence: bool = False  # [sim:sequence]: the prompt's tool calls are made one per turn

    @property
    def any(self) -> bool:
        return self != Directives()


def parse_directives(text: str) -> Directives:
    """Every directive in `text`, in order; text outside directives is ignored."""
    found = Directives()
    start = text.find(_OPEN)
    while start >= 0:
        found, end = _parse_one(text, start + len(_OPEN), found)
        start = text.find(_OPEN, end)
    return found


def _parse_one(text: str, pos: int, found: Directives) -> tuple[Directives, int]:
    kind_end = pos
    while kind_end < len(text) and text[kind_end] not in " \t\n]":
        kind_end += 1
    kind = text[pos:kind_end]
    if kind == "tool":
        tool, end = _parse_tool(text, kind_end)
        return replace(found, tools=(*found.tools, tool)), end
    end = _closing_bracket(text, kind_end)
    return _apply(found, kind, text[kind_end:end].strip()), end + 1


def _apply(found: Directives, kind: str, arg: str) -> Directives:
    if kind == "reply":
        return replace(found, reply=arg if found.reply is None else f"{found.reply}\n{arg}")
    if kind == "error":
        if arg not in ERROR_KINDS:
            raise DirectiveError(f"[sim:error {arg}]: expected one of {', '.join(ERROR_KINDS)}")
        return replace(found, error=arg)
    if kind == "stall":
        return replace(found, stall_s=_seconds(arg))
    if kind == "cut" and not arg:
        return replace(found, cut=True)
    if kind == "no_finish" and not arg:
        return replace(found, no_finish=True)
    if kind == "sequence" and not arg:
        return replace(found, sequence=True)
    if kind == "rounds":
        if not arg.isdigit() or not 1 <= int(arg) <= 50:
            raise DirectiveError(f"[sim:rounds {arg}]: expected a whole number from 1 to 50")
        return replace(found, rounds=int(arg))
    raise DirectiveError(f"unknown directive [sim:{kind}{' ' + arg if arg else ''}]")


def _seconds(arg: str) -> float:
    try:
        seconds = float(arg)
    except ValueError:
        raise DirectiveError(f"[sim:stall {arg}]: expected a number of seconds") from None
    return min(max(seconds, 0.0), MAX_STALL_S)


def _parse_tool(text: str, pos: int) -> tuple[ToolDirective, int]:
    pos = _skip_space(text, pos)
    name_end = pos
    while name_end < len(text) and text[name_end] not in " \t\n]{":
        name_end += 1
    name = text[pos:name_end]
    if not name:
        raise DirectiveError("[sim:tool ...]: expected a tool name")
    pos = _skip_space(text, name_end)
    arguments: object = {}
    if text.startswith("{", pos):
        try:
            arguments, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DirectiveError(f"[sim:tool {name} ...]: arguments are not JSON: {exc}") from None
    pos = _skip_space(text, pos)
    if not isinstance(arguments, dict) or not text.startswith("]", pos):
        raise DirectiveError(f"[sim:tool {name} ...]: expected a JSON object and then ']'")
    compact = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
    return ToolDirective(name, compact), pos + 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    return pos


def _closing_bracket(text: str, pos: int) -> int:
    """Index of the `]` that closes a directive, skipping balanced `[...]` inside it."""
    depth = 0
    for index in range(pos, len(text)):
        char = text[index]
        if char == "[":
            depth += 1
        elif char == "]":
            if depth == 0:
                return index
            depth -= 1
    raise DirectiveError(f"unterminated directive starting {text[pos - 5 : pos + 20]!r}")
