"""Gateway settings: frozen objects, built from the environment and command-line options.

`Listen` is the process's: where it listens and what clients may make it hold, once per
process whatever the number of routes. `Settings` is one route's: its path prefixes, client
keys, log, upstream, model routing (`routing.Routing`) and Kong options.

`Listen.from_env(environ)` and `Settings.from_env(environ)` read `CLAUDE_GW_*` (and the upstream
API's key variable, `OPENAI_API_KEY` or `ANTHROPIC_API_KEY`, and `OPENAI_BASE_URL`) from the
mapping it is given, never from `os.environ` itself. The upstream key is read from the
environment or from a file, never from a command-line argument that `ps` would show.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_gw.apis import CHAT, NAMES, OPENAI_URL, UpstreamApi, get_api
from claude_gw.auth import ClientAuth, ClientKeyError, read_client_keys
from claude_gw.routing import DEFAULT_MODEL, ModelRule, Routing

if TYPE_CHECKING:
    from claude_gw.kong.options import KongOptions

SIMULATED = "simulated"
# Anthropic's own limit; the Claude CLI assumes a 1M-token window for non-Claude models, so its
# bodies keep growing (600 KB after six large file reads) and a small limit breaks sessions.
DEFAULT_MAX_BODY = 32 * 1024 * 1024
# Client-facing limits (`serve --help`, README "Limits"). Headers: Envoy's 60 KiB order (nginx
# allows 32 KB); a Claude CLI request's headers are about 1.5 KB.
DEFAULT_MAX_HEADER = 64 * 1024
DEFAULT_MAX_INFLIGHT = 256 * 1024 * 1024  # request bodies held by requests in flight, together
# An upstream answer, after decompression: a streamed 128k-token answer is about 30 MB of SSE.
DEFAULT_MAX_ANSWER = 64 * 1024 * 1024
# A compressed answer may expand this many times (checked past 1 MiB decoded): an SSE stream of
# short deltas gzips up to about 60x (tests/reliability/test_answer_limits.py), a gzip bomb of
# zeros about 1000x.
DEFAULT_MAX_DECOMPRESSION_RATIO = 200.0

ENV = {
    "host": "CLAUDE_GW_HOST",
    "port": "CLAUDE_GW_PORT",
    "upstream": "CLAUDE_GW_UPSTREAM",
    "api_key_file": "CLAUDE_GW_API_KEY_FILE",
    "client_key_file": "CLAUDE_GW_CLIENT_KEY_FILE",
    "allow_unauthenticated": "CLAUDE_GW_ALLOW_UNAUTHENTICATED",
    "pass_env": "CLAUDE_GW_PASS_ENV",  # capture only: not a gateway setting
    "model": "CLAUDE_GW_MODEL",
    "model_map": "CLAUDE_GW_MODEL_MAP",
    "log": "CLAUDE_GW_LOG",
    "log_payloads": "CLAUDE_GW_LOG_PAYLOADS",
    "max_body": "CLAUDE_GW_MAX_BODY",
    "connect_timeout": "CLAUDE_GW_CONNECT_TIMEOUT",
    "read_timeout": "CLAUDE_GW_READ_TIMEOUT",
    "ping_interval": "CLAUDE_GW_PING_INTERVAL",
    "upstream_api": "CLAUDE_GW_UPSTREAM_API",
    "provider": "CLAUDE_GW_PROVIDER",
    "server_profile": "CLAUDE_GW_SERVER_PROFILE",
    "context_window": "CLAUDE_GW_CONTEXT_WINDOW",
    "simulated_timing": "CLAUDE_GW_SIMULATED_TIMING",
    "search_upstream": "CLAUDE_GW_SEARCH_UPSTREAM",
    "search_model": "CLAUDE_GW_SEARCH_MODEL",
    "search_api_key_file": "CLAUDE_GW_SEARCH_API_KEY_FILE",
    "auth_header": "CLAUDE_GW_AUTH_HEADER",
    "upstream_headers": "CLAUDE_GW_UPSTREAM_HEADERS",
    "upstream_query": "CLAUDE_GW_UPSTREAM_QUERY",
    "subagent_model": "CLAUDE_GW_SUBAGENT_MODEL",
    "long_context_model": "CLAUDE_GW_LONG_CONTEXT_MODEL",
    "long_context_tokens": "CLAUDE_GW_LONG_CONTEXT_TOKENS",
    "header_timeout": "CLAUDE_GW_HEADER_TIMEOUT",
    "body_timeout": "CLAUDE_GW_BODY_TIMEOUT",
    "idle_timeout": "CLAUDE_GW_IDLE_TIMEOUT",
    "max_connections": "CLAUDE_GW_MAX_CONNECTIONS",
    "max_header": "CLAUDE_GW_MAX_HEADER",
    "max_inflight": "CLAUDE_GW_MAX_INFLIGHT",
    "max_answer": "CLAUDE_GW_MAX_ANSWER",
    "max_decompression_ratio": "CLAUDE_GW_MAX_DECOMPRESSION_RATIO",
    "shutdown_grace": "CLAUDE_GW_SHUTDOWN_GRACE",
}
UPSTREAM_APIS = NAMES  # the registry's (`apis`)
# translate.profiles.PROFILES: OpenAI's own parameter rules, or those of compatible servers
SERVER_PROFILES = ("openai", "compatible")
# How long the built-in simulated backend takes, as a factor of each model profile's timing:
# `fast` (the default) answers a first `claude -p "say hi"` in about a second, `realistic` takes
# as long as the model would (gpt-5-mini: about 15 s to the first token), `instant` not at all.
SIMULATED_TIMINGS = {"fast": 0.05, "realistic": 1.0, "instant": 0.0}


def flag_kong_options() -> KongOptions:
    """The Kong options of a route configured by flags (`KongOptions()`). Imported when called,
    not with this module: `claude_gw.kong` reads `Settings` and `Secret` from here."""
    from claude_gw.kong.options import KongOptions

    return KongOptions()


class ConfigError(ValueError):
    """A setting is invalid; the message names the option or variable and what was expected."""


class Secret(str):
    """A string that never shows itself in a repr, a log line or a traceback."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class Listen:
    """Where the gateway listens, and the limits on what clients can make it hold: the
    process's, the same for every route."""

    host: str = "127.0.0.1"
    port: int = 8000
    allow_unauthenticated: bool = False  # listen beyond loopback with a route open to anyone
    header_timeout: float = 10.0  # request line + headers must arrive within this
    body_timeout: float = 60.0  # the whole body must arrive within this, after the headers
    idle_timeout: float = 5.0  # a keep-alive connection with no request is closed after this
    max_connections: int | None = None  # None: half the open-file limit (`connection_cap`)
    max_header_bytes: int = DEFAULT_MAX_HEADER
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT  # request bodies in flight, together
    shutdown_grace: float = 30.0  # in-flight requests get this long on SIGTERM/SIGINT

    def with_options(self, **options: Any) -> Listen:
        """A copy with the given command-line options applied (None means "not given")."""
        given = {key: value for key, value in options.items() if value is not None}
        return replace(self, **given)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Listen:
        def get(name: str) -> str | None:
            value = environ.get(ENV[name], "").strip()
            return value or None

        return cls().with_options(
            host=get("host"),
            port=parse_port(get("port"), ENV["port"]),
            allow_unauthenticated=parse_bool(
                get("allow_unauthenticated"), ENV["allow_unauthenticated"]
            ),
            header_timeout=parse_seconds(get("header_timeout"), ENV["header_timeout"]),
            body_timeout=parse_seconds(get("body_timeout"), ENV["body_timeout"]),
            idle_timeout=parse_seconds(get("idle_timeout"), ENV["idle_timeout"]),
            max_connections=parse_count(get("max_connections"), ENV["max_connections"]),
            max_header_bytes=parse_size(get("max_header"), ENV["max_header"]),
            max_inflight_bytes=parse_size(get("max_inflight"), ENV["max_inflight"]),
            shutdown_grace=parse_seconds(get("shutdown_grace"), ENV["shutdown_grace"]),
        )


@dataclass(frozen=True)
class Settings:
    """One route: what a request under its path prefixes gets (Kong: a route with its
    ai-proxy, file-log and key-auth plugins)."""

    upstream_url: str = OPENAI_URL  # or "simulated" for the built-in backend
    api_key: Secret | None = field(default=None, repr=False)
    # who may use the gateway: None = anyone who reaches the port (see `authenticated`)
    client_auth: ClientAuth | None = field(default=None, repr=False)
    routing: Routing = field(default_factory=Routing)  # which upstream model each request gets
    log_path: Path = Path("claude.json")
    log_payloads: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    ping_interval: float = 5.0
    # which API the upstream speaks, and how to reach it
    upstream_api: str = CHAT.name  # one of UPSTREAM_APIS
    provider_name: str | None = None  # for the log (azure, ollama, vllm...); default from the API
    server_profile: str | None = None  # one of SERVER_PROFILES; None: chosen from URL/provider
    # the upstream model's context window in tokens; None: genai-prices' figure for the model
    context_window: int | None = None
    simulated_timing: str = "fast"  # one of SIMULATED_TIMINGS (the built-in backend only)
    # where web searches go when the upstream cannot run them (see `search_settings`)
    search_upstream_url: str | None = None
    search_model: str | None = None
    search_api_key: Secret | None = field(default=None, repr=False)
    auth_header: str | None = None  # header carrying the key; default per API
    upstream_headers: tuple[tuple[str, str], ...] = ()  # extra headers on every upstream request
    upstream_query: tuple[tuple[str, str], ...] = ()  # extra query, e.g. Azure's api-version
    # route identity (`--kong-config`: the decK route's name and paths)
    name: str = "claude-gw"
    paths: tuple[str, ...] = ("/",)  # accepted path prefixes
    # what the route does as Kong's ai-proxy does it (`kong.options`)
    kong: KongOptions = field(default_factory=flag_kong_options)
    # limits on what the upstream can make the gateway hold
    max_answer_bytes: int = DEFAULT_MAX_ANSWER
    max_decompression_ratio: float = DEFAULT_MAX_DECOMPRESSION_RATIO

    @property
    def simulated(self) -> bool:
        return self.upstream_url == SIMULATED

    @property
    def api(self) -> UpstreamApi:
        """The upstream API's module (`apis`)."""
        return get_api(self.upstream_api)

    @property
    def client_key(self) -> Secret | None:
        """The first accepted client key: what `capture` and `env` hand the Claude CLI."""
        if self.client_auth is None or not self.client_auth.credentials:
            return None
        return Secret(self.client_auth.credentials[0].key)

    def search_settings(self) -> Settings | None:
        """The settings of the search route (`--search-upstream`): the Responses API at that
        URL, every request to `search_model` (default gpt-5-mini) with the search key; None
        without one. Only requests whose every tool is a web search take it."""
        if not self.search_upstream_url:
            return None
        return replace(
            self,
            upstream_url=self.search_upstream_url,
            upstream_api="responses",
            api_key=self.search_api_key,
            routing=Routing(model=self.search_model or DEFAULT_MODEL, force_model=True),
            provider_name=None,
            server_profile=None,
            context_window=None,
            auth_header=None,
            upstream_headers=(),
            upstream_query=(),
            kong=replace(self.kong, request_overrides=()),
            search_upstream_url=None,
        )

    @property
    def provider(self) -> str:
        if self.provider_name:
            return self.provider_name
        if self.simulated:
            return SIMULATED
        return self.api.provider

    @property
    def plugin_id(self) -> str:
        """A stable id for this configuration, like the id of Kong's ai-proxy plugin instance."""
        name = f"claude-gw:{self.upstream_url}:{self.routing.model}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def with_options(self, **options: Any) -> Settings:
        """A copy with the given command-line options applied (None means "not given")."""
        given = {key: value for key, value in options.items() if value is not None}
        return replace(self, **given)

    def with_routing(self, **options: Any) -> Settings:
        """A copy with the given `Routing` options applied (None means "not given")."""
        given = {key: value for key, value in options.items() if value is not None}
        return replace(self, routing=replace(self.routing, **given))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = environ.get(ENV[name], "").strip()
            return value or None

        upstream = get("upstream") or environ.get("OPENAI_BASE_URL", "").strip() or OPENAI_URL
        api = parse_choice(get("upstream_api"), UPSTREAM_APIS, ENV["upstream_api"]) or CHAT.name
        settings = cls(upstream_url=normalize_upstream(upstream, ENV["upstream"]), upstream_api=api)
        settings = settings.with_routing(
            model=get("model"),
            model_map=parse_model_map(get("model_map"), ENV["model_map"]),
            subagent_model=get("subagent_model"),
            long_context_model=get("long_context_model"),
            long_context_tokens=parse_count(get("long_context_tokens"), ENV["long_context_tokens"]),
        )
        return settings.with_options(
            api_key=read_api_key(environ, get("api_key_file"), get_api(api).key_env),
            client_auth=read_client_auth(get("client_key_file")),
            log_path=Path(p) if (p := get("log")) else None,
            log_payloads=parse_bool(get("log_payloads"), ENV["log_payloads"]),
            max_body_bytes=parse_size(get("max_body"), ENV["max_body"]),
            connect_timeout=parse_seconds(get("connect_timeout"), ENV["connect_timeout"]),
            read_timeout=parse_seconds(get("read_timeout"), ENV["read_timeout"]),
            ping_interval=parse_seconds(get("ping_interval"), ENV["ping_interval"]),
            provider_name=get("provider"),
            server_profile=parse_choice(
                get("server_profile"), SERVER_PROFILES, ENV["server_profile"]
            ),
            context_window=parse_count(get("context_window"), ENV["context_window"]),
            simulated_timing=parse_choice(
                get("simulated_timing"), tuple(SIMULATED_TIMINGS), ENV["simulated_timing"]
            ),
            search_upstream_url=(
                normalize_upstream(s, ENV["search_upstream"])
                if (s := get("search_upstream"))
                else None
            ),
            search_model=get("search_model"),
            search_api_key=(
                read_api_key(environ, get("search_api_key_file"))
                if get("search_upstream")
                else None
            ),
            auth_header=get("auth_header"),
            upstream_headers=parse_pairs(get("upstream_headers"), ":", ENV["upstream_headers"]),
            upstream_query=parse_pairs(get("upstream_query"), "=", ENV["upstream_query"]),
            max_answer_bytes=parse_size(get("max_answer"), ENV["max_answer"]),
            max_decompression_ratio=parse_ratio(
                get("max_decompression_ratio"), ENV["max_decompression_ratio"]
            ),
        )


def parse_ratio(text: str | None, where: str) -> float | None:
    """A ratio of at least 1, e.g. `100` (an answer may grow 100 times when decompressed)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value >= 1:  # also refuses NaN
        raise ConfigError(f"{where}: expected a number of at least 1, got {text!r}")
    return value


def normalize_upstream(url: str, where: str = "--upstream") -> str:
    url = url.strip()
    if url == SIMULATED:
        return url
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{where}: expected an http(s) URL or 'simulated', got {url!r}")
    return url.rstrip("/")


def read_api_key(
    environ: Mapping[str, str], key_file: str | None, variable: str = CHAT.key_env
) -> Secret | None:
    """The upstream key: from the file when one is named, else from the environment variable
    (the upstream API's `key_env`: OPENAI_API_KEY, or ANTHROPIC_API_KEY for Anthropic's)."""
    if key_file:
        try:
            text = Path(key_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API key file {key_file}: {exc.strerror}") from None
        if not text:
            raise ConfigError(f"the API key file {key_file} is empty")
        return Secret(text.splitlines()[0].strip())
    value = environ.get(variable, "").strip()
    return Secret(value) if value else None


def read_client_auth(key_file: str | None) -> ClientAuth | None:
    """The client keys of `--client-key-file` (one per line), or None when no file is named."""
    if not key_file:
        return None
    try:
        return read_client_keys(key_file)
    except ClientKeyError as exc:
        raise ConfigError(str(exc)) from None


def parse_model_map(text: str | None, where: str) -> tuple[ModelRule, ...] | None:
    """`claude-haiku-*=gpt-5-nano,claude-*=gpt-5-mini` -> rules, in order."""
    if text is None:
        return None
    return tuple(parse_model_rule(item, where) for item in text.split(",") if item.strip())


def parse_model_rule(text: str, where: str) -> ModelRule:
    pattern, sep, model = text.partition("=")
    if not sep or not pattern.strip() or not model.strip():
        raise ConfigError(
            f"{where}: expected PATTERN=MODEL (e.g. 'claude-haiku-*=gpt-5-nano'), got {text!r}"
        )
    return ModelRule(pattern.strip(), model.strip())


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(text: str | None, where: str) -> int | None:
    """`524288`, `512KiB`, `1MB`, `32MiB` -> bytes. Decimal units are powers of 1000."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ConfigError(f"{where}: expected a size such as 524288, 512KiB or 32MiB, got {text!r}")
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ConfigError(f"{where}: the size must be positive, got {text!r}")
    return size


def parse_seconds(text: str | None, where: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{where}: expected a positive number of seconds, got {text!r}")
    return value


def parse_port(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ConfigError(f"{where}: expected a port number 0-65535, got {text!r}")
    return int(text)


def parse_choice(text: str | None, choices: tuple[str, ...], where: str) -> str | None:
    if text is None:
        return None
    if text not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {text!r}")
    return text


def parse_count(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"{where}: expected a positive whole number, got {text!r}")
    return int(text)


def parse_pair(text: str, separator: str, where: str) -> tuple[str, str]:
    """`Name: value` (headers) or `name=value` (query) -> (name, value)."""
    name, sep, value = text.partition(separator)
    if not sep or not name.strip():
        example = "X-Org: team-a" if separator == ":" else "api-version=2024-10-21"
        expected = f"NAME{separator}VALUE (e.g. {example!r})"
        raise ConfigError(f"{where}: expected {expected}, got {text!r}")
    return name.strip(), value.strip()


def parse_pairs(text: str | None, separator: str, where: str) -> tuple[tuple[str, str], ...] | None:
    """Comma-separated pairs, as the environment variables carry them."""
    if text is None:
        return None
    return tuple(parse_pair(item, separator, where) for item in text.split(",") if item.strip())


def parse_bool(text: str | None, where: str) -> bool | None:
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {text!r}")
