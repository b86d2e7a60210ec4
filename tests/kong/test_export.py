"""decK YAML out: valid for Kong 3.13, no secret in clear, and the same behaviour when read back."""

from pathlib import Path

import pytest

from claude_gw.config import Secret, Settings
from claude_gw.kong import (
    DeckConfig,
    behaviour_differences,
    deck_from_settings,
    env_names,
    export_deck,
    load_deck,
)
from claude_gw.kong.export import check_document
from claude_gw.routing import ModelRule, Routing
from tests.kong.helpers import (
    ENV,
    KEY,
    ai_proxy,
    document,
    one_route,
    plugin_of,
    route,
    tutorial,
)


def _reload(text: str, environ: dict[str, str]) -> DeckConfig:
    return load_deck([("exported.yaml", text)], environ)


def test_tutorial_round_trip_gives_the_same_behaviour():
    original = load_deck([tutorial()], ENV)
    exported = export_deck(original)
    again = _reload(exported, ENV)
    assert behaviour_differences(original, again) == []
    assert again.warnings == ()
    assert export_deck(again) == exported  # a fixed point


def test_tutorial_export_keeps_the_key_as_a_deck_variable_reference():
    exported = export_deck(load_deck([tutorial()], ENV))
    assert KEY not in exported
    assert 'header_value: Bearer ${{ env "DECK_OPENAI_API_KEY" }}' in exported
    assert env_names(exported) == ("DECK_OPENAI_API_KEY",)
    assert "_format_version: '3.0'" in exported
    assert "max_request_body_size: 524288" in exported


def test_comments_of_an_export_never_hold_a_template_deck_would_render():
    exported = deck_from_settings(Settings(api_key=Secret(KEY)))
    comments = [line for line in exported.splitlines() if line.startswith("#")]
    assert comments and not any("${{" in line for line in comments)


def test_secrets_written_in_clear_are_exported_as_new_deck_variables():
    plugins = [
        ai_proxy(auth={"header_name": "Authorization", "header_value": "Bearer sk-one-111111"}),
    ]
    second_route = ai_proxy(
        auth={"param_name": "key", "param_value": "sk-two-222222", "param_location": "query"}
    )
    service = {
        "name": "svc",
        "url": "http://upstream.invalid",
        "routes": [route("r", "/chat"), route("r2", "/other", plugins=[second_route])],
    }
    original = load_deck([("clear.json", document(services=[service], plugins=plugins))], {})
    exported = export_deck(original)
    assert "sk-one-111111" not in exported and "sk-two-222222" not in exported
    assert sorted(env_names(exported)) == ["DECK_OPENAI_API_KEY", "DECK_OPENAI_API_KEY_2"]
    environ = {"DECK_OPENAI_API_KEY": "sk-one-111111", "DECK_OPENAI_API_KEY_2": "sk-two-222222"}
    assert behaviour_differences(original, _reload(exported, environ)) == []


def test_plugins_are_exported_where_they_were_declared_so_precedence_is_kept():
    service_a = {
        "name": "a",
        "url": "http://a.invalid:8080/base",
        "read_timeout": 120000,
        "routes": [
            route("ra", "/ra", plugins=[ai_proxy(model={"provider": "openai", "name": "m-route"})]),
            route("rb", "/rb", strip_path=False),
        ],
        "plugins": [ai_proxy(model={"provider": "openai", "name": "m-service"})],
    }
    loose = route("rc", "/rc")
    plugins = [
        ai_proxy(model={"provider": "openai", "name": "m-global"}),
        {"name": "file-log", "config": {"path": "/var/log/a.json", "reopen": True}, "service": "a"},
        {"name": "file-log", "config": {"path": "/var/log/all.json"}},
    ]
    original = load_deck(
        [("f.json", document(services=[service_a], routes=[loose], plugins=plugins))], {}
    )
    exported = export_deck(original)
    again = _reload(exported, {})
    assert behaviour_differences(original, again) == []
    assert [plugin_of(r).plugin_id for r in again.routes] == [
        plugin_of(r).plugin_id for r in original.routes
    ]


def test_options_and_kept_provider_options_survive_the_round_trip():
    options = {
        "upstream_url": "http://127.0.0.1:11434/v1/chat/completions",
        "input_cost": 1.25,
        "output_cost": 10,
        "max_tokens": 1024,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "azure_instance": "mine",
    }
    plugin = ai_proxy(
        model={"provider": "openai", "name": "gpt-5", "options": options},
        response_streaming="always",
        model_name_header=False,
        max_request_body_size=0,
        logging={"log_statistics": True, "log_payloads": True},
    )
    original = load_deck([("f.json", one_route(plugins=[plugin]))], {})
    assert behaviour_differences(original, _reload(export_deck(original), {})) == []


def test_behaviour_differences_name_the_field_and_hide_secret_values():
    first = load_deck([tutorial()], ENV)
    changed = load_deck([tutorial()], {"DECK_OPENAI_API_KEY": "sk-other-999999"})
    assert behaviour_differences(first, changed) == [
        "routes[example-route].ai_proxy.auth.header_value: the secrets differ"
    ]
    other_model = tutorial()[1].replace("name: gpt-5-mini", "name: gpt-5")
    assert behaviour_differences(first, load_deck([("k.yaml", other_model)], ENV)) == [
        "routes[example-route].ai_proxy.model_name: 'gpt-5-mini' != 'gpt-5'"
    ]


@pytest.mark.parametrize(
    ("plugin", "problem"),
    [
        pytest.param(
            {
                "name": "ai-proxy",
                "config": {
                    "max_request_body_size": 1,
                    "model": {"provider": "openai", "colour": 1},
                },
            },
            "plugins[0].config.model.colour",
            id="unknown_field",
        ),
        pytest.param(
            {
                "name": "ai-proxy",
                "config": {"max_request_body_size": 1, "auth": {"header_value": "Bearer sk"}},
            },
            "plugins[0].config.auth.header_value: a secret written in clear",
            id="secret_in_clear",
        ),
        pytest.param(
            {"name": "ai-proxy", "config": {}},
            "plugins[0].config.max_request_body_size: missing",
            id="body_size_missing",
        ),
        pytest.param({"name": "rate-limiting", "config": {}}, "plugins[0].name", id="other_plugin"),
        pytest.param(
            {"name": "file-log", "config": {"path": "/x"}, "service": "s"},
            "plugins[0].service: not a plugin field",
            id="reference_key",
        ),
    ],
)
def test_documents_are_checked_against_kongs_field_lists_before_writing(plugin, problem):
    problems = check_document({"_format_version": "3.0", "plugins": [plugin]})
    assert any(p.startswith(problem) for p in problems), problems


def test_flag_configuration_exports_to_a_file_claude_gw_reads_back_the_same_way():
    settings = Settings(
        upstream_url="http://127.0.0.1:11434/v1",
        api_key=Secret(KEY),
        log_path=Path("/var/log/claude.json"),
        log_payloads=True,
        max_body_bytes=2_000_000,
        routing=Routing(model="gpt-4.1", model_map=(ModelRule("claude-haiku-*", "gpt-5-nano"),)),
    )
    exported = deck_from_settings(settings)
    assert KEY not in exported
    assert "# claude_gw model map claude-haiku-*=gpt-5-nano cannot be expressed in Kong" in exported
    config = _reload(exported, ENV)
    assert config.warnings == ()
    [served] = config.routes
    ai = plugin_of(served)
    assert served.file_log is not None
    assert (served.paths, ai.llm_format, ai.model_name) == (("/",), "anthropic", "gpt-4.1")
    assert ai.chat_url == "http://127.0.0.1:11434/v1/chat/completions"
    assert ai.upstream_headers() == {"Authorization": f"Bearer {KEY}"}
    assert (ai.log_statistics, ai.log_payloads, ai.max_request_body_size) == (True, True, 2_000_000)
    assert ai.plugin_id == settings.plugin_id  # Kong logs the same meta.plugin_id
    assert served.file_log.path == "/var/log/claude.json"


@pytest.mark.parametrize(
    ("settings", "expected", "absent"),
    [
        pytest.param(
            Settings(), "DECK_OPENAI_API_KEY", "upstream_url", id="openai_always_has_auth"
        ),
        pytest.param(
            Settings(upstream_url="http://127.0.0.1:8080/v1"),
            "upstream_url: http://127.0.0.1:8080/v1/chat/completions",
            "header_value",
            id="local_server_without_key",
        ),
        pytest.param(
            Settings(upstream_url="simulated"),
            "# claude_gw ran its simulated upstream",
            "upstream_url",
            id="simulated_upstream",
        ),
        pytest.param(
            Settings(),
            "# file-log path claude.json is relative",
            '${{ env "DECK_OPENAI_API_KEY_2',
            id="relative_log",
        ),
    ],
)
def test_flag_configurations_say_what_kong_cannot_do(settings, expected, absent):
    exported = deck_from_settings(settings)
    assert expected in exported and absent not in exported
    _reload(exported, ENV)  # and it reads back
