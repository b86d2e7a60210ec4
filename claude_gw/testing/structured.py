"""OpenAI's checks of a structured-output format, as the strict simulator makes them.

`check_format` raises `SimError` for what OpenAI refuses in a chat `response_format` (or, with
`param="text.format"`, a Responses `text.format`): no name, a bad name, no schema, and a strict
schema whose objects are not all closed with every property required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from claude_gw.simulated.errors import SimError
from claude_gw.testing import openai_errors as errors

# OpenAI's rule for the names of functions and of response formats
MAX_NAME = 64
NAME_PATTERN = "^[a-zA-Z0-9_-]+$"
_NAME = re.compile(r"[a-zA-Z0-9_-]+")


def check_format(given: Any, param: str) -> None:
    """`given` is a `response_format` (`json_schema` nested) or, for `text.format`, flat."""
    if given is None:
        return
    if not isinstance(given, Mapping):
        raise errors.invalid_type(param, "an object", given)
    kind = given.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise errors.invalid_value(f"{param}.type", kind, ["text", "json_object", "json_schema"])
    if kind != "json_schema":
        return
    spec, where = (given, param) if param == "text.format" else (given.get("json_schema"), "")
    where = where or f"{param}.json_schema"
    if not isinstance(spec, Mapping):
        raise errors.missing(where)
    check_name(f"{where}.name", spec.get("name"))
    schema = spec.get("schema")
    if not isinstance(schema, Mapping):
        raise errors.missing(f"{where}.schema")
    if spec.get("strict") is True and (problem := _strict_problem(schema, "")) is not None:
        raise SimError(
            f"Invalid schema for response_format '{spec['name']}': {problem}",
            param=where,
            code="invalid_json_schema",
        )


def check_name(param: str, name: Any) -> None:
    """A function's or a response format's name as OpenAI checks it."""
    if name is None:
        raise errors.missing(param)
    if not isinstance(name, str):
        raise errors.invalid_type(param, "a string", name)
    if len(name) > MAX_NAME:
        raise errors.too_long(param, "string", MAX_NAME, len(name))
    if not _NAME.fullmatch(name):
        raise errors.bad_pattern(param, NAME_PATTERN)


def _strict_problem(node: Any, where: str) -> str | None:
    """What OpenAI's strict mode says is wrong with `node` (the first problem), or None."""
    if not isinstance(node, Mapping):
        return None
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties") or {}
        if node.get("additionalProperties") is not False:
            return (
                f"In context=({where}), 'additionalProperties' is required to be supplied and "
                "to be false."
            )
        missing = [name for name in properties if name not in (node.get("required") or ())]
        if missing:
            return (
                f"In context=({where}), 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{missing[0]}'."
            )
        for name, child in properties.items():
            if (problem := _strict_problem(child, f"{where}, 'properties', '{name}'")) is not None:
                return problem
    if "items" in node:
        return _strict_problem(node["items"], f"{where}, 'items'")
    return None
