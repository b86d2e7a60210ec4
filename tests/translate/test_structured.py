"""Structured output: `output_config.format` / `output_format` -> Chat `response_format` and
Responses `text.format`, with `strict` only where OpenAI's strict mode takes the schema."""

from __future__ import annotations

from typing import Any

import pytest

from claude_gw.errors import InvalidRequest
from claude_gw.translate.models import TargetModel
from claude_gw.translate.request import anthropic_to_openai
from claude_gw.translate.responses import anthropic_to_responses
from claude_gw.translate.structured import strict_compatible
from tests.translate.conftest import CLI_FIXTURES, load_json
from tests.translate.test_request import request

TARGET = TargetModel("gpt-5-mini", reasoning=True)
TITLE = load_json(CLI_FIXTURES / "messages_session_title_output_format_2.1.197.json")["body"]
TITLE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}


def closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An object schema strict mode takes: closed, every property required."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def test_the_cli_session_title_schema_becomes_a_strict_response_format() -> None:
    # quirk: Claude CLI 2.1.197 asks for its TUI session title with output_config.format
    out = anthropic_to_openai(TITLE, target=TARGET)
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": TITLE_SCHEMA, "strict": True},
    }
    assert out["reasoning_effort"] == "high"  # the same output_config's effort still applies


def test_the_cli_session_title_schema_becomes_a_flat_text_format_on_responses() -> None:
    out = anthropic_to_responses(TITLE, target=TARGET)
    assert out["text"] == {
        "format": {"type": "json_schema", "name": "output", "schema": TITLE_SCHEMA, "strict": True}
    }


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"output_format": {"type": "json_schema", "schema": TITLE_SCHEMA}}, id="beta"),
        pytest.param(
            {
                "output_format": {"type": "json_schema", "schema": {"type": "string"}},
                "output_config": {"format": {"type": "json_schema", "schema": TITLE_SCHEMA}},
            },
            id="output_config_wins",
        ),
    ],
)
def test_both_names_of_the_format_are_read(fields: dict[str, Any]) -> None:
    out = anthropic_to_openai(request(**fields), target=TARGET)
    assert out["response_format"]["json_schema"]["schema"] == TITLE_SCHEMA


def test_no_format_sends_no_response_format_and_no_text() -> None:
    plain = request(output_config={"effort": "low"})
    assert "response_format" not in anthropic_to_openai(plain, target=TARGET)
    assert "text" not in anthropic_to_responses(plain, target=TARGET)


@pytest.mark.parametrize(
    ("schema", "strict"),
    [
        pytest.param(TITLE_SCHEMA, True, id="title"),
        pytest.param(
            closed({"tags": {"type": "array", "items": closed({"name": {"type": "string"}})}}),
            True,
            id="nested_closed",
        ),
        pytest.param(
            closed({"x": {"anyOf": [{"type": "string"}, {"type": "null"}]}}), True, id="any_of"
        ),
        pytest.param(
            closed({"n": {"$ref": "#/$defs/n"}}, **{"$defs": {"n": closed({})}}), True, id="defs"
        ),
        pytest.param({**TITLE_SCHEMA, "required": []}, False, id="optional_property"),
        pytest.param(
            {k: v for k, v in TITLE_SCHEMA.items() if k != "additionalProperties"},
            False,
            id="open_object",
        ),
        pytest.param(
            closed({"tags": {"type": "array", "items": {"type": "object", "properties": {}}}}),
            False,
            id="open_nested_object",
        ),
        pytest.param(closed({"x": {"oneOf": [{"type": "string"}]}}), False, id="one_of"),
        pytest.param(closed({"x": {"not": {"type": "string"}}}), False, id="not"),
        pytest.param({"type": "string"}, False, id="root_not_an_object"),
        pytest.param(closed({"x": True}), False, id="boolean_schema"),
    ],
)
def test_strict_only_for_schemas_strict_mode_takes(schema: dict[str, Any], strict: bool) -> None:
    assert strict_compatible(schema) is strict
    fmt = {"type": "json_schema", "schema": schema}
    out = anthropic_to_openai(request(output_config={"format": fmt}), target=TARGET)
    assert out["response_format"]["json_schema"] == {
        "name": "output",
        "schema": schema,
        "strict": strict,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"output_config": {"format": {"type": "json_object"}}},
            "output_config.format.type: must be 'json_schema', not 'json_object'",
            id="other_type",
        ),
        pytest.param(
            {"output_format": {"type": "json_schema"}},
            "output_format.schema: required",
            id="no_schema",
        ),
        pytest.param(
            {"output_config": {"format": "json"}},
            "output_config.format: must be an object, not str",
            id="not_an_object",
        ),
    ],
)
def test_a_malformed_format_is_an_invalid_request_naming_the_field(
    fields: dict[str, Any], message: str
) -> None:
    for translate in (anthropic_to_openai, anthropic_to_responses):
        with pytest.raises(InvalidRequest, match="^" + message.replace(".", r"\.")):
            translate(request(**fields), target=TARGET)
