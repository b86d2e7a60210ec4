"""The bridge between the gateway's route `Settings` (one route, one upstream) and Kong routes.

`deck_from_settings(settings, listen=...)` writes a gateway configured by flags as decK YAML
(one route on `settings.paths`, global ai-proxy and file-log); what Kong cannot express
(model-map rules, subagent and long-context models, extra upstream headers, an upstream API
other than Chat Completions, the simulated upstream) is said in comments at the top.

`settings_for_route(route, base)` fills the route's identity, upstream, auth, model and logging
from its effective ai-proxy and file-log plugins and its client keys from key-auth, keeping
everything else (timeouts, the upstream's limits) from `base`; what the route does as Kong does
it is its `KongOptions` (`kong_options`): the client format, the configured costs, the model
header, the model options that replace the client's values (`max_tokens`, `temperature`,
`top_p`, `top_k`) and `auth.allow_override` for an auth header. Nothing holds the rest, so it is
not carried over (see `not_carried_over`): `allow_override` for an auth parameter, an auth
parameter in the body, `response_streaming`, `logging.log_statistics: false`, file-log `reopen`
(a moved log is always reopened), and the plugin id.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from claude_gw.apis import ANTHROPIC, CHAT, OPENAI_URL
from claude_gw.config import ConfigError, Listen, Secret, Settings
from claude_gw.kong import schema
from claude_gw.kong.envsubst import Substitution
from claude_gw.kong.export import DEFAULT_KEY_ENV, export_deck
from claude_gw.kong.keyauth import client_auth
from claude_gw.kong.model import (
    AIProxyConfig,
    AuthConfig,
    ConsumerConfig,
    ConsumerKey,
    DeckConfig,
    FileLogConfig,
    KeyAuthConfig,
    ModelOptions,
    Origin,
    RouteConfig,
    Scope,
    ServiceConfig,
    derived_plugin_id,
    kong_api,
)
from claude_gw.kong.options import KongOptions

_BEARER = "Bearer "


def settings_for_route(route: RouteConfig, base: Settings) -> Settings:
    """`base` with this route's Kong configuration applied. A route without ai-proxy is an
    error: claude_gw has nothing to proxy it to.

    Kong's `max_request_body_size: 0` (unlimited) keeps `base.max_body_bytes` as the ceiling;
    no configured model name keeps `base.routing.model` for Claude model names (Kong would pass them
    to the upstream, which fails) and passes other names through, as Kong does."""
    ai = route.ai_proxy
    if ai is None:
        raise ConfigError(f"route {route.key}: no ai-proxy plugin applies, nothing to proxy to")
    api_key, auth_header, headers = _auth(ai.auth)
    return replace(
        base,
        name=route.key,
        paths=route.paths,
        upstream_url=ai.upstream_base_url,
        # provider anthropic: Anthropic Messages passed through, logged the same way
        upstream_api=kong_api(ai.provider).name,
        provider_name=ai.provider,
        api_key=api_key,
        auth_header=auth_header,
        upstream_headers=headers,
        upstream_query=_query(ai),
        # the rest of the routing (model map, subagent and long-context models) is the base's
        routing=replace(
            base.routing,
            model=ai.model_name or base.routing.model,
            force_model=ai.model_name is not None,
        ),
        kong=kong_options(ai),
        log_payloads=ai.log_payloads,
        max_body_bytes=ai.body_limit or base.max_body_bytes,
        log_path=Path(route.file_log.path) if route.file_log else base.log_path,
        # key-auth's consumer keys; a route without key-auth keeps --client-key-file's
        client_auth=client_auth(route.key_auth) if route.key_auth else base.client_auth,
    )


def kong_options(ai: AIProxyConfig) -> KongOptions:
    """What the route does as this ai-proxy plugin does it, beyond proxying."""
    return KongOptions(
        llm_format=ai.llm_format,
        input_cost=ai.options.input_cost,
        output_cost=ai.options.output_cost,
        model_name_header=ai.model_name_header,
        request_overrides=tuple(ai.request_overrides().items()),
        allow_override=ai.auth.allow_override and bool(ai.auth.header_name),
    )


def _auth(auth: AuthConfig) -> tuple[Secret | None, str | None, tuple[tuple[str, str], ...]]:
    """(api_key, auth_header, extra headers): `Authorization: Bearer K` is the default key
    header; another header carries its raw value; any other Authorization scheme is sent as an
    extra header."""
    name, value = auth.header_name, auth.header_value
    if not name or value is None:
        return None, None, ()
    if name.lower() != "authorization":
        return value, name, ()
    if value.startswith(_BEARER):
        return Secret(value[len(_BEARER) :]), None, ()
    return None, None, ((name, value),)


def _query(ai: AIProxyConfig) -> tuple[tuple[str, str], ...]:
    """The upstream query; the auth parameter's value stays a `Secret` (hidden in reprs)."""
    secret = ai.auth.param_name if ai.auth.param_location == "query" else None
    return tuple(
        (key, Secret(value) if key == secret else value)
        for key, value in ai.upstream_query().items()
    )


def not_carried_over(ai: AIProxyConfig) -> list[str]:
    """What of this ai-proxy configuration `settings_for_route` drops, one line each."""
    dropped = []
    if ai.auth.allow_override and not ai.auth.header_name:
        dropped.append("auth.allow_override for a query or body parameter")
    if ai.auth.param_location == "body":
        dropped.append("auth.param_location body: the auth parameter is not added to the body")
    if ai.response_streaming != "allow":
        dropped.append(f"response_streaming {ai.response_streaming}")
    if not ai.log_statistics:
        dropped.append("logging.log_statistics false: the ai subtree is still logged")
    return dropped


def deck_from_settings(
    settings: Settings, *, listen: Listen | None = None, api_key_env: str = DEFAULT_KEY_ENV
) -> str:
    """decK YAML for a gateway configured by flags (listening as `listen` says, default
    `Listen()`); comments say what Kong does differently."""
    config = config_from_settings(settings, api_key_env=api_key_env)
    return export_deck(config, notes=settings_notes(settings, listen or Listen()))


def config_from_settings(settings: Settings, *, api_key_env: str = DEFAULT_KEY_ENV) -> DeckConfig:
    """The flags' gateway as one route with a global ai-proxy and file-log. The plugin keeps
    claude_gw's plugin_id, so Kong's log lines carry the same `meta.plugin_id`."""
    base = OPENAI_URL if settings.simulated else settings.upstream_url
    ai_proxy = AIProxyConfig(
        provider=_kong_provider(settings),
        model_name=settings.routing.model,
        llm_format="openai" if settings.kong.openai_clients else "anthropic",
        options=ModelOptions(
            upstream_url=_upstream_url(settings, base),
            input_cost=settings.kong.input_cost,
            output_cost=settings.kong.output_cost,
        ),
        auth=_settings_auth(settings, base, api_key_env),
        log_statistics=True,
        log_payloads=settings.log_payloads,
        max_request_body_size=settings.max_body_bytes,
        model_name_header=settings.kong.model_name_header,
        plugin_id=settings.plugin_id,
        origin=Origin("(settings)", "", Scope(), explicit_id=True),
    )
    key_auth, consumers = _settings_key_auth(settings)
    route = RouteConfig(
        name=settings.name,
        paths=settings.paths,
        service=ServiceConfig(name=settings.provider, url=base),
        ai_proxy=ai_proxy,
        file_log=FileLogConfig(str(settings.log_path), origin=Origin("(settings)", "", Scope())),
        key_auth=key_auth,
    )
    return DeckConfig((route,), files=("(settings)",), consumers=consumers)


def _settings_key_auth(
    settings: Settings,
) -> tuple[KeyAuthConfig | None, tuple[ConsumerConfig, ...]]:
    """`--client-key-file` as a global key-auth plugin reading x-api-key (what the Claude CLI
    sends) and one consumer per key (`client-1`, ... unless the key came from a consumer)."""
    auth = settings.client_auth
    if auth is None:
        return None, ()
    keys = tuple(
        ConsumerKey(Secret(c.key), c.consumer or f"client-{n}", c.consumer_id, c.credential_id)
        for n, c in enumerate(auth.credentials, start=1)
    )
    consumers = tuple(ConsumerConfig(username=key.consumer, keys=(key,)) for key in keys)
    key_auth = KeyAuthConfig(
        key_names=auth.header_names or auth.query_names or ("x-api-key",),
        key_in_query=bool(auth.query_names),
        credentials=keys,
        plugin_id=derived_plugin_id("key-auth", Scope()),
        origin=Origin("(settings)", "", Scope()),
    )
    return key_auth, consumers


def _kong_provider(settings: Settings) -> str:
    """Kong's provider name for the log's `provider_name`, when Kong 3.13 knows it."""
    if settings.api.name == ANTHROPIC.name:
        return ANTHROPIC.provider
    provider = settings.provider
    return provider if provider in schema.PROVIDERS and provider != "anthropic" else "openai"


def _upstream_url(settings: Settings, base: str) -> str | None:
    """Kong's full chat URL, the extra query (Azure's api-version) in it; None for OpenAI's."""
    if base == OPENAI_URL and not settings.upstream_query:
        return None
    query = f"?{urlencode(settings.upstream_query)}" if settings.upstream_query else ""
    return base + settings.api.path + query


def _settings_auth(settings: Settings, base: str, api_key_env: str) -> AuthConfig:
    if not settings.api_key and base != OPENAI_URL:
        return AuthConfig()  # a local server without a key
    expression = Substitution(api_key_env, "", 0).expression
    header = settings.auth_header or "Authorization"
    key = settings.api_key or ""
    if header.lower() == "authorization":
        value, source = f"Bearer {key}", f"Bearer {expression}"
    else:
        value, source = key, expression
    return AuthConfig(header_name=header, header_value=Secret(value), header_value_source=source)


def settings_notes(settings: Settings, listen: Listen) -> list[str]:
    """Comment lines on what a decK file cannot carry over from the flags."""
    routing = settings.routing
    model = routing.model
    notes = [
        f"claude_gw listened on http://{listen.host}:{listen.port}; Kong listens on its "
        "proxy_listen (default :8000): point ANTHROPIC_BASE_URL there.",
        f"claude_gw sends requests for Claude models to {model}; Kong answers them 400 'cannot "
        "use own model': start the Claude CLI with ANTHROPIC_MODEL and "
        f"ANTHROPIC_DEFAULT_HAIKU_MODEL (older CLIs: ANTHROPIC_SMALL_FAST_MODEL) set to {model}.",
    ]
    if not routing.force_model:
        notes.append(f"claude_gw passed other model names through; Kong sends all to {model}.")
    notes += [
        f"claude_gw model map {rule.pattern}={rule.model} cannot be expressed in Kong."
        for rule in routing.model_map
    ]
    routed = [("subagent", routing.subagent_model), ("long-context", routing.long_context_model)]
    notes += [
        f"claude_gw {kind} model {name}: Kong has no such rule." for kind, name in routed if name
    ]
    return notes + _upstream_notes(settings)


def _upstream_notes(settings: Settings) -> list[str]:
    notes = []
    if settings.client_auth is not None and settings.client_auth.bearer:
        notes.append(
            "claude_gw also took client keys as Authorization: Bearer; Kong's key-auth reads "
            "x-api-key only (where the Claude CLI sends ANTHROPIC_API_KEY)."
        )
    if settings.api.name != CHAT.name:
        notes.append(
            f"claude_gw spoke the {settings.upstream_api} API upstream; with route_type "
            "llm/v1/chat Kong speaks Chat Completions to upstream_url."
        )
    if settings.upstream_headers:
        names = ", ".join(name for name, _ in settings.upstream_headers)
        notes.append(f"extra upstream headers ({names}) need another plugin in Kong.")
    if settings.provider != _kong_provider(settings):
        notes.append(f"provider {settings.provider} is written as Kong's openai provider.")
    if settings.simulated:
        notes.append("claude_gw ran its simulated upstream, which Kong lacks: this targets OpenAI.")
    if not settings.log_path.is_absolute():
        notes.append(f"file-log path {settings.log_path} is relative: give Kong an absolute path.")
    return notes
