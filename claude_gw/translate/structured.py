"""Anthropic structured output (`output_config.format`, `output_format`) -> OpenAI's JSON schema.

Contract: `response_format` reads a validated-looking request and returns the Chat Completions
`response_format` (None when the request asks for no format); it raises nothing but
`InvalidRequest`, whose message starts with the offending field's path. `text_format` reshapes
that into the Responses API's `text.format`.

Decisions:
- `output_config.format` (the current name, which the Claude CLI sends) wins over the older
  `output_format`; both are `{"type": "json_schema", "schema": {...}}`.
- OpenAI wants a `name`; the Anthropic format has none, so every schema is named `SCHEMA_NAME`.
- `strict: true` only for a schema OpenAI's strict mode accepts (`strict_compatible`): every
  object closed (`additionalProperties: false`) with all its properties required, and no
  keyword strict mode refuses. Any other schema goes non-strict: OpenAI then still gets the
  schema and guides the model by it, where a strict request would be refused with a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_gw.errors import InvalidRequest
from claude_gw.wire import JSON

SCHEMA_NAME = "output"
# Keywords OpenAI's strict mode refuses (its "supported schemas" list), as far as a CLI uses them.
STRICT_REFUSED = frozenset(
    {
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "prefixItems",
        "contains",
        "oneOf",
    }
)
_SUBSCHEMA_LISTS = ("anyOf",)
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")


def response_format(doc: Mapping[str, Any]) -> JSON | None:
    """The Chat Completions `response_format` for the request's structured output, or None."""
    path, given = _given_format(doc)
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise InvalidRequest(f"{path}: must be an object, not {type(given).__name__}")
    kind = given.get("type")
    if kind != "json_schema":
        raise InvalidRequest(f"{path}.type: must be 'json_schema', not {kind!r}")
    schema = given.get("schema")
    if not isinstance(schema, Mapping):
        raise InvalidRequest(f"{path}.schema: required, and must be a JSON schema object")
    spec = {"name": SCHEMA_NAME, "schema": schema, "strict": strict_compatible(schema)}
    return {"type": "json_schema", "json_schema": spec}


def text_format(chat_format: Mapping[str, Any]) -> JSON:
    """The Responses API `text` parameter for a chat `response_format` (flat, not nested)."""
    return {"format": {"type": "json_schema", **chat_format["json_schema"]}}


def _given_format(doc: Mapping[str, Any]) -> tuple[str, Any]:
    config = doc.get("output_config")
    if isinstance(config, Mapping) and config.get("format") is not None:
        return "output_config.format", config["format"]
    return "output_format", doc.get("output_format")


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes `schema` as it is (the module docstring says when)."""
    return _is_object_schema(schema) and _strict_node(schema)


def _is_object_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "object"


def _strict_node(node: Any) -> bool:
    if isinstance(node, bool):
        return False  # `true` / `false` schemas: strict mode wants explicit types
    if not isinstance(node, Mapping) or STRICT_REFUSED.intersection(node):
        return False
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties") or {}
        if node.get("additionalProperties") is not False or not isinstance(properties, Mapping):
            return False
        if set(node.get("required") or ()) != set(properties):
            return False
    return all(_strict_node(child) for child in _children(node))


def _children(node: Mapping[str, Any]) -> list[Any]:
    children: list[Any] = []
    for key in _SUBSCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, Mapping):
            children.extend(value.values())
    for key in _SUBSCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            children.extend(value)
    if "items" in node:
        children.append(node["items"])
    return children
