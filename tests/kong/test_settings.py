"""A Kong route as the gateway's one-route Settings."""

from operator import attrgetter
from pathlib import Path

import pytest

from claude_gw.config import ConfigError, Secret, Settings
from claude_gw.kong import (
    KongOptions,
    deck_from_settings,
    load_deck,
    not_carried_over,
    settings_for_route,
)
from claude_gw.routing import ModelRule, Routing
from tests.kong.helpers import ENV, KEY, ai_proxy, one_route, tutorial

BASE = Settings(read_timeout=30.0, ping_interval=2.0, max_answer_bytes=1_000_000)


def _route_settings(**config):
    [route] = load_deck([("f.json", one_route(plugins=[ai_proxy(**config)]))], {}).routes
    return settings_for_route(route, BASE)


def test_tutorial_route_becomes_settings_that_serve_it_the_same_way():
    [route] = load_deck([tutorial()], ENV).routes
    settings = settings_for_route(route, BASE)
    assert (settings.name, settings.paths, settings.kong.llm_format) == (
        "example-route",
        ("/anything",),
        "anthropic",
    )
    assert (settings.upstream_url, settings.upstream_api, settings.provider) == (
        "https://api.openai.com/v1",
        "chat",
        "openai",
    )
    assert settings.api_key == KEY and settings.auth_header is None
    assert (settings.routing.model, settings.routing.force_model) == ("gpt-5-mini", True)
    assert settings.routing.choose("claude-haiku-4-5-20251001") == ("gpt-5-mini", "default")
    assert settings.max_body_bytes == 524288
    assert settings.log_path == Path("/tmp/claude.json") and settings.log_payloads is False
    # what Kong does not configure is the base's (the process's Listen is not a route's)
    assert (settings.read_timeout, settings.ping_interval, settings.max_answer_bytes) == (
        30.0,
        2.0,
        1_000_000,
    )
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    ("auth", "api_key", "auth_header", "headers"),
    [
        pytest.param(
            {"header_name": "api-key", "header_value": "az-1"}, "az-1", "api-key", (), id="raw_key"
        ),
        pytest.param(
            {"header_name": "Authorization", "header_value": "Basic dXNlcg=="},
            None,
            None,
            (("Authorization", "Basic dXNlcg=="),),
            id="other_scheme",
        ),
        pytest.param({}, None, None, (), id="no_auth"),
    ],
)
def test_auth_headers_map_to_the_gateways_key_options(auth, api_key, auth_header, headers):
    settings = _route_settings(auth=auth)
    assert (settings.api_key, settings.auth_header, settings.upstream_headers) == (
        api_key,
        auth_header,
        headers,
    )


def test_query_auth_joins_the_upstream_query_and_stays_hidden():
    settings = _route_settings(
        auth={"param_name": "key", "param_value": "q-secret", "param_location": "query"},
        model={
            "provider": "openai",
            "options": {"upstream_url": "https://h.invalid/v1/chat/completions?api-version=2"},
        },
    )
    assert dict(settings.upstream_query) == {"api-version": "2", "key": "q-secret"}
    assert "q-secret" not in repr(settings)


def test_unlimited_body_and_no_model_keep_the_base_settings():
    settings = _route_settings(max_request_body_size=0)
    assert settings.max_body_bytes == BASE.max_body_bytes
    assert (settings.routing.model, settings.routing.force_model) == (BASE.routing.model, False)
    assert settings.routing.choose("gpt-4.1") == ("gpt-4.1", "client")  # Kong passes it through


def test_what_settings_cannot_carry_is_listed():
    [route] = load_deck(
        [
            (
                "f.json",
                one_route(
                    plugins=[
                        ai_proxy(
                            auth={"header_name": "A", "header_value": "v", "allow_override": True},
                            model={"provider": "openai", "options": {"temperature": 0.1}},
                        )
                    ]
                ),
            )
        ],
        {},
    ).routes
    assert route.ai_proxy is not None
    # allow_override for a header and the model options are carried (see settings_for_route).
    assert not_carried_over(route.ai_proxy) == [
        "logging.log_statistics false: the ai subtree is still logged",
    ]
    settings = settings_for_route(route, Settings())
    assert settings.kong.allow_override is True
    assert settings.kong.request_overrides == (("temperature", 0.1),)


def test_route_without_ai_proxy_cannot_become_settings():
    [route] = load_deck([("f.json", one_route())], {}).routes
    with pytest.raises(ConfigError, match="no ai-proxy plugin applies"):
        settings_for_route(route, BASE)


FLAG_SETTINGS = [
    pytest.param(Settings(api_key=Secret(KEY)), id="defaults"),
    pytest.param(
        Settings(
            upstream_url="https://mine.openai.azure.com/openai/deployments/gpt",
            api_key=Secret(KEY),
            provider_name="azure",
            auth_header="api-key",
            upstream_query=(("api-version", "2024-10-21"),),
            name="azure-route",
            paths=("/azure", "/az"),
            kong=KongOptions(
                llm_format="openai", input_cost=2.0, output_cost=8.0, model_name_header=True
            ),
            log_path=Path("/var/log/azure.json"),
            log_payloads=True,
            max_body_bytes=4_000_000,
            routing=Routing(model="gpt-4.1", force_model=True),
        ),
        id="azure_with_everything",
    ),
]


@pytest.mark.parametrize("settings", FLAG_SETTINGS)
def test_flags_written_as_deck_and_read_back_give_the_same_settings(settings):
    exported = deck_from_settings(settings)
    assert KEY not in exported
    [route] = load_deck([("exported.yaml", exported)], ENV).routes
    again = settings_for_route(route, settings)
    fields = (
        "name",
        "paths",
        "upstream_url",
        "api_key",
        "auth_header",
        "upstream_query",
        "provider",
        "routing.model",
        "kong",
        "log_path",
        "log_payloads",
        "max_body_bytes",
    )
    assert {f: attrgetter(f)(again) for f in fields} == {f: attrgetter(f)(settings) for f in fields}


def test_what_kong_cannot_do_from_the_flags_is_said_in_comments():
    settings = Settings(
        upstream_headers=(("OpenAI-Organization", "org-1"),),
        upstream_api="responses",
        routing=Routing(
            subagent_model="gpt-5-nano",
            long_context_model="gpt-4.1",
            model_map=(ModelRule("claude-opus-*", "gpt-5"),),
        ),
    )
    comments = [line for line in deck_from_settings(settings).splitlines() if line[:1] == "#"]
    for words in (
        "subagent model gpt-5-nano",
        "long-context model gpt-4.1",
        "(OpenAI-Organization) need another plugin",
        "spoke the responses API",
        "model map claude-opus-*=gpt-5 cannot be expressed",
        "passed other model names through",
    ):
        assert any(words in line for line in comments), words
    assert not any("org-1" in line for line in comments)
