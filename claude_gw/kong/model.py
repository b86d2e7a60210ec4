"""The typed result of reading decK files: one `RouteConfig` per Kong route, with the effective
`ai-proxy` and `file-log` configuration Kong would run for it.

Fields marked `compare=False` record where something came from (file, key path, the
`${{ env "DECK_..." }}` text of a secret); they never change behaviour, so `==` on these
dataclasses means "behaves the same".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from claude_gw.apis import ANTHROPIC, CHAT, UpstreamApi
from claude_gw.config import ConfigError, Secret

LLMFormat = Literal["anthropic", "openai"]
ParamLocation = Literal["query", "body"]
Streaming = Literal["allow", "deny", "always"]

CHAT_SUFFIX = CHAT.path
MESSAGES_SUFFIX = ANTHROPIC.path  # provider anthropic: Anthropic Messages, passed through
# Kong's built-in upstream for each provider claude_gw can reach without `upstream_url`.
PROVIDER_BASE_URLS = {api.provider: api.default_url for api in (CHAT, ANTHROPIC)}


def kong_api(provider: str) -> UpstreamApi:
    """The API claude_gw speaks for a Kong provider: Anthropic Messages, passed through, for
    `anthropic`; Chat Completions for every other (route_type llm/v1/chat)."""
    return ANTHROPIC if provider == ANTHROPIC.provider else CHAT


def endpoint_suffix(provider: str) -> str:
    """The path claude_gw posts to under a provider's base URL."""
    return kong_api(provider).path


KONG_DEFAULT_MAX_BODY = 1_048_576  # ai-proxy `max_request_body_size` default since 3.13
TOKENS_PER_PRICE_UNIT = 1_000_000  # input_cost / output_cost are per 1M tokens


class KongConfigError(ConfigError):
    """A decK file is invalid; the message names the file, the key path and what was expected."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(f"{file}: {path}: {message}" if path else f"{file}: {message}")


@dataclass(frozen=True)
class ConfigWarning:
    """Something in a decK file that claude_gw reads differently from Kong, or ignores."""

    file: str
    path: str  # e.g. `plugins[0].config.model.options.azure_instance`, or `line 7`
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


@dataclass(frozen=True)
class Scope:
    """Where a plugin is attached, by entity name (or id): nowhere (global), a service, a route."""

    service: str | None = None
    route: str | None = None

    @property
    def rank(self) -> int:
        """Kong's precedence for the same plugin name: route+service > route > service > global."""
        return 2 * (self.route is not None) + (self.service is not None)

    @property
    def label(self) -> str:
        parts = []
        if self.route is not None:
            parts.append(f"route={self.route}")
        if self.service is not None:
            parts.append(f"service={self.service}")
        return ",".join(parts) or "global"


@dataclass(frozen=True)
class Origin:
    """Where a plugin was declared. `explicit_id`: the file gave the plugin's `id`."""

    file: str
    path: str
    scope: Scope
    explicit_id: bool = False


def derived_plugin_id(plugin: str, scope: Scope) -> str:
    """A stable id for a plugin declared without one: the same plugin at the same place keeps its
    id across restarts and edits of its config, as a decK sync keeps a Kong plugin's id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-gw:kong:{plugin}:{scope.label}"))


@dataclass(frozen=True)
class ModelOptions:
    """`config.model.options`. `extra` keeps the other Kong options (provider specific) as read."""

    upstream_url: str | None = None
    input_cost: float | None = None
    output_cost: float | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    # Not hashed (dict values); still compared.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AuthConfig:
    """`config.auth`: what Kong adds to every upstream request.

    `*_source` is how the secret was written in the decK file, with `${{ env "DECK_..." }}` in
    place of the value (None when written in clear): what an export writes back."""

    header_name: str | None = None
    header_value: Secret | None = None
    param_name: str | None = None
    param_value: Secret | None = None
    param_location: ParamLocation | None = None
    allow_override: bool = False
    header_value_source: str | None = field(default=None, compare=False)
    param_value_source: str | None = field(default=None, compare=False)

    def headers(self, client_headers: Mapping[str, str] | None = None) -> dict[str, str]:
        """The auth header for the upstream request. Kong sets it unless `allow_override` is on
        and the client sent that header itself: then the client's value goes upstream."""
        if not self.header_name or self.header_value is None:
            return {}
        client = _lookup(client_headers or {}, self.header_name)
        if self.allow_override and client is not None:
            return {self.header_name: client}
        return {self.header_name: self.header_value}

    def query(self, client_query: Mapping[str, str] | None = None) -> dict[str, str]:
        """The auth query parameter (param_location query), with the same override rule."""
        return self._param("query", client_query or {})

    def body_fields(self, client_body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The auth body field (param_location body), with the same override rule."""
        return self._param("body", client_body or {})

    def _param(self, location: str, client: Mapping[str, Any]) -> dict[str, Any]:
        if self.param_location != location or not self.param_name or self.param_value is None:
            return {}
        if self.allow_override and client.get(self.param_name) is not None:
            return {self.param_name: client[self.param_name]}
        return {self.param_name: self.param_value}


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class AIProxyConfig:
    """One effective `ai-proxy` plugin (`route_type: llm/v1/chat`)."""

    provider: str
    model_name: str | None = None
    llm_format: LLMFormat = "openai"
    options: ModelOptions = field(default_factory=ModelOptions)
    auth: AuthConfig = field(default_factory=AuthConfig)
    log_statistics: bool = False
    log_payloads: bool = False
    max_request_body_size: int = KONG_DEFAULT_MAX_BODY
    model_name_header: bool = True
    response_streaming: Streaming = "allow"
    genai_category: str = "text/generation"
    route_type: str = "llm/v1/chat"
    plugin_id: str = ""
    origin: Origin | None = field(default=None, compare=False)

    def upstream_model(self, client_model: str | None) -> str | None:
        """The model sent upstream: the configured name when there is one, else the client's
        (Kong's rule); None when neither names a model.

        Deviation from Kong: when the body names a different model, Kong answers 400 `cannot use
        own model - must be: <name>`; claude_gw sends the configured model instead, because the
        Claude CLI names `claude-haiku-*` on its own for subagents and background requests, and
        those would all fail. `kong_model_error` says what Kong would have answered."""
        return self.model_name or client_model or None

    def kong_model_error(self, client_model: str | None) -> str | None:
        """The 400 message Kong 3.13 would answer for this client model, or None if it accepts.
        The second message is also claude_gw's answer (there is no model to send)."""
        if self.model_name and client_model and client_model != self.model_name:
            return f"cannot use own model - must be: {self.model_name}"
        if not self.model_name and not client_model:
            return "model parameter not found in request, nor in gateway configuration"
        return None

    @property
    def body_limit(self) -> int | None:
        """The largest request body accepted, in bytes; None when unlimited (Kong: 0)."""
        return self.max_request_body_size or None

    @property
    def chat_url(self) -> str:
        """The full Chat Completions URL: `upstream_url` as written (Kong posts to it as is;
        the loader already appended `/chat/completions` when it was missing), else the
        provider's default."""
        if self.options.upstream_url:
            return self.options.upstream_url
        return PROVIDER_BASE_URLS[self.provider] + endpoint_suffix(self.provider)

    @property
    def upstream_base_url(self) -> str:
        """The OpenAI-style base URL (`https://api.openai.com/v1`): `chat_url` without
        `/chat/completions` and without its query (see `upstream_query`)."""
        parts = urlsplit(self.chat_url)
        path = parts.path.removesuffix(endpoint_suffix(self.provider))
        return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")

    def upstream_query(self, client_query: Mapping[str, str] | None = None) -> dict[str, str]:
        """Query parameters for the upstream URL: those of `upstream_url`, then the auth one."""
        params = dict(parse_qsl(urlsplit(self.chat_url).query, keep_blank_values=True))
        return params | self.auth.query(client_query)

    def upstream_headers(self, client_headers: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers to add upstream, e.g. `{"Authorization": "Bearer sk-..."}`."""
        return self.auth.headers(client_headers)

    def request_overrides(self) -> dict[str, int | float]:
        """Sampling options that replace the client's in the upstream (OpenAI) request, as
        Kong's `merge_config_defaults` does: a configured value wins over the request's."""
        options = self.options
        found = {
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "top_k": options.top_k,
        }
        return {key: value for key, value in found.items() if value is not None}

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Kong's `usage.cost`: (prompt * input_cost + completion * output_cost) / 1M when both
        costs are configured, else 0."""
        options = self.options
        if options.input_cost is None or options.output_cost is None:
            return 0.0
        spent = prompt_tokens * options.input_cost + completion_tokens * options.output_cost
        return spent / TOKENS_PER_PRICE_UNIT

    def model_header(self, model: str) -> str | None:
        """The `X-Kong-LLM-Model` response header value, or None when `model_name_header` is off."""
        return f"{self.provider}/{model}" if self.model_name_header else None


@dataclass(frozen=True)
class ConsumerKey:
    """One `keyauth_credentials` entry of a consumer. `consumer` names the consumer (its
    username, else its custom_id, else its id); `key_source` is how the key was written, with
    `${{ env "DECK_..." }}` in place of the value (None when written in clear)."""

    key: Secret
    consumer: str
    consumer_id: str | None = None
    credential_id: str | None = None
    key_source: str | None = field(default=None, compare=False)
    custom_id: str | None = field(default=None, compare=False)  # the consumer's, if it has one


@dataclass(frozen=True)
class ConsumerConfig:
    """A Kong consumer as declared, with its key-auth credentials."""

    username: str | None
    custom_id: str | None = None
    id: str | None = None
    keys: tuple[ConsumerKey, ...] = ()

    @property
    def key(self) -> str:
        return self.username or self.custom_id or self.id or "?"


@dataclass(frozen=True)
class KeyAuthConfig:
    """One effective `key-auth` plugin: requests must carry a consumer's key in one of
    `key_names` (a header when `key_in_header`, else or then a query parameter when
    `key_in_query`). `credentials` are every consumer's keys (Kong's credentials are global:
    any consumer's key opens any route with key-auth). With `anonymous`, requests without a
    valid key are served anyway, as that consumer."""

    key_names: tuple[str, ...] = ("apikey",)
    key_in_header: bool = True
    key_in_query: bool = True
    key_in_body: bool = False
    hide_credentials: bool = False
    anonymous: str | None = None
    realm: str | None = None
    run_on_preflight: bool = True
    credentials: tuple[ConsumerKey, ...] = ()
    plugin_id: str = ""
    origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FileLogConfig:
    """One effective `file-log` plugin: append one JSON line per request to `path`."""

    path: str
    reopen: bool = False
    plugin_id: str = ""
    origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ServiceConfig:
    """A Kong service. ai-proxy replaces its URL upstream, but Kong logs the entity.
    Timeouts are in milliseconds, None when the file leaves Kong's default (60000)."""

    name: str | None
    url: str
    id: str | None = None
    connect_timeout: int | None = None
    read_timeout: int | None = None
    write_timeout: int | None = None


@dataclass(frozen=True)
class RouteConfig:
    """A Kong route with the plugins that apply to it (after route > service > global)."""

    name: str | None
    paths: tuple[str, ...]
    service: ServiceConfig | None = None
    protocols: tuple[str, ...] = ("http", "https")
    strip_path: bool = True
    id: str | None = None
    ai_proxy: AIProxyConfig | None = None
    file_log: FileLogConfig | None = None
    key_auth: KeyAuthConfig | None = None

    @property
    def key(self) -> str:
        """How messages and comparisons name this route: its name, else its id, else its paths."""
        return self.name or self.id or ",".join(self.paths)

    def matched_prefix(self, path: str) -> str | None:
        """The longest of this route's paths that prefixes `path` (Kong's plain prefix match,
        not segment-aware: `/anything` also matches `/anythingelse`)."""
        found = [prefix for prefix in self.paths if path.startswith(prefix)]
        return max(found, key=len) if found else None


@dataclass(frozen=True)
class RouteMatch:
    """A request path matched to a route. `rest` is what follows the matched prefix, always
    starting with `/` (what Kong forwards when `strip_path` is on: `/v1/messages`)."""

    route: RouteConfig
    prefix: str
    rest: str


@dataclass(frozen=True)
class DeckConfig:
    """Everything claude_gw serves from a set of decK files."""

    routes: tuple[RouteConfig, ...]
    warnings: tuple[ConfigWarning, ...] = field(default=(), compare=False)
    files: tuple[str, ...] = field(default=(), compare=False)
    # as declared, for an export; what a route accepts is in its `key_auth.credentials`
    consumers: tuple[ConsumerConfig, ...] = field(default=(), compare=False)

    def match(self, path: str) -> RouteMatch | None:
        """The route whose path is the longest prefix of `path` (query excluded), as Kong's
        router picks it; None when no route matches (Kong: 404 `no Route matched`)."""
        best: RouteMatch | None = None
        for route in self.routes:
            prefix = route.matched_prefix(path)
            if prefix is not None and (best is None or len(prefix) > len(best.prefix)):
                rest = "/" + path[len(prefix) :].lstrip("/")
                best = RouteMatch(route, prefix, rest)
        return best

    @property
    def log_paths(self) -> tuple[str, ...]:
        """The distinct file-log paths, in route order."""
        paths = (route.file_log.path for route in self.routes if route.file_log)
        return tuple(dict.fromkeys(paths))
