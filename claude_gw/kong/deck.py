"""Reading decK state files (`_format_version: "3.0"`) into a `DeckConfig`.

Contract: `load_deck(files, environ)` takes (filename, text) pairs (reading them is the caller's
job) and merges them as `deck gateway sync -s a.yaml -s b.yaml` does: the entities of every file
are concatenated, and references (`service:` on a route, `service:` / `route:` on a plugin) may
point into another file. Services with nested routes, top-level routes, consumers with their
`keyauth_credentials`, and `ai-proxy` / `file-log` / `key-auth` plugins that are global, on a
service or on a route (nested or by reference) are read; for each route the plugin that
applies is Kong's: route > service > global for the same plugin name, disabled plugins
skipped. Errors (`KongConfigError`) name the file, the key path and what was expected; what
claude_gw reads differently or ignores is a `ConfigWarning`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import yaml

from claude_gw.kong import schema
from claude_gw.kong.envsubst import Substitution, render
from claude_gw.kong.fields import Node, describe
from claude_gw.kong.keyauth import read_consumer, read_key_auth
from claude_gw.kong.model import (
    AIProxyConfig,
    DeckConfig,
    FileLogConfig,
    KeyAuthConfig,
    KongConfigError,
    RouteConfig,
    Scope,
    ServiceConfig,
)
from claude_gw.kong.plugins import read_ai_proxy, read_file_log
from claude_gw.kong.resolve import (
    DeclaredRoute,
    DeclaredService,
    Entity,
    Found,
    Plugin,
    resolve,
)

SUPPORTED_PLUGINS = ("ai-proxy", "file-log", "key-auth")
_IGNORED_SECTIONS = (
    "_info",
    "_konnect",
    "_plugin_configs",
    "_workspace",
    "ca_certificates",
    "certificates",
    "consumer_groups",
    "custom_entities",
    "degraphql_routes",
    "filter_chains",
    "key_sets",
    "keys",
    "partials",
    "rbac_roles",
    "upstreams",
    "vaults",
)
_OTHER_MATCHERS = ("hosts", "methods", "headers", "snis", "sources", "destinations", "expression")
_NO_EFFECT_ROUTE_KEYS = (
    "tags",
    "created_at",
    "updated_at",
    "preserve_host",
    "regex_priority",
    "path_handling",
    "https_redirect_status_code",
    "request_buffering",
    "response_buffering",
    "priority",
)
_NO_EFFECT_SERVICE_KEYS = (
    "tags",
    "created_at",
    "updated_at",
    "retries",
    "tls_verify",
    "tls_verify_depth",
    "ca_certificates",
    "client_certificate",
)
_MAX_TIMEOUT = 2**31 - 2  # Kong's timeout fields: 1 .. 2^31 - 2 ms


def load_deck(files: Sequence[tuple[str, str]], environ: Mapping[str, str]) -> DeckConfig:
    """The routes, services and effective plugins of these decK files, merged."""
    if not files:
        raise KongConfigError("(no file)", "", "no decK file was given")
    found = Found()
    for filename, text in files:
        rendered = render(text, environ, filename=filename)
        found.warnings.extend(rendered.warnings)
        root = Node.of(parse_yaml(rendered.text, filename), filename, "", found.warnings)
        _read_document(root, rendered.substitutions, found)
    return resolve(found, tuple(name for name, _ in files))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of duplicate keys; decK's YAML parser rejects them."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key if isinstance(key, str) else id(key))
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, filename: str) -> Any:
    """The YAML document of a rendered state file; KongConfigError with line and column."""
    if text[:1] == " ":
        raise KongConfigError(filename, "line 1", "file must not begin with a whitespace")
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KongConfigError(filename, where, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise KongConfigError(filename, "", f"invalid YAML: {exc}") from None
    if document is None:
        raise KongConfigError(
            filename, "", 'empty file: expected a mapping with _format_version "3.0"'
        )
    return document


def _read_document(root: Node, substitutions: Sequence[Substitution], found: Found) -> None:
    _check_format_version(root)
    for service in root.children("services"):
        _read_service(service, substitutions, found)
    for route in root.children("routes"):
        _read_route(route, None, substitutions, found)
    for plugin in root.children("plugins"):
        _read_plugin(plugin, Scope(), substitutions, found)
    for consumer in root.children("consumers"):
        found.consumers.append(read_consumer(consumer, substitutions))
    root.accept("_transform")
    for key in _IGNORED_SECTIONS:
        if root.raw(key):
            root.warn(key, "ignored: claude_gw reads services, routes and plugins only")
    root.finish("not a decK section")


def _check_format_version(root: Node) -> None:
    version = root.raw("_format_version")
    if version is None:
        raise root.error("_format_version", 'required key is missing: expected "3.0"')
    if not isinstance(version, str):
        raise root.error(
            "_format_version", f'expected the string "3.0" (quoted), got {describe(version)}'
        )
    if version in schema.OLD_FORMAT_VERSIONS:
        root.warn("_format_version", f"{version} is Kong 2.x's format: read as 3.0")
    elif version != schema.FORMAT_VERSION:
        raise root.error("_format_version", f'expected "3.0", got {version!r}')


def _entity(node: Node) -> Entity:
    name, entity_id = node.string("name"), node.string("id")
    key = name or entity_id or f"{node.file}:{node.path}"
    return Entity(key, name, entity_id, node.file, node.path)


def _read_service(node: Node, substitutions: Sequence[Substitution], found: Found) -> None:
    entity = _entity(node)
    config = ServiceConfig(
        name=entity.name,
        url=_service_url(node),
        id=entity.id,
        connect_timeout=node.integer("connect_timeout", minimum=1, maximum=_MAX_TIMEOUT),
        read_timeout=node.integer("read_timeout", minimum=1, maximum=_MAX_TIMEOUT),
        write_timeout=node.integer("write_timeout", minimum=1, maximum=_MAX_TIMEOUT),
    )
    enabled = node.boolean("enabled", True)
    found.services.append(DeclaredService(entity, config, enabled))
    for route in node.children("routes"):
        _read_route(route, entity.key, substitutions, found)
    for plugin in node.children("plugins"):
        _read_plugin(plugin, Scope(service=entity.key), substitutions, found)
    node.accept(*_NO_EFFECT_SERVICE_KEYS)
    node.ignore("filter_chains", "claude_gw runs no Wasm filters")
    node.finish()


def _service_url(node: Node) -> str:
    """decK's rule: `url` sets protocol, host, port and path; explicit keys override it."""
    url = node.string("url")
    protocol, host = node.string("protocol"), node.string("host")
    port, path = node.integer("port", minimum=0, maximum=65535), node.string("path")
    if url is not None:
        parts = urlsplit(url)
        if not parts.scheme or not parts.hostname:
            raise node.error("url", f"expected a URL such as http://host/path, got {url!r}")
        protocol, host = protocol or parts.scheme, host or parts.hostname
        port, path = port if port is not None else parts.port, path or parts.path or None
    if not host:
        raise node.error("host", "required key is missing: a service needs url or host")
    protocol = protocol or "http"
    default_port = 443 if protocol in ("https", "grpcs", "tls") else 80
    shown_port = "" if port in (None, default_port) else f":{port}"
    return f"{protocol}://{host}{shown_port}{path or ''}"


def _read_route(
    node: Node, parent: str | None, substitutions: Sequence[Substitution], found: Found
) -> None:
    entity = _entity(node)
    service_ref = _reference(node, "service")
    if parent is not None and service_ref is not None:
        raise node.error("service", "a nested route belongs to the service it is nested in")
    config = RouteConfig(
        name=entity.name,
        paths=_route_paths(node),
        protocols=_route_protocols(node),
        strip_path=node.boolean("strip_path", True),
        id=entity.id,
    )
    found.routes.append(DeclaredRoute(entity, config, parent or service_ref, node.at("service")))
    for plugin in node.children("plugins"):
        _read_plugin(plugin, Scope(route=entity.key), substitutions, found)
    node.accept(*_NO_EFFECT_ROUTE_KEYS)
    node.ignore("filter_chains", "claude_gw runs no Wasm filters")
    node.finish()


def _route_paths(node: Node) -> tuple[str, ...]:
    paths = node.strings("paths")
    matchers = [key for key in _OTHER_MATCHERS if node.has(key)]
    for key in matchers:
        node.ignore(key, "claude_gw matches routes by path only")
    if not paths:
        if not matchers:
            raise node.error("paths", "required: a route needs paths (or hosts, methods, headers)")
        node.warn("paths", "no paths: claude_gw serves this route on every path (/)")
        return ("/",)
    for index, path in enumerate(paths):
        if path.startswith("~"):
            raise node.error(
                f"paths[{index}]", f"regex paths are not supported by claude_gw: {path}"
            )
        if not path.startswith("/"):
            raise node.error(f"paths[{index}]", f"expected a path starting with /, got {path!r}")
    return paths


def _route_protocols(node: Node) -> tuple[str, ...]:
    protocols = node.strings("protocols") or ("http", "https")
    for index, protocol in enumerate(protocols):
        if protocol not in schema.ROUTE_PROTOCOLS:
            raise node.error(
                f"protocols[{index}]",
                f"expected a protocol such as http or https, got {protocol!r}",
            )
    if "http" not in protocols:
        node.warn("protocols", "claude_gw serves plain http: Kong would refuse http on this route")
    return protocols


def _reference(node: Node, key: str) -> str | None:
    """A foreign key as decK writes it: a name or id, or a mapping with `name` or `id`."""
    value = node.raw(key)
    if isinstance(value, dict):
        value = value.get("name") or value.get("id")
    if value is not None and not isinstance(value, str):
        raise node.error(key, f"expected a name or id, got {describe(value)}")
    return value


def _read_plugin(
    node: Node, nested: Scope, substitutions: Sequence[Substitution], found: Found
) -> None:
    name = node.string("name", required=True)
    assert name is not None
    refs = _plugin_refs(node, nested)
    if node.has("consumer") or node.has("consumer_group"):
        node.warn("consumer", "claude_gw runs no per-consumer plugins: this one never applies")
        return
    if name not in SUPPORTED_PLUGINS:
        node.warn("name", f"plugin {name} is not supported by claude_gw: ignored")
        return
    config_node = node.child("config", required=True)
    assert config_node is not None
    config: AIProxyConfig | FileLogConfig | KeyAuthConfig
    if name == "ai-proxy":
        config = read_ai_proxy(config_node, substitutions)
    elif name == "key-auth":
        config = read_key_auth(config_node)
    else:
        config = read_file_log(config_node)
    enabled = node.boolean("enabled", True)
    plugin_id = node.string("id")
    node.accept("tags", "created_at", "updated_at", "instance_name", "protocols")
    node.ignore("ordering", "claude_gw runs ai-proxy, then file-log")
    node.ignore("_config", "decK _plugin_configs are not supported")
    node.finish()
    found.plugins.append(Plugin(name, refs, enabled, config, node.file, node.path, plugin_id))


def _plugin_refs(node: Node, nested: Scope) -> Scope:
    service, route = _reference(node, "service"), _reference(node, "route")
    if nested.service is not None and service is not None:
        raise node.error("service", "a nested plugin applies to the service it is nested in")
    if nested.route is not None and route is not None:
        raise node.error("route", "a nested plugin applies to the route it is nested in")
    return Scope(service=nested.service or service, route=nested.route or route)
