"""Structured output: the JSON schema a request asks the answer to follow, and an answer that
follows it.

`schema_answer` is the JSON text of a value that follows the schema, made deterministically from
a sentence: each string is that sentence (cut to a length the schema allows), numbers are their
minimum or 0, arrays hold one item, objects every property.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_SCALARS: Mapping[str, Any] = {"integer": 0, "number": 0, "boolean": True, "null": None}


def json_schema_of(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON schema a chat request's `response_format` asks the answer to follow, or None."""
    given = doc.get("response_format")
    if not isinstance(given, Mapping) or given.get("type") != "json_schema":
        return None
    spec = given.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return schema if isinstance(schema, Mapping) else None


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
