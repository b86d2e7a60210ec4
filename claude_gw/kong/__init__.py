"""Kong decK files in, Kong decK files out: the configuration layer for `--kong-config`.

Invariant: pure. Functions take (filename, text) pairs and an environment mapping, and return
text or frozen dataclasses; nothing here reads `os.environ`, opens a file or writes one. A file
that loads is served the way Kong 3.13 would serve it, except where a `ConfigWarning` (or a
documented deviation, such as `AIProxyConfig.upstream_model`) says otherwise; a file that
cannot be served raises `KongConfigError` naming the file, the key path and what was expected.
"""

from claude_gw.kong.compare import behaviour_differences, same_behaviour
from claude_gw.kong.deck import load_deck
from claude_gw.kong.envsubst import env_names, render_deck_env
from claude_gw.kong.export import export_deck
from claude_gw.kong.model import (
    AIProxyConfig,
    AuthConfig,
    ConfigWarning,
    DeckConfig,
    FileLogConfig,
    KongConfigError,
    ModelOptions,
    Origin,
    RouteConfig,
    RouteMatch,
    Scope,
    ServiceConfig,
)
from claude_gw.kong.options import KongOptions
from claude_gw.kong.settings import (
    config_from_settings,
    deck_from_settings,
    kong_options,
    not_carried_over,
    settings_for_route,
)

__all__ = [
    "AIProxyConfig",
    "AuthConfig",
    "ConfigWarning",
    "DeckConfig",
    "FileLogConfig",
    "KongConfigError",
    "KongOptions",
    "ModelOptions",
    "Origin",
    "RouteConfig",
    "RouteMatch",
    "Scope",
    "ServiceConfig",
    "behaviour_differences",
    "config_from_settings",
    "deck_from_settings",
    "env_names",
    "export_deck",
    "kong_options",
    "load_deck",
    "not_carried_over",
    "render_deck_env",
    "same_behaviour",
    "settings_for_route",
]
