"""What an ai-proxy configuration means for one request (model, URL, auth, cost, limits)."""

import pytest

from claude_gw.config import Secret
from claude_gw.kong import AIProxyConfig, AuthConfig, load_deck
from tests.kong.helpers import ai_proxy, one_route


def _load(**config) -> tuple[AIProxyConfig, list[str]]:
    loaded = load_deck([("f.json", one_route(plugins=[ai_proxy(**config)]))], {})
    ai = loaded.routes[0].ai_proxy
    assert ai is not None
    return ai, [f"{w.path}: {w.message}" for w in loaded.warnings]


@pytest.mark.parametrize(
    ("configured", "client", "upstream", "kong_error"),
    [
        pytest.param("gpt-5-mini", "gpt-5-mini", "gpt-5-mini", None, id="same_model"),
        pytest.param("gpt-5-mini", None, "gpt-5-mini", None, id="no_client_model"),
        pytest.param(
            "gpt-5-mini",
            "claude-haiku-4-5-20251001",
            "gpt-5-mini",
            "cannot use own model - must be: gpt-5-mini",
            id="claude_cli_haiku_subagent_mapped_where_kong_rejects",
        ),
        pytest.param(None, "gpt-4.1", "gpt-4.1", None, id="unconfigured_uses_client_model"),
        pytest.param(
            None,
            None,
            None,
            "model parameter not found in request, nor in gateway configuration",
            id="no_model_anywhere",
        ),
    ],
)
def test_configured_model_wins_over_the_clients(configured, client, upstream, kong_error):
    ai = AIProxyConfig(provider="openai", model_name=configured)
    assert ai.upstream_model(client) == upstream
    assert ai.kong_model_error(client) == kong_error


@pytest.mark.parametrize(
    ("upstream_url", "base", "chat", "warned"),
    [
        pytest.param(
            None,
            "https://api.openai.com/v1",
            "https://api.openai.com/v1/chat/completions",
            False,
            id="openai_default",
        ),
        pytest.param(
            "http://127.0.0.1:11434/v1/chat/completions",
            "http://127.0.0.1:11434/v1",
            "http://127.0.0.1:11434/v1/chat/completions",
            False,
            id="full_url_as_kong_wants",
        ),
        pytest.param(
            "http://127.0.0.1:11434/v1/",
            "http://127.0.0.1:11434/v1",
            "http://127.0.0.1:11434/v1/chat/completions",
            True,
            id="base_url_read_as_base_with_warning",
        ),
    ],
)
def test_upstream_url_is_kongs_full_chat_url_and_the_base_is_derived(
    upstream_url, base, chat, warned
):
    ai, warnings = _load(model={"provider": "openai", "options": {"upstream_url": upstream_url}})
    assert (ai.upstream_base_url, ai.chat_url) == (base, chat)
    assert any("upstream_url" in w for w in warnings) is warned


def test_upstream_url_query_and_query_auth_become_upstream_query_parameters():
    ai, _ = _load(
        model={
            "provider": "openai",
            "options": {"upstream_url": "https://h.invalid/v1/chat/completions?api-version=2"},
        },
        auth={"param_name": "key", "param_value": "k-1", "param_location": "query"},
    )
    assert ai.upstream_base_url == "https://h.invalid/v1"
    assert ai.upstream_query() == {"api-version": "2", "key": "k-1"}
    assert ai.upstream_headers() == {} and ai.auth.body_fields({}) == {}


@pytest.mark.parametrize(
    ("allow_override", "client", "sent"),
    [
        pytest.param(
            False, {"authorization": "Bearer x"}, "Bearer sk-gw", id="kong_overwrites_client"
        ),
        pytest.param(
            True, {"Authorization": "Bearer own"}, "Bearer own", id="override_keeps_client"
        ),
        pytest.param(True, {}, "Bearer sk-gw", id="override_without_client_header"),
    ],
)
def test_auth_header_follows_allow_override(allow_override, client, sent):
    auth = AuthConfig("Authorization", Secret("Bearer sk-gw"), allow_override=allow_override)
    assert auth.headers(client) == {"Authorization": sent}


def test_body_auth_parameter_becomes_a_body_field_unless_the_client_may_override_it():
    auth = AuthConfig(param_name="api_key", param_value=Secret("k"), param_location="body")
    assert auth.body_fields({"api_key": "mine"}) == {"api_key": "k"}
    assert auth.query() == {}
    overridable = AuthConfig(
        param_name="api_key", param_value=Secret("k"), param_location="body", allow_override=True
    )
    assert overridable.body_fields({"api_key": "mine"}) == {"api_key": "mine"}


@pytest.mark.parametrize(
    ("options", "cost"),
    [
        pytest.param(
            {"input_cost": 1.25, "output_cost": 10.0},
            (1000 * 1.25 + 200 * 10.0) / 1e6,
            id="both_costs",
        ),
        pytest.param({}, 0.0, id="no_costs"),
    ],
)
def test_cost_is_kongs_per_million_formula(options, cost):
    ai, _ = _load(model={"provider": "openai", "options": options})
    assert ai.cost(1000, 200) == pytest.approx(cost)


def test_model_options_override_the_request_as_kong_merges_them():
    ai, warnings = _load(
        model={
            "provider": "openai",
            "options": {"max_tokens": 512, "temperature": 0.5, "top_p": 1, "top_k": 40},
        }
    )
    assert ai.request_overrides() == {
        "max_tokens": 512,
        "temperature": 0.5,
        "top_p": 1.0,
        "top_k": 40,
    }
    assert warnings == []
    assert AIProxyConfig(provider="openai").request_overrides() == {}


@pytest.mark.parametrize(
    ("size", "limit"),
    [
        pytest.param(None, 1_048_576, id="kong_3_13_default"),
        pytest.param(0, None, id="zero_is_unlimited"),
        pytest.param(524288, 524288, id="tutorial"),
    ],
)
def test_max_request_body_size_gives_the_body_limit(size, limit):
    ai, _ = _load(max_request_body_size=size)
    assert ai.body_limit == limit


def test_model_name_header_names_provider_and_model_unless_turned_off():
    assert AIProxyConfig(provider="openai").model_header("gpt-5") == "openai/gpt-5"
    assert AIProxyConfig(provider="openai", model_name_header=False).model_header("gpt-5") is None


def test_other_providers_are_reached_as_openai_compatible_servers_with_a_warning():
    ai, warnings = _load(
        model={
            "provider": "mistral",
            "name": "mistral-large",
            "options": {"upstream_url": "https://api.mistral.ai/v1/chat/completions"},
        }
    )
    assert ai.upstream_base_url == "https://api.mistral.ai/v1"
    assert any(w.startswith("plugins[0].config.model.provider: ") for w in warnings)


def test_llm_format_openai_clients_are_served_too():
    ai, warnings = _load(llm_format="openai")
    assert ai.llm_format == "openai" and warnings == []
    assert _load()[0].llm_format == "openai"  # Kong's default


def test_secrets_never_show_in_a_repr():
    ai, _ = _load(auth={"header_name": "Authorization", "header_value": "Bearer sk-visible-123"})
    assert "sk-visible-123" not in repr(ai)
