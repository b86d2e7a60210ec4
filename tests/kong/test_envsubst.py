import pytest

from claude_gw.kong import KongConfigError, env_names, render_deck_env
from claude_gw.kong.envsubst import render

ENV = {"DECK_KEY": "sk-abc", "DECK_ON": "True", "DECK_N": "042", "DECK_F": "2.50"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('v: ${{ env "DECK_KEY" }}', "v: sk-abc", id="spaced"),
        pytest.param('v: ${{env "DECK_KEY"}}', "v: sk-abc", id="no_spaces"),
        pytest.param('v: ${{   env   "DECK_KEY"   }}', "v: sk-abc", id="many_spaces"),
        pytest.param("v: ${{ env `DECK_KEY` }}", "v: sk-abc", id="raw_string"),
        pytest.param('v: Bearer ${{ env "DECK_KEY" }}!', "v: Bearer sk-abc!", id="inside_text"),
        pytest.param('v: "${{ env "DECK_KEY" }}"', 'v: "sk-abc"', id="inside_quotes"),
        pytest.param('v: x  ${{- env "DECK_KEY" -}}  y', "v: xsk-abcy", id="trim_markers"),
        pytest.param('v: ${{ env "DECK_ON" | toBool }}', "v: true", id="to_bool"),
        pytest.param('v: ${{ env "DECK_N" | toInt }}', "v: 42", id="to_int"),
        pytest.param('v: ${{ env "DECK_F" | toFloat }}', "v: 2.5", id="to_float"),
        pytest.param("v: ${{/* a template comment */}}x", "v: x", id="template_comment"),
        pytest.param("v: {{ not a deck template }}", "v: {{ not a deck template }}", id="plain"),
    ],
)
def test_env_expressions_render_as_deck_renders_them(text, expected):
    assert render_deck_env(text, ENV, filename="f.yaml") == expected


def test_indent_pipeline_indents_every_following_line():
    text = 'k: |\n  ${{ env "DECK_PEM" | indent 2 }}\n'
    rendered = render_deck_env(text, {"DECK_PEM": "a\nb"}, filename="f.yaml")
    assert rendered == "k: |\n  a\n  b\n"


def test_missing_deck_variable_is_an_error_naming_it_the_file_and_the_line():
    text = 'a: 1\nb: ${{ env "DECK_MISSING" }}\n'
    with pytest.raises(KongConfigError) as caught:
        render_deck_env(text, {}, filename="kong.yaml")
    assert caught.value.file == "kong.yaml" and caught.value.path == "line 2"
    assert "environment variable 'DECK_MISSING' present in state file but not set" in str(
        caught.value
    )


def test_variable_without_the_deck_prefix_is_rejected_with_decks_message():
    with pytest.raises(KongConfigError) as caught:
        render_deck_env('k: ${{ env "OPENAI_API_KEY" }}', {"OPENAI_API_KEY": "sk"}, filename="f")
    assert (
        "environment variables in the state file must be prefixed with 'DECK_', "
        "found: 'OPENAI_API_KEY'" in str(caught.value)
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param(
            'env "DECK_SECRET" | toBool', "toBool: DECK_SECRET is not a boolean", id="bool"
        ),
        pytest.param('env "DECK_SECRET" | toInt', "toInt: DECK_SECRET is not an integer", id="int"),
        pytest.param(
            'env "DECK_SECRET" | toFloat', "toFloat: DECK_SECRET is not a number", id="float"
        ),
    ],
)
def test_conversion_errors_name_the_variable_but_never_its_value(expression, message):
    with pytest.raises(KongConfigError) as caught:
        render_deck_env(f"k: ${{{{ {expression} }}}}", {"DECK_SECRET": "sk-x"}, filename="f")
    assert message in str(caught.value)
    assert "sk-x" not in str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param('if env "DECK_KEY"', id="if"),
        pytest.param('printf "%s" "x"', id="other_function"),
        pytest.param("env", id="env_without_name"),
        pytest.param('env "DECK_KEY" | upper', id="unknown_pipe"),
        pytest.param('toBool (env "DECK_ON")', id="parenthesised_call"),
    ],
)
def test_template_actions_other_than_env_are_errors(expression):
    with pytest.raises(KongConfigError, match="unsupported template expression"):
        render_deck_env(f"k: ${{{{ {expression} }}}}", ENV, filename="f")


def test_unclosed_action_is_an_error_as_in_go_templates():
    with pytest.raises(KongConfigError, match="unclosed action") as caught:
        render_deck_env('a: 1\nk: ${{ env "DECK_KEY"\n', ENV, filename="f")
    assert caught.value.path == "line 2"


def test_comment_lines_are_left_alone_with_a_warning_where_deck_would_fail():
    text = '# export ${{ env "..." }} first\nk: ${{ env "DECK_KEY" }}\n'
    rendered = render(text, ENV, filename="f.yaml")
    assert rendered.text == '# export ${{ env "..." }} first\nk: sk-abc\n'
    [warning] = rendered.warnings
    assert (warning.file, warning.path) == ("f.yaml", "line 1")
    assert "deck gateway sync` would fail" in warning.message


def test_comment_line_deck_could_render_raises_no_warning():
    rendered = render('  # uses ${{ env "DECK_KEY" }}\nk: 1\n', ENV, filename="f")
    assert rendered.warnings == () and "${{" in rendered.text


def test_substitutions_record_each_variable_and_line_without_showing_the_value():
    rendered = render('a: 1\nb: ${{ env "DECK_KEY" }}\n', ENV, filename="f")
    [substitution] = rendered.substitutions
    assert (substitution.name, substitution.line) == ("DECK_KEY", 2)
    assert substitution.expression == '${{ env "DECK_KEY" }}'
    assert "sk-abc" not in repr(substitution)


def test_env_names_lists_the_variables_a_file_reads():
    text = (
        '# ${{ env "DECK_IN_COMMENT" }}\n'
        'a: ${{ env "DECK_A" }}\n'
        'b: ${{ env "DECK_B" | toInt }}\n'
        'c: ${{ env "DECK_A" }}'
    )
    assert env_names(text) == ("DECK_A", "DECK_B")
