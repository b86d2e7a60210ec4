from pathlib import Path

import pytest

from claude_gw.config import (
    DEFAULT_MAX_BODY,
    ConfigError,
    Listen,
    Secret,
    Settings,
    parse_size,
)
from claude_gw.routing import ModelRule, Routing


def read_all(environ: dict[str, str]) -> tuple[Listen, Settings]:
    """Every setting the variables hold: the process's and the route's, as `serve` reads them."""
    return Listen.from_env(environ), Settings.from_env(environ)


def test_defaults_follow_the_kong_tutorial_where_it_works():
    settings = Settings.from_env({})
    listen = Listen.from_env({})
    assert (listen.host, listen.port) == ("127.0.0.1", 8000)
    assert settings.upstream_url == "https://api.openai.com/v1"
    assert settings.routing.model == "gpt-5-mini"
    assert settings.log_path == Path("claude.json")
    assert settings.max_body_bytes == DEFAULT_MAX_BODY
    assert settings.api_key is None


def test_every_setting_has_an_environment_variable(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    environ = {
        "CLAUDE_GW_HOST": "0.0.0.0",
        "CLAUDE_GW_PORT": "9000",
        "CLAUDE_GW_UPSTREAM": "http://127.0.0.1:11434/v1/",
        "CLAUDE_GW_API_KEY_FILE": str(key_file),
        "CLAUDE_GW_MODEL": "gpt-4.1",
        "CLAUDE_GW_MODEL_MAP": "claude-haiku-*=gpt-5-nano, claude-opus-*=gpt-5",
        "CLAUDE_GW_LOG": "/tmp/x.json",
        "CLAUDE_GW_LOG_PAYLOADS": "yes",
        "CLAUDE_GW_MAX_BODY": "512KiB",
        "CLAUDE_GW_CONNECT_TIMEOUT": "3",
        "CLAUDE_GW_READ_TIMEOUT": "120",
        "CLAUDE_GW_PING_INTERVAL": "2.5",
    }
    settings, listen = Settings.from_env(environ), Listen.from_env(environ)
    assert listen.host == "0.0.0.0" and listen.port == 9000
    assert settings.upstream_url == "http://127.0.0.1:11434/v1"
    assert settings.api_key == "sk-from-file"
    assert settings.routing.model == "gpt-4.1"
    assert settings.routing.model_map == (
        ModelRule("claude-haiku-*", "gpt-5-nano"),
        ModelRule("claude-opus-*", "gpt-5"),
    )
    assert settings.log_path == Path("/tmp/x.json") and settings.log_payloads is True
    assert settings.max_body_bytes == 512 * 1024
    assert (settings.connect_timeout, settings.read_timeout, settings.ping_interval) == (
        3,
        120,
        2.5,
    )


def test_the_key_comes_from_openai_api_key_and_never_shows_in_a_repr():
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-proj-secretvalue123"})
    assert settings.api_key == "sk-proj-secretvalue123"
    assert isinstance(settings.api_key, Secret)
    assert "secretvalue" not in repr(settings)
    assert "secretvalue" not in repr(settings.api_key)


@pytest.mark.parametrize(
    ("client_model", "expected"),
    [
        pytest.param("claude-haiku-5-5", "gpt-5-nano", id="haiku_subagent_goes_to_the_small_model"),
        pytest.param("claude-opus-5-5", "gpt-5-mini", id="other_claude_names_go_to_the_default"),
        pytest.param("gpt-4.1", "gpt-4.1", id="openai_names_pass_through"),
        pytest.param(None, "gpt-5-mini", id="no_model_goes_to_the_default"),
        pytest.param("", "gpt-5-mini", id="empty_model_goes_to_the_default"),
        pytest.param("o3-mini", "o4-mini", id="map_rules_apply_to_any_name"),
    ],
)
def test_model_resolution(client_model, expected):
    routing = Routing(
        model_map=(ModelRule("claude-haiku-*", "gpt-5-nano"), ModelRule("o3-*", "o4-mini"))
    )
    assert routing.resolve(client_model) == expected


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param({"CLAUDE_GW_PORT": "eighty"}, "CLAUDE_GW_PORT", id="port_not_a_number"),
        pytest.param({"CLAUDE_GW_MAX_BODY": "lots"}, "CLAUDE_GW_MAX_BODY", id="size_not_a_size"),
        pytest.param({"CLAUDE_GW_MODEL_MAP": "claude-*"}, "PATTERN=MODEL", id="map_without_equals"),
        pytest.param(
            {"CLAUDE_GW_UPSTREAM": "api.openai.com"},
            r"CLAUDE_GW_UPSTREAM.*http\(s\) URL",
            id="upstream_no_scheme",
        ),
        pytest.param({"CLAUDE_GW_LOG_PAYLOADS": "maybe"}, "true or false", id="bool_not_a_bool"),
        pytest.param({"CLAUDE_GW_READ_TIMEOUT": "-1"}, "positive", id="negative_timeout"),
        pytest.param(
            {"CLAUDE_GW_API_KEY_FILE": "/nonexistent/key"}, "cannot read", id="missing_key_file"
        ),
    ],
)
def test_bad_settings_name_the_variable_and_what_was_expected(variables, message):
    with pytest.raises(ConfigError, match=message):
        read_all(variables)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("524288", 524288),
        ("512KiB", 524288),
        ("1MB", 1_000_000),
        ("32MiB", 32 * 1024**2),
        ("1.5k", 1500),
    ],
)
def test_sizes_accept_decimal_and_binary_units(text, size):
    assert parse_size(text, "x") == size


def test_simulated_upstream_is_its_own_provider():
    settings = Settings.from_env({"CLAUDE_GW_UPSTREAM": "simulated"})
    assert settings.simulated and settings.provider == "simulated"
    assert Settings().provider == "openai"


ROUTED = Routing(
    model="gpt-5-mini",
    model_map=(ModelRule("o3-*", "o4-mini"),),
    subagent_model="gpt-5-nano",
    long_context_model="gpt-4.1",
    long_context_tokens=1000,
)


@pytest.mark.parametrize(
    ("client_model", "subagent", "tokens", "expected"),
    [
        pytest.param(
            "gpt-5-mini", False, 5000, ("gpt-4.1", "long_context"), id="long_context_first"
        ),
        pytest.param("gpt-5-mini", True, 10, ("gpt-5-nano", "subagent"), id="subagent_header"),
        pytest.param(
            "claude-haiku-5-5", False, 10, ("gpt-5-nano", "subagent"), id="small_claude_model"
        ),
        pytest.param("o3-pro", False, 10, ("o4-mini", "map:o3-*"), id="model_map"),
        pytest.param("claude-opus-5-5", False, 10, ("gpt-5-mini", "default"), id="claude_default"),
        pytest.param("gpt-4.1-mini", False, 10, ("gpt-4.1-mini", "client"), id="client_choice"),
    ],
)
def test_routing_rules_apply_in_order_and_name_the_rule(client_model, subagent, tokens, expected):
    assert ROUTED.choose(client_model, subagent=subagent, prompt_tokens=lambda: tokens) == expected


def test_prompt_tokens_are_counted_only_when_a_long_context_model_is_set():
    def explode() -> int:
        raise AssertionError("counted")

    assert Routing().choose("gpt-5", prompt_tokens=explode) == ("gpt-5", "client")


def test_a_forced_model_takes_every_name_as_kong_does():
    assert Routing(model="gpt-4.1", force_model=True).choose("gpt-5") == ("gpt-4.1", "default")


def test_backend_variables(tmp_path):
    settings = Settings.from_env(
        {
            "CLAUDE_GW_UPSTREAM_API": "responses",
            "CLAUDE_GW_PROVIDER": "azure",
            "CLAUDE_GW_AUTH_HEADER": "api-key",
            "CLAUDE_GW_UPSTREAM_HEADERS": "X-Team: a, X-Env: test",
            "CLAUDE_GW_UPSTREAM_QUERY": "api-version=2024-10-21",
        }
    )
    assert settings.upstream_api == "responses" and settings.provider == "azure"
    assert settings.auth_header == "api-key"
    assert settings.upstream_headers == (("X-Team", "a"), ("X-Env", "test"))
    assert settings.upstream_query == (("api-version", "2024-10-21"),)
    with pytest.raises(ConfigError, match="CLAUDE_GW_UPSTREAM_API: expected one of chat"):
        Settings.from_env({"CLAUDE_GW_UPSTREAM_API": "grpc"})


# variable -> (whose: the process's Listen or the route's Settings, field, text, value)
LIMIT_VARIABLES = {
    "CLAUDE_GW_HEADER_TIMEOUT": (Listen, "header_timeout", "2.5", 2.5),
    "CLAUDE_GW_BODY_TIMEOUT": (Listen, "body_timeout", "30", 30.0),
    "CLAUDE_GW_IDLE_TIMEOUT": (Listen, "idle_timeout", "75", 75.0),
    "CLAUDE_GW_MAX_CONNECTIONS": (Listen, "max_connections", "500", 500),
    "CLAUDE_GW_MAX_HEADER": (Listen, "max_header_bytes", "32KiB", 32 * 1024),
    "CLAUDE_GW_MAX_INFLIGHT": (Listen, "max_inflight_bytes", "1GiB", 1024**3),
    "CLAUDE_GW_MAX_ANSWER": (Settings, "max_answer_bytes", "16MB", 16_000_000),
    "CLAUDE_GW_MAX_DECOMPRESSION_RATIO": (Settings, "max_decompression_ratio", "50", 50.0),
    "CLAUDE_GW_SHUTDOWN_GRACE": (Listen, "shutdown_grace", "5", 5.0),
}


def test_every_limit_has_an_environment_variable_and_a_bounded_default():
    environ = {name: text for name, (_, _, text, _) in LIMIT_VARIABLES.items()}
    read = {Listen: Listen.from_env(environ), Settings: Settings.from_env(environ)}
    for whose, field, _, value in LIMIT_VARIABLES.values():
        assert getattr(read[whose], field) == value, field
    defaults, route = Listen(), Settings()
    assert (defaults.header_timeout, defaults.body_timeout, defaults.idle_timeout) == (10, 60, 5)
    assert defaults.max_header_bytes == 64 * 1024
    assert defaults.max_inflight_bytes == 256 * 1024**2
    assert route.max_answer_bytes == 64 * 1024**2
    assert route.max_decompression_ratio == 200
    assert defaults.max_connections is None  # half the open-file limit, when serving


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("CLAUDE_GW_HEADER_TIMEOUT", "0", "positive number of seconds"),
        ("CLAUDE_GW_MAX_CONNECTIONS", "many", "positive whole number"),
        ("CLAUDE_GW_MAX_HEADER", "big", "a size such as"),
        ("CLAUDE_GW_MAX_DECOMPRESSION_RATIO", "0.5", "at least 1"),
        ("CLAUDE_GW_MAX_DECOMPRESSION_RATIO", "nan", "at least 1"),
    ],
)
def test_a_bad_limit_names_its_variable(variable, text, message):
    with pytest.raises(ConfigError, match=f"{variable}: expected.*{message}"):
        read_all({variable: text})


def test_server_profile_and_context_window_from_the_environment():
    environ = {"CLAUDE_GW_SERVER_PROFILE": "compatible", "CLAUDE_GW_CONTEXT_WINDOW": "8192"}
    settings = Settings.from_env(environ)
    assert (settings.server_profile, settings.context_window) == ("compatible", 8192)
    assert (Settings.from_env({}).server_profile, Settings.from_env({}).context_window) == (
        None,
        None,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CLAUDE_GW_SERVER_PROFILE", "llama", "expected one of openai, compatible"),
        ("CLAUDE_GW_CONTEXT_WINDOW", "8k", "expected a positive whole number"),
    ],
)
def test_bad_server_profile_or_context_window_names_the_variable(name, value, expected):
    with pytest.raises(ConfigError, match=f"{name}: {expected}"):
        Settings.from_env({name: value})
