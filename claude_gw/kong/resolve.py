"""Merging what the decK files declare: references resolved, Kong's plugin precedence applied.

`Found` collects the entities of every file as read (`deck.py`); `resolve` checks names and
references across files and gives each route its effective plugins: for each plugin name the
most specific enabled one (route+service > route > service > global), as Kong's plugin iterator
picks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from claude_gw.kong.keyauth import all_keys
from claude_gw.kong.model import (
    AIProxyConfig,
    ConfigWarning,
    ConsumerConfig,
    ConsumerKey,
    DeckConfig,
    FileLogConfig,
    KeyAuthConfig,
    KongConfigError,
    Origin,
    RouteConfig,
    Scope,
    ServiceConfig,
    derived_plugin_id,
)


@dataclass(frozen=True)
class Entity:
    """A declared service or route: how it is named, and where it was declared."""

    key: str  # name, else id, else file:path: what scopes and messages use
    name: str | None
    id: str | None
    file: str
    path: str


@dataclass
class DeclaredService:
    entity: Entity
    config: ServiceConfig
    enabled: bool


@dataclass
class DeclaredRoute:
    entity: Entity
    config: RouteConfig
    service_ref: str | None  # the parent's key, or the `service:` reference as written
    ref_path: str


class HasEntity(Protocol):
    @property
    def entity(self) -> Entity: ...


_E = TypeVar("_E", bound=HasEntity)


@dataclass
class Plugin:
    """A supported plugin as declared, its config already read and validated."""

    name: str
    refs: Scope  # as written: entity names or ids, resolved later
    enabled: bool
    config: AIProxyConfig | FileLogConfig | KeyAuthConfig
    file: str
    path: str
    id: str | None


@dataclass
class Found:
    """Everything the files declare, in file order, and the warnings raised so far."""

    services: list[DeclaredService] = field(default_factory=list)
    routes: list[DeclaredRoute] = field(default_factory=list)
    plugins: list[Plugin] = field(default_factory=list)
    consumers: list[ConsumerConfig] = field(default_factory=list)
    warnings: list[ConfigWarning] = field(default_factory=list)


def resolve(found: Found, files: tuple[str, ...]) -> DeckConfig:
    services = _index(found.services, "service")
    routes = _index(found.routes, "route")
    plugins = [_scoped(plugin, services, routes) for plugin in found.plugins]
    _check_unique_plugins(plugins)
    enabled = [plugin for plugin in plugins if plugin.enabled]
    keys = all_keys(found.consumers, ", ".join(files))
    result: list[RouteConfig] = []
    for route in found.routes:
        service = _route_service(route, services)
        if service is not None and not service.enabled:
            _warn(found.warnings, route.entity, "its service is disabled: not served")
            continue
        result.append(_effective_route(route, service, enabled, keys, found.warnings))
    if not result:
        raise KongConfigError(
            ", ".join(files), "routes", "no route to serve: claude_gw needs a route with paths"
        )
    _warn_shared_paths(found.routes, found.warnings)
    _warn_unused_keys(result, keys, files, found.warnings)
    return DeckConfig(tuple(result), tuple(found.warnings), files, tuple(found.consumers))


def _warn_unused_keys(
    routes: Sequence[RouteConfig],
    keys: Sequence[object],
    files: tuple[str, ...],
    warnings: list[ConfigWarning],
) -> None:
    protected = any(route.key_auth for route in routes)
    if keys and not protected:
        message = "no route has a key-auth plugin: these keys are not checked anywhere"
        warnings.append(ConfigWarning(", ".join(files), "consumers", message))
    if protected and not keys:
        message = "key-auth is on but no consumer has a key: those routes answer every request 401"
        warnings.append(ConfigWarning(", ".join(files), "consumers", message))


def _warn(warnings: list[ConfigWarning], entity: Entity, message: str) -> None:
    warnings.append(ConfigWarning(entity.file, entity.path, message))


def _index(items: Sequence[_E], kind: str) -> dict[str, _E]:
    """Entities by key, name and id; a second entity with the same name or id is an error."""
    index: dict[str, _E] = {}
    for item in items:
        entity = item.entity
        for ref in dict.fromkeys((entity.key, entity.name, entity.id)):
            if ref is None:
                continue
            first = index.setdefault(ref, item)
            if first is not item:
                raise KongConfigError(
                    entity.file,
                    entity.path,
                    f"a second {kind} named {ref!r} "
                    f"(first at {first.entity.file}: {first.entity.path})",
                )
    return index


def _scoped(
    plugin: Plugin, services: Mapping[str, DeclaredService], routes: Mapping[str, DeclaredRoute]
) -> Plugin:
    """The plugin with its scope resolved to entity keys (so a reference by id and one by name
    are the same scope)."""
    scope = Scope(
        service=_lookup(plugin, "service", plugin.refs.service, services),
        route=_lookup(plugin, "route", plugin.refs.route, routes),
    )
    return replace(plugin, refs=scope)


def _lookup(plugin: Plugin, kind: str, ref: str | None, index: Mapping[str, _E]) -> str | None:
    if ref is None:
        return None
    item = index.get(ref)
    if item is None:
        where = f"{plugin.path}.{kind}"
        raise KongConfigError(plugin.file, where, f"no {kind} named {ref!r} in these files")
    return item.entity.key


def _route_service(
    route: DeclaredRoute, services: Mapping[str, DeclaredService]
) -> DeclaredService | None:
    if route.service_ref is None:
        return None
    service = services.get(route.service_ref)
    if service is None:
        message = f"no service named {route.service_ref!r} in these files"
        raise KongConfigError(route.entity.file, route.ref_path, message)
    return service


def _check_unique_plugins(plugins: Sequence[Plugin]) -> None:
    """Kong allows one plugin of a name per scope."""
    first: dict[tuple[str, Scope], Plugin] = {}
    for plugin in plugins:
        seen = first.setdefault((plugin.name, plugin.refs), plugin)
        if seen is not plugin:
            raise KongConfigError(
                plugin.file,
                plugin.path,
                f"a second {plugin.name} plugin for {plugin.refs.label} "
                f"(first at {seen.file}: {seen.path})",
            )


def _effective_route(
    route: DeclaredRoute,
    service: DeclaredService | None,
    plugins: Sequence[Plugin],
    keys: tuple[ConsumerKey, ...],
    warnings: list[ConfigWarning],
) -> RouteConfig:
    service_key = service.entity.key if service else None
    ai_proxy = _effective("ai-proxy", route.entity.key, service_key, plugins)
    file_log = _effective("file-log", route.entity.key, service_key, plugins)
    key_auth = _effective("key-auth", route.entity.key, service_key, plugins)
    if ai_proxy is None:
        _warn(warnings, route.entity, "no ai-proxy plugin applies: claude_gw answers 404 on it")
    return replace(
        route.config,
        service=service.config if service else None,
        ai_proxy=ai_proxy if isinstance(ai_proxy, AIProxyConfig) else None,
        file_log=file_log if isinstance(file_log, FileLogConfig) else None,
        key_auth=replace(key_auth, credentials=keys)
        if isinstance(key_auth, KeyAuthConfig)
        else None,
    )


def _effective(
    name: str, route: str, service: str | None, plugins: Sequence[Plugin]
) -> AIProxyConfig | FileLogConfig | KeyAuthConfig | None:
    """The plugin Kong runs on this route: the most specific enabled one of that name."""
    matching = [
        plugin
        for plugin in plugins
        if plugin.name == name
        and plugin.refs.route in (None, route)
        and plugin.refs.service in (None, service)
    ]
    if not matching:
        return None
    chosen = max(matching, key=lambda plugin: plugin.refs.rank)
    origin = Origin(chosen.file, chosen.path, chosen.refs, explicit_id=chosen.id is not None)
    plugin_id = chosen.id or derived_plugin_id(name, chosen.refs)
    return replace(chosen.config, plugin_id=plugin_id, origin=origin)


def _warn_shared_paths(routes: Sequence[DeclaredRoute], warnings: list[ConfigWarning]) -> None:
    owner: dict[str, DeclaredRoute] = {}
    for route in routes:
        for path in route.config.paths:
            first = owner.setdefault(path, route)
            if first is not route:
                key = first.entity.key
                _warn(warnings, route.entity, f"path {path} is also on route {key}, which gets it")
