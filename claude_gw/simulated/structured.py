"""Structured output in the simulator: OpenAI's checks of a JSON schema format, and an answer
that follows the schema.

`check_format` raises `SimError` for what OpenAI refuses in a chat `response_format` (or, with
`param="text.format"`, a Responses `text.format`): no name, a bad name, no schema, and a strict
schema whose objects are not all closed with every property required. `schema_answer` is the
JSON text of a value that follows the schema, made deterministically from a sentence: each
string is that sentence (cut to a length the schema allows), numbers are their minimum or 0,
arrays hold one item, objects every property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from claude_gw.simulated import errors
from claude_gw.simulated.errors import SimError

# OpenAI's rule for the names of functions and of response formats
MAX_NAME = 64
NAME_PATTERN = "^[a-zA-Z0-9_-]+$"
_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_SCALARS: Mapping[str, Any] = {"integer": 0, "number": 0, "boolean": True, "null": None}


def json_schema_of(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON schema a chat request's `response_format` asks the answer to follow, or None."""
    given = doc.get("response_format")
    if not isinstance(given, Mapping) or given.get("type") != "json_schema":
        return None
    spec = given.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return schema if isinstance(schema, Mapping) else None


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


def schema_answer(schema: Mapping[str, Any], sentence: str) -> str:
    """Compact JSON of a value that follows `schema`, its strings all `sentence`."""
    return json.dumps(_value(schema, sentence, 0), ensure_ascii=False, separators=(", ", ": "))


def _value(schema: Any, sentence: str, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > 8:
        return sentence
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("anyOf"), list) and schema["anyOf"]:
        return _value(schema["anyOf"][0], sentence, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: _value(sub, sentence, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [_value(schema.get("items"), sentence, depth + 1)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    limit = schema.get("maxLength")
    return sentence[:limit] if isinstance(limit, int) else sentence
