import pytest

from claude_gw.kong import KongConfigError, behaviour_differences, load_deck
from tests.kong.helpers import (
    ENV,
    KEY,
    ai_proxy,
    document,
    one_route,
    plugin_of,
    route,
    tutorial,
    tutorial_steps,
)


def test_tutorial_file_loads_as_kong_serves_it():
    config = load_deck([tutorial()], ENV)
    [served] = config.routes
    assert (served.name, served.paths, served.protocols) == (
        "example-route",
        ("/anything",),
        ("http", "https"),
    )
    assert served.service is not None
    assert (served.service.name, served.service.url) == (
        "example-service",
        "http://httpbin.konghq.com/anything",
    )
    ai = served.ai_proxy
    assert ai is not None
    assert (ai.llm_format, ai.route_type, ai.provider, ai.model_name) == (
        "anthropic",
        "llm/v1/chat",
        "openai",
        "gpt-5-mini",
    )
    assert ai.upstream_headers() == {"Authorization": f"Bearer {KEY}"}
    assert ai.auth.allow_override is False
    assert ai.max_request_body_size == 524288
    assert (ai.log_statistics, ai.log_payloads) == (True, False)
    assert ai.upstream_base_url == "https://api.openai.com/v1"
    assert served.file_log is not None and served.file_log.path == "/tmp/claude.json"


def test_tutorial_fixture_comment_that_deck_would_render_is_the_only_warning():
    # The fixture's header comment quotes `${{ env "..." }}`: decK renders comments too and
    # would stop on it; claude_gw leaves it alone and says so.
    [warning] = load_deck([tutorial()], ENV).warnings
    assert warning.path == "line 8" and "found: '...'" in warning.message


def test_tutorial_three_step_documents_load_to_the_merged_file():
    merged = load_deck([tutorial()], ENV)
    steps = load_deck(tutorial_steps(), ENV)
    assert behaviour_differences(steps, merged) == []
    assert steps.routes == merged.routes
    assert steps.warnings == ()


def test_tutorial_steps_in_another_order_load_the_same():
    first, second, third = tutorial_steps()
    assert load_deck([third, first, second], ENV).routes == load_deck([tutorial()], ENV).routes


def test_tutorial_plugins_alone_are_an_error_since_no_route_is_served():
    with pytest.raises(KongConfigError, match="no route to serve"):
        load_deck(tutorial_steps()[1:], ENV)


def test_tutorial_without_its_deck_variable_is_an_error_naming_it():
    with pytest.raises(KongConfigError) as caught:
        load_deck([tutorial()], {"OPENAI_API_KEY": KEY})
    assert caught.value.file == "kong.yaml"
    assert "'DECK_OPENAI_API_KEY' present in state file but not set" in str(caught.value)


def _three_scopes(route_plugin_enabled: bool = True) -> str:
    """Service a (routes ra with its own plugin, rb), service b (route rc), a global plugin."""
    route_plugin = ai_proxy(model={"provider": "openai", "name": "route-model"})
    route_plugin["enabled"] = route_plugin_enabled
    service_a = {
        "name": "a",
        "url": "http://a.invalid",
        "routes": [route("ra", "/ra", plugins=[route_plugin]), route("rb", "/rb")],
        "plugins": [ai_proxy(model={"provider": "openai", "name": "service-model"})],
    }
    service_b = {"name": "b", "url": "http://b.invalid", "routes": [route("rc", "/rc")]}
    global_plugin = ai_proxy(model={"provider": "openai", "name": "global-model"})
    return document(services=[service_a, service_b], plugins=[global_plugin])


def _models(text: str) -> dict[str, str | None]:
    config = load_deck([("f.json", text)], {})
    return {r.key: r.ai_proxy.model_name if r.ai_proxy else None for r in config.routes}


def test_route_plugin_beats_service_plugin_beats_global_plugin():
    assert _models(_three_scopes()) == {
        "ra": "route-model",
        "rb": "service-model",
        "rc": "global-model",
    }


def test_disabled_route_plugin_leaves_the_service_plugin_in_charge():
    assert _models(_three_scopes(route_plugin_enabled=False))["ra"] == "service-model"


def test_plugins_attached_by_reference_equal_nested_plugins():
    nested = load_deck([("n.json", _three_scopes())], {})
    service_a = {
        "name": "a",
        "id": "0b5e3b4e-0000-4000-8000-00000000000a",
        "url": "http://a.invalid",
    }
    by_reference = document(
        services=[service_a, {"name": "b", "url": "http://b.invalid"}],
        routes=[
            route("ra", "/ra", service={"name": "a"}),
            route("rb", "/rb", service="a"),
            route("rc", "/rc", service="b"),
        ],
        plugins=[
            ai_proxy(model={"provider": "openai", "name": "route-model"}) | {"route": "ra"},
            ai_proxy(model={"provider": "openai", "name": "service-model"})
            | {"service": service_a["id"]},
            ai_proxy(model={"provider": "openai", "name": "global-model"}),
        ],
    )
    referenced = load_deck([("r.json", by_reference)], {})
    differences = behaviour_differences(nested, referenced)
    # Only the service id differs: the plugins resolve to the same scopes and plugin ids.
    assert differences == [
        f"routes[{key}].service.id: None != '{service_a['id']}'" for key in ("ra", "rb")
    ]


def test_each_route_reports_the_file_and_key_path_of_its_plugin():
    config = load_deck([("f.json", _three_scopes())], {})
    origins = {r.key: r.ai_proxy.origin for r in config.routes if r.ai_proxy and r.ai_proxy.origin}
    assert origins["ra"].path == "services[0].routes[0].plugins[0]"
    assert origins["rb"].path == "services[0].plugins[0]"
    assert origins["rc"].path == "plugins[0]" and origins["rc"].file == "f.json"


def test_plugin_ids_are_stable_per_scope_and_explicit_ids_are_kept():
    text = one_route(plugins=[ai_proxy() | {"id": "11111111-2222-4333-8444-555555555555"}])
    [served] = load_deck([("f.json", text)], {}).routes
    assert plugin_of(served).plugin_id == "11111111-2222-4333-8444-555555555555"
    first = load_deck([("f.json", one_route(plugins=[ai_proxy()]))], {}).routes[0]
    again = load_deck([("g.json", one_route(plugins=[ai_proxy(max_request_body_size=0)]))], {})
    assert plugin_of(first).plugin_id == plugin_of(again.routes[0]).plugin_id


def test_longest_route_path_wins_and_the_rest_is_what_kong_forwards():
    text = document(
        services=[
            {
                "name": "s",
                "url": "http://s.invalid",
                "routes": [route("short", "/a"), route("long", "/a/b")],
            }
        ],
        plugins=[ai_proxy()],
    )
    config = load_deck([("f.json", text)], {})
    match = config.match("/a/b/v1/messages")
    assert match is not None
    assert (match.route.key, match.prefix, match.rest) == ("long", "/a/b", "/v1/messages")
    short = config.match("/a/v1/messages")
    assert short is not None and short.route.key == "short"
    assert config.match("/elsewhere") is None


def test_kong_dump_with_nulls_and_defaults_loads_without_warnings():
    dumped = ai_proxy(
        auth={
            "header_name": "Authorization",
            "header_value": "Bearer x",
            "param_name": None,
            "param_value": None,
            "param_location": None,
            "allow_override": False,
            "azure_use_managed_identity": False,
            "gcp_use_service_account": False,
            "aws_access_key_id": None,
        },
        model={
            "provider": "openai",
            "name": "gpt-5-mini",
            "options": {
                "azure_api_version": "2023-05-15",
                "bedrock": {"aws_region": None, "embeddings_normalize": False},
                "cohere": {"embedding_input_type": "classification", "wait_for_model": None},
                "upstream_url": None,
            },
        },
        response_streaming="allow",
        genai_category="text/generation",
        llm_format="anthropic",
    ) | {"id": "11111111-2222-4333-8444-555555555555", "enabled": True, "protocols": ["http"]}
    config = load_deck([("dump.json", one_route(plugins=[dumped]))], {})
    assert config.warnings == ()


@pytest.mark.parametrize(
    ("plugins", "path", "words"),
    [
        pytest.param(
            [ai_proxy(model={"provider": "openai", "options": {"azure_instance": "x"}})],
            "plugins[0].config.model.options.azure_instance",
            "ignored",
            id="provider_option",
        ),
        pytest.param(
            [ai_proxy(model={"provider": "openai", "options": {"colour": "red"}})],
            "plugins[0].config.model.options.colour",
            "unknown key",
            id="unknown_option",
        ),
        pytest.param(
            [ai_proxy(timeout=3)], "plugins[0].config.timeout", "unknown key", id="unknown_config"
        ),
        pytest.param(
            [ai_proxy(response_streaming="deny")],
            "plugins[0].config.response_streaming",
            "not enforced",
            id="response_streaming",
        ),
        pytest.param(
            [ai_proxy(), {"name": "rate-limiting", "config": {"minute": 5}}],
            "plugins[1].name",
            "not supported",
            id="unsupported_plugin",
        ),
        pytest.param(
            [
                ai_proxy(),
                {
                    "name": "file-log",
                    "config": {"path": "/tmp/x", "custom_fields_by_lua": {"a": "return 1"}},
                },
            ],
            "plugins[1].config.custom_fields_by_lua",
            "Lua",
            id="file_log_lua",
        ),
        pytest.param(
            [ai_proxy(auth={"gcp_use_service_account": True})],
            "plugins[0].config.auth.gcp_use_service_account",
            "ignored",
            id="cloud_auth",
        ),
        pytest.param(
            [ai_proxy(model={"provider": "openai", "options": {"input_cost": 1.0}})],
            "plugins[0].config.model.options.input_cost",
            "cost stays 0",
            id="one_cost_only",
        ),
        pytest.param(
            [ai_proxy() | {"consumer": "alice"}],
            "plugins[0].consumer",
            "no per-consumer plugins",
            id="consumer_plugin",
        ),
    ],
)
def test_warnings_name_the_key_path_of_what_is_ignored(plugins, path, words):
    config = load_deck([("f.json", one_route(plugins=plugins))], {})
    matching = [w for w in config.warnings if w.path == path]
    assert matching, [str(w) for w in config.warnings]
    assert words in matching[0].message and matching[0].file == "f.json"


def test_route_matchers_other_than_paths_are_warned_about():
    service = {"name": "s", "url": "http://s.invalid", "routes": [route("r", "/x", hosts=["a.b"])]}
    config = load_deck([("f.json", document(services=[service], plugins=[ai_proxy()]))], {})
    assert [w.path for w in config.warnings] == ["services[0].routes[0].hosts"]


def test_route_without_ai_proxy_is_served_with_a_warning():
    config = load_deck([("f.json", one_route())], {})
    assert config.routes[0].ai_proxy is None
    assert "no ai-proxy plugin applies" in config.warnings[0].message


_SERVICE = {"name": "svc", "url": "http://upstream.invalid", "routes": [route("r", "/chat")]}


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        pytest.param(
            "_format_version: '3.0'\nservices: [\n",
            "line 3, column 1",
            "invalid YAML",
            id="bad_yaml",
        ),
        pytest.param("a: 1\na: 2\n", "line 2, column 1", "duplicate key 'a'", id="duplicate_key"),
        pytest.param("", "", "empty file", id="empty"),
        pytest.param(" _format_version: '3.0'", "line 1", "whitespace", id="leading_space"),
        pytest.param("- a\n", "", "expected a mapping, got a list", id="not_a_mapping"),
        pytest.param(
            document(services=[_SERVICE]).replace('"3.0"', "3.0"),
            "_format_version",
            "quoted",
            id="unquoted_version",
        ),
        pytest.param('{"services": []}', "_format_version", "required", id="no_version"),
        pytest.param(
            one_route(plugins=[ai_proxy(max_request_body_size="big")]),
            "plugins[0].config.max_request_body_size",
            "expected an integer, got a string",
            id="wrong_type",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(model={"name": "gpt-5"})]),
            "plugins[0].config.model.provider",
            "required key is missing",
            id="missing_provider",
        ),
        pytest.param(
            one_route(plugins=[{"name": "ai-proxy", "config": {"model": {"provider": "openai"}}}]),
            "plugins[0].config.route_type",
            "required key is missing",
            id="missing_route_type",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(route_type="llm/v1/embeddings")]),
            "plugins[0].config.route_type",
            "only llm/v1/chat",
            id="other_route_type",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(route_type="llm/v9")]),
            "plugins[0].config.route_type",
            "expected one of",
            id="unknown_route_type",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(llm_format="gemini")]),
            "plugins[0].config.llm_format",
            "anthropic and openai",
            id="unserved_format",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(model={"provider": "mistral"})]),
            "plugins[0].config.model.options.upstream_url",
            "required with provider mistral",
            id="provider_without_url",
        ),
        pytest.param(
            one_route(
                plugins=[ai_proxy(model={"provider": "openai", "options": {"temperature": 9}})]
            ),
            "plugins[0].config.model.options.temperature",
            "between 0 and 5",
            id="temperature_range",
        ),
        pytest.param(
            one_route(
                plugins=[
                    ai_proxy(
                        model={"provider": "openai", "options": {"input_cost": 0, "output_cost": 1}}
                    )
                ]
            ),
            "plugins[0].config.model.options.input_cost",
            "greater than 0",
            id="zero_cost",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(auth={"header_name": "Authorization"})]),
            "plugins[0].config.auth.header_value",
            "set all or none",
            id="header_name_alone",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(auth={"param_name": "key", "param_value": "v"})]),
            "plugins[0].config.auth.param_location",
            "set all or none",
            id="param_without_location",
        ),
        pytest.param(
            one_route(
                plugins=[ai_proxy(auth={"header_name": "A", "header_value": "{vault://env/key}"})]
            ),
            "plugins[0].config.auth.header_value",
            "vault",
            id="vault_reference",
        ),
        pytest.param(
            one_route(
                plugins=[ai_proxy(model={"provider": "openai", "name": "$(headers.x-model)"})]
            ),
            "plugins[0].config.model.name",
            "templates",
            id="model_template",
        ),
        pytest.param(
            one_route(plugins=[{"name": "file-log", "config": {"reopen": True}}]),
            "plugins[0].config.path",
            "required key is missing",
            id="file_log_without_path",
        ),
        pytest.param(
            one_route(plugins=[{"name": "file-log"}]),
            "plugins[0].config",
            "required key is missing",
            id="plugin_without_config",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy(), ai_proxy()]),
            "plugins[1]",
            "a second ai-proxy plugin for global",
            id="duplicate_plugin",
        ),
        pytest.param(
            one_route(plugins=[ai_proxy() | {"route": "nowhere"}]),
            "plugins[0].route",
            "no route named 'nowhere'",
            id="unknown_route",
        ),
        pytest.param(
            document(services=[_SERVICE, _SERVICE]),
            "services[1]",
            "a second service named 'svc'",
            id="duplicate_service",
        ),
        pytest.param(
            document(routes=[route("r", "/x", service="ghost")]),
            "routes[0].service",
            "no service named 'ghost'",
            id="unknown_service",
        ),
        pytest.param(
            document(
                services=[
                    {"name": "s", "url": "http://s.invalid", "routes": [route("r", "~/v[0-9]+")]}
                ]
            ),
            "services[0].routes[0].paths[0]",
            "regex paths",
            id="regex_path",
        ),
        pytest.param(
            document(services=[{"name": "s", "routes": [route("r", "/x")]}]),
            "services[0].host",
            "needs url or host",
            id="service_without_url",
        ),
        pytest.param(
            document(
                services=[{"name": "s", "url": "http://s.invalid", "routes": [{"name": "r"}]}]
            ),
            "services[0].routes[0].paths",
            "needs paths",
            id="route_without_paths",
        ),
    ],
)
def test_invalid_files_are_errors_naming_the_file_the_key_path_and_the_expectation(
    text, path, words
):
    with pytest.raises(KongConfigError) as caught:
        load_deck([("bad.yaml", text)], {})
    assert (caught.value.file, caught.value.path) == ("bad.yaml", path), str(caught.value)
    assert words in caught.value.message
    assert str(caught.value).startswith(f"bad.yaml: {path}: " if path else "bad.yaml: ")
