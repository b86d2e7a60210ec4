"""Writing the running configuration as decK YAML for a real Kong Gateway 3.13.

Contract: `export_deck(config)` writes `_format_version: "3.0"`, services with their routes
nested, and each `ai-proxy` / `file-log` plugin where it was declared (global, on a service, on
a route), so Kong picks the same plugin for every route; a plugin built in code (no origin) is
global when every route has the same one, else nested in its route. Only Kong 3.13 schema
fields are written (checked against `schema.py` before returning). Secrets are never written in
clear: each is the `${{ env "DECK_..." }}` text it was read from, or a new `DECK_` variable
named in the header comment. Loading the output with those variables set gives a `DeckConfig`
equal to the input (`compare.behaviour_differences` is empty).

`settings.deck_from_settings` uses it for a gateway configured by flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from claude_gw.config import Secret
from claude_gw.kong import schema
from claude_gw.kong.envsubst import Substitution
from claude_gw.kong.model import (
    AIProxyConfig,
    AuthConfig,
    ConsumerConfig,
    ConsumerKey,
    DeckConfig,
    FileLogConfig,
    KeyAuthConfig,
    ModelOptions,
    RouteConfig,
    Scope,
    ServiceConfig,
)

DEFAULT_KEY_ENV = "DECK_OPENAI_API_KEY"
_ENV_NAME = re.compile(r'env\s+"(DECK_[A-Za-z0-9_]*)"')
_PLUGIN_KEYS = {"name", "id", "config", "enabled"}
Plugin = AIProxyConfig | FileLogConfig | KeyAuthConfig
_PLUGIN_NAMES = {AIProxyConfig: "ai-proxy", FileLogConfig: "file-log", KeyAuthConfig: "key-auth"}


def export_deck(config: DeckConfig, *, notes: Sequence[str] = ()) -> str:
    """decK YAML for `config`, with `notes` as comment lines at the top."""
    names = SecretNames(config.routes, config.consumers)
    document = _Builder(config.routes, names).document()
    if config.consumers:
        document["consumers"] = [consumer_document(c, names) for c in config.consumers]
    problems = check_document(document)
    if problems:
        raise ValueError(f"claude_gw built an invalid decK document: {'; '.join(problems)}")
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return _header(config, notes, names.names) + body


def _header(config: DeckConfig, notes: Sequence[str], env: Sequence[str]) -> str:
    lines = ["decK state file for Kong Gateway 3.13, written by claude_gw."]
    if any(route.ai_proxy and route.ai_proxy.llm_format == "anthropic" for route in config.routes):
        lines.append("ai-proxy llm_format anthropic needs Kong Gateway Enterprise 3.13 or later.")
    if env:
        lines.append(f"Set {', '.join(env)} in the environment, then: deck gateway sync FILE")
    lines += notes
    # decK renders templates even inside comments: never let one start there.
    return "".join(f"# {line.replace('${{', '$ {{')}\n" for line in lines)


class SecretNames:
    """The `DECK_` variable behind each secret: the one it was read from, else a new name
    (`DECK_OPENAI_API_KEY`, then `_2`, ...) that no other secret of the config uses."""

    def __init__(
        self, routes: Iterable[RouteConfig], consumers: Iterable[ConsumerConfig] = ()
    ) -> None:
        self._auths = [route.ai_proxy for route in routes if route.ai_proxy]
        sources = [
            source
            for ai in self._auths
            for source in (ai.auth.header_value_source, ai.auth.param_value_source)
            if source
        ]
        sources += [key.key_source for c in consumers for key in c.keys if key.key_source]
        self._used = list(dict.fromkeys(n for s in sources for n in _ENV_NAME.findall(s)))
        self._made: dict[tuple[str, str], str] = {}

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([*self._used, *self._made.values()]))

    def reference(self, value: Secret, source: str | None, provider: str) -> str:
        """What to write for a secret: its source, or a new `${{ env "DECK_..." }}`."""
        if source:
            return source
        key = (provider, str(value))
        if key not in self._made:
            self._made[key] = self._new_name(f"DECK_{provider.upper()}_API_KEY")
        expression = Substitution(self._made[key], "", 0).expression
        return f"Bearer {expression}" if value.startswith("Bearer ") else expression

    def consumer_key(self, key: ConsumerKey) -> str:
        """What to write for a consumer's key: its source, or a new `DECK_<CONSUMER>_KEY`."""
        if key.key_source:
            return key.key_source
        made = (f"consumer:{key.consumer}", str(key.key))
        if made not in self._made:
            stem = re.sub(r"[^A-Z0-9]+", "_", key.consumer.upper()).strip("_") or "CONSUMER"
            self._made[made] = self._new_name(f"DECK_{stem}_KEY")
        return Substitution(self._made[made], "", 0).expression

    def _new_name(self, base: str) -> str:
        taken = set(self.names)
        candidates = (base if n == 1 else f"{base}_{n}" for n in range(1, len(taken) + 2))
        return next(name for name in candidates if name not in taken)


class _Builder:
    """Places services, routes and plugins in one decK document."""

    def __init__(self, routes: Sequence[RouteConfig], names: SecretNames) -> None:
        self.routes = routes
        self.names = names
        self.services: dict[ServiceConfig, dict[str, Any]] = {}
        self.loose_routes: list[dict[str, Any]] = []
        self.plugins: list[dict[str, Any]] = []
        self.placed: set[tuple[str, str]] = set()

    def document(self) -> dict[str, Any]:
        for route in self.routes:
            self._add_route(route)
        document: dict[str, Any] = {"_format_version": schema.FORMAT_VERSION}
        if self.services:
            document["services"] = list(self.services.values())
        if self.loose_routes:
            document["routes"] = self.loose_routes
        if self.plugins:
            document["plugins"] = self.plugins
        return document

    def _add_route(self, route: RouteConfig) -> None:
        route_doc = route_document(route)
        service_doc = self._service(route.service) if route.service else None
        for plugin in (route.ai_proxy, route.file_log, route.key_auth):
            if plugin is not None:
                self._place(plugin, route, route_doc, service_doc)
        if service_doc is not None:
            service_doc.setdefault("routes", []).append(route_doc)
        else:
            self.loose_routes.append(route_doc)

    def _service(self, service: ServiceConfig) -> dict[str, Any]:
        if service not in self.services:
            name = service.name or f"service-{len(self.services) + 1}"
            self.services[service] = service_document(service, name)
        return self.services[service]

    def _place(
        self,
        plugin: Plugin,
        route: RouteConfig,
        route_doc: dict[str, Any],
        service_doc: dict[str, Any] | None,
    ) -> None:
        scope = self._scope(plugin)
        name = _PLUGIN_NAMES[type(plugin)]
        if scope.route is not None or (scope.service is not None and service_doc is None):
            target, where = route_doc, f"route={route.key}"
        elif scope.service is not None and service_doc is not None:
            target, where = service_doc, f"service={service_doc['name']}"
        else:
            target, where = None, "global"
        if (name, where) in self.placed:
            return
        self.placed.add((name, where))
        document = self._plugin_document(name, plugin)
        if target is None:
            self.plugins.append(document)
        else:
            target.setdefault("plugins", []).append(document)

    def _scope(self, plugin: Plugin) -> Scope:
        """Where the plugin was declared; for one built in code, global when every route has
        an equal one, else its route (any route name will do: `_place` nests it in its route)."""
        if plugin.origin is not None:
            return plugin.origin.scope
        same = all(
            plugin in (route.ai_proxy, route.file_log, route.key_auth) for route in self.routes
        )
        return Scope() if same else Scope(route="(this route)")

    def _plugin_document(self, name: str, plugin: Plugin) -> dict[str, Any]:
        document: dict[str, Any] = {"name": name}
        if plugin.origin is not None and plugin.origin.explicit_id:
            document["id"] = plugin.plugin_id
        if isinstance(plugin, AIProxyConfig):
            document["config"] = ai_proxy_document(plugin, self.names)
        elif isinstance(plugin, KeyAuthConfig):
            document["config"] = key_auth_document(plugin)
        else:
            document["config"] = file_log_document(plugin)
        return document


def service_document(service: ServiceConfig, name: str) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name}
    if service.id:
        document["id"] = service.id
    document["url"] = service.url
    for key in ("connect_timeout", "read_timeout", "write_timeout"):
        if getattr(service, key) is not None:
            document[key] = getattr(service, key)
    return document


def route_document(route: RouteConfig) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if route.name:
        document["name"] = route.name
    if route.id:
        document["id"] = route.id
    document["paths"] = list(route.paths)
    document["protocols"] = list(route.protocols)
    if not route.strip_path:
        document["strip_path"] = False
    return document


def ai_proxy_document(ai: AIProxyConfig, names: SecretNames) -> dict[str, Any]:
    """The plugin's `config`, in the tutorial's key order, defaults written where they matter."""
    config: dict[str, Any] = {"llm_format": ai.llm_format, "route_type": ai.route_type}
    if ai.genai_category != "text/generation":
        config["genai_category"] = ai.genai_category
    if ai.response_streaming != "allow":
        config["response_streaming"] = ai.response_streaming
    config["logging"] = {"log_statistics": ai.log_statistics, "log_payloads": ai.log_payloads}
    auth = auth_document(ai.auth, ai.provider, names)
    if auth:
        config["auth"] = auth
    config["model"] = model_document(ai)
    config["max_request_body_size"] = ai.max_request_body_size
    config["model_name_header"] = ai.model_name_header
    return config


def auth_document(auth: AuthConfig, provider: str, names: SecretNames) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if auth.header_name and auth.header_value is not None:
        document["header_name"] = auth.header_name
        document["header_value"] = names.reference(
            auth.header_value, auth.header_value_source, provider
        )
    if auth.param_name and auth.param_value is not None:
        document["param_name"] = auth.param_name
        document["param_value"] = names.reference(
            auth.param_value, auth.param_value_source, provider
        )
        document["param_location"] = auth.param_location
    if document:
        document["allow_override"] = auth.allow_override
    return document


def model_document(ai: AIProxyConfig) -> dict[str, Any]:
    document: dict[str, Any] = {"provider": ai.provider}
    if ai.model_name:
        document["name"] = ai.model_name
    options = options_document(ai.options)
    if options:
        document["options"] = options
    return document


def options_document(options: ModelOptions) -> dict[str, Any]:
    known = {
        "upstream_url": options.upstream_url,
        "input_cost": options.input_cost,
        "output_cost": options.output_cost,
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "top_k": options.top_k,
    }
    return {key: value for key, value in known.items() if value is not None} | dict(options.extra)


def key_auth_document(key_auth: KeyAuthConfig) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key_names": list(key_auth.key_names),
        "key_in_header": key_auth.key_in_header,
        "key_in_query": key_auth.key_in_query,
        "key_in_body": key_auth.key_in_body,
        "hide_credentials": key_auth.hide_credentials,
        "run_on_preflight": key_auth.run_on_preflight,
    }
    for key in ("anonymous", "realm"):
        if getattr(key_auth, key) is not None:
            document[key] = getattr(key_auth, key)
    return document


def consumer_document(consumer: ConsumerConfig, names: SecretNames) -> dict[str, Any]:
    """A consumer with its key-auth keys, each as a `${{ env "DECK_..." }}` reference."""
    document: dict[str, Any] = {}
    for key in ("username", "custom_id", "id"):
        if getattr(consumer, key) is not None:
            document[key] = getattr(consumer, key)
    if consumer.keys:
        document["keyauth_credentials"] = [
            {
                "key": names.consumer_key(key),
                **({"id": key.credential_id} if key.credential_id else {}),
            }
            for key in consumer.keys
        ]
    return document


def file_log_document(file_log: FileLogConfig) -> dict[str, Any]:
    return {"path": file_log.path, "reopen": file_log.reopen}


def check_document(document: Mapping[str, Any]) -> list[str]:
    """What Kong 3.13 would reject, or what leaks a secret, in a document about to be written."""
    problems: list[str] = []
    if document.get("_format_version") != schema.FORMAT_VERSION:
        problems.append('_format_version is not "3.0"')
    for path, plugin in _plugins(document):
        problems += [f"{path}.{key}: not a plugin field" for key in set(plugin) - _PLUGIN_KEYS]
        config_schema = schema.PLUGIN_CONFIGS.get(plugin.get("name", ""))
        if config_schema is None:
            problems.append(f"{path}.name: not a plugin claude_gw writes")
            continue
        config = plugin.get("config", {})
        problems += schema.unknown_fields(config_schema, config, f"{path}.config")
        if plugin["name"] == "ai-proxy":
            problems += _check_ai_proxy(config, f"{path}.config")
    for c, consumer in enumerate(document.get("consumers", [])):
        for k, credential in enumerate(consumer.get("keyauth_credentials", [])):
            if "${{ env " not in credential.get("key", ""):
                where = f"consumers[{c}].keyauth_credentials[{k}].key"
                problems.append(f"{where}: a secret written in clear")
    return problems


def _check_ai_proxy(config: Mapping[str, Any], path: str) -> list[str]:
    problems = []
    if "max_request_body_size" not in config:
        problems.append(f"{path}.max_request_body_size: missing")
    for key in ("header_value", "param_value"):
        value = config.get("auth", {}).get(key)
        if value is not None and "${{ env " not in value:
            problems.append(f"{path}.auth.{key}: a secret written in clear")
    return problems


def _plugins(document: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every plugin of the document with its key path."""
    containers: list[tuple[str, Mapping[str, Any]]] = [("", document)]
    for s, service in enumerate(document.get("services", [])):
        containers.append((f"services[{s}].", service))
        containers += [
            (f"services[{s}].routes[{r}].", route)
            for r, route in enumerate(service.get("routes", []))
        ]
    containers += [(f"routes[{r}].", route) for r, route in enumerate(document.get("routes", []))]
    for prefix, container in containers:
        for index, plugin in enumerate(container.get("plugins", [])):
            yield f"{prefix}plugins[{index}]", plugin
