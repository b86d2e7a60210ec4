"""decK's environment substitution: the state file is a Go template with `${{` `}}` delimiters.

Contract, as decK (Kong/go-database-reconciler `pkg/file/readfile.go`) renders before parsing
the YAML: `${{ env "DECK_NAME" }}` becomes the variable's value; a name without the `DECK_`
prefix is an error ("environment variables in the state file must be prefixed with 'DECK_'"),
and so is an unset variable ("environment variable 'DECK_X' present in state file but not
set"). Pipelines through `toBool`, `toInt`, `toFloat` and `indent N` work as in decK; `{{-`
and `-}}` trim the whitespace around an action. Any other template action is an error: claude_gw
does not run Go templates.

Deviation: decK renders templates inside YAML comments too, so a comment that mentions
`${{ env "..." }}` makes `deck gateway sync` fail. claude_gw leaves full-line comments alone and
warns when decK would have failed on one.

The environment is a mapping passed in; nothing here reads `os.environ`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from claude_gw.kong.model import ConfigWarning, KongConfigError

PREFIX = "DECK_"
_ACTION = re.compile(r"\$\{\{(?P<body>.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<pipe>\|)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>[+-]?[0-9]+)
    )""",
    re.VERBOSE,
)
# Go's strconv.ParseBool
_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), "true"),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), "false"),
}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class TemplateError(ValueError):
    """An action decK would reject or claude_gw cannot render; the message says which."""


@dataclass(frozen=True)
class Substitution:
    """One `env` call that was rendered: the variable, its value and the line it was on."""

    name: str
    value: str = field(repr=False)
    line: int

    @property
    def expression(self) -> str:
        return f'${{{{ env "{self.name}" }}}}'


@dataclass(frozen=True)
class Rendered:
    """A rendered state file, the substitutions made and the warnings raised."""

    text: str
    substitutions: tuple[Substitution, ...] = ()
    warnings: tuple[ConfigWarning, ...] = ()


def render_deck_env(text: str, environ: Mapping[str, str], *, filename: str) -> str:
    """The state file with every `${{ ... }}` action rendered as decK renders it.
    Raises KongConfigError naming the file and line."""
    return render(text, environ, filename=filename).text


def render(text: str, environ: Mapping[str, str], *, filename: str) -> Rendered:
    """`render_deck_env`, also returning what was substituted and the comment warnings."""
    pieces: list[str] = []
    substitutions: list[Substitution] = []
    warnings: list[ConfigWarning] = []
    position = 0
    for match in _ACTION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if _in_comment(text, match.start()):
            warnings.extend(_check_comment(match.group("body"), environ, filename, line))
            continue
        trim_left, body, trim_right = _trim_markers(match.group("body"))
        before = text[position : match.start()]
        pieces.append(before.rstrip() if trim_left else before)
        try:
            value, used = evaluate(body, environ)
        except TemplateError as exc:
            raise KongConfigError(filename, f"line {line}", str(exc)) from None
        pieces.append(value)
        substitutions.extend(Substitution(name, environ[name], line) for name in used)
        position = match.end()
        if trim_right:
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
    _check_unclosed(text, position, filename)
    pieces.append(text[position:])
    return Rendered("".join(pieces), tuple(substitutions), tuple(warnings))


def _check_unclosed(text: str, position: int, filename: str) -> None:
    """A `${{` with no `}}` after it: Go's template parser stops on it, so decK does."""
    start = text.find("${{", position)
    while start != -1:
        if not _in_comment(text, start) and "}}" not in text[start:]:
            line = text.count("\n", 0, start) + 1
            raise KongConfigError(filename, f"line {line}", "unclosed action: ${{ without }}")
        start = text.find("${{", start + 3)


def env_names(text: str) -> tuple[str, ...]:
    """The variables a state file reads with `env`, in order, without duplicates (comment lines
    and actions that cannot be rendered are skipped)."""
    names: list[str] = []
    for match in _ACTION.finditer(text):
        if _in_comment(text, match.start()):
            continue
        try:
            commands = _parse(_trim_markers(match.group("body"))[1])
        except TemplateError:
            continue
        if commands and len(commands[0]) == 2 and commands[0][0] == "env":
            names.append(commands[0][1])
    return tuple(dict.fromkeys(names))


def evaluate(body: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Render one action's body: (text, names of the variables read)."""
    if body.strip().startswith("/*") and body.strip().endswith("*/"):
        return "", []  # a template comment renders nothing
    commands = _parse(body)
    if not commands or commands[0][:1] != ["env"] or len(commands[0]) != 2:
        raise TemplateError(_unsupported(body))
    name = commands[0][1]
    value = lookup(name, environ)
    for command in commands[1:]:
        value = _apply(command, value, name, body)
    return value, [name]


def lookup(name: str, environ: Mapping[str, str]) -> str:
    """decK's `env`: only DECK_ variables, and they must be set."""
    if not name.startswith(PREFIX):
        raise TemplateError(
            "environment variables in the state file must be prefixed with "
            f"'{PREFIX}', found: '{name}'"
        )
    if name not in environ:
        raise TemplateError(f"environment variable '{name}' present in state file but not set")
    return environ[name]


def _apply(command: list[str], value: str, name: str, body: str) -> str:
    # Error messages name the variable, never its value: it may be a secret.
    match command:
        case ["toBool"]:
            if value not in _BOOLS:
                raise TemplateError(f"toBool: {name} is not a boolean (true, false, 1, 0, t, f)")
            return _BOOLS[value]
        case ["toInt"]:
            if not _INT.fullmatch(value):
                raise TemplateError(f"toInt: {name} is not an integer")
            return str(int(value))
        case ["toFloat"]:
            if not _FLOAT.fullmatch(value):
                raise TemplateError(f"toFloat: {name} is not a number")
            return _go_float(float(value))
        case ["indent", spaces] if spaces.lstrip("+-").isdigit():
            return value.replace("\n", "\n" + " " * max(int(spaces), 0))
    raise TemplateError(_unsupported(body))


def _go_float(number: float) -> str:
    """Go prints a float64 with %v: no `.0` on integral values below 1e21."""
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


def _parse(body: str) -> list[list[str]]:
    """An action's pipeline as commands of words and decoded string literals."""
    commands: list[list[str]] = [[]]
    position = 0
    while body[position:].strip():
        token = _TOKEN.match(body, position)
        if token is None:
            raise TemplateError(_unsupported(body))
        position = token.end()
        if token.group("pipe"):
            commands.append([])
        elif token.group("string"):
            commands[-1].append(json.loads(token.group("string")))
        elif token.group("raw"):
            commands[-1].append(token.group("raw")[1:-1])
        else:
            commands[-1].append(token.group("word") or token.group("number"))
    if any(not command for command in commands):
        raise TemplateError(_unsupported(body))
    return commands


def _unsupported(body: str) -> str:
    return (
        f"unsupported template expression '${{{{{body}}}}}': claude_gw renders only "
        '`env "DECK_NAME"`, optionally piped to toBool, toInt, toFloat or indent N'
    )


def _trim_markers(body: str) -> tuple[bool, str, bool]:
    """Go's `{{- ` and ` -}}`: a dash next to the delimiter, then whitespace, trims."""
    left = len(body) > 1 and body[0] == "-" and body[1].isspace()
    right = len(body) > 1 and body[-1] == "-" and body[-2].isspace()
    return left, body[1 if left else 0 : len(body) - 1 if right else len(body)], right


def _in_comment(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:start].lstrip().startswith("#")


def _check_comment(
    body: str, environ: Mapping[str, str], filename: str, line: int
) -> list[ConfigWarning]:
    try:
        evaluate(_trim_markers(body)[1], environ)
    except TemplateError as exc:
        message = (
            f"decK renders templates inside comments too, so `deck gateway sync` would fail "
            f"here ({exc}); claude_gw leaves comments alone"
        )
        return [ConfigWarning(filename, f"line {line}", message)]
    return []
