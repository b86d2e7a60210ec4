"""Gateway settings: one frozen object, built from the environment and command-line options.

`Settings.from_env(environ)` reads `CLAUDE_GW_*` (and `OPENAI_API_KEY` / `OPENAI_BASE_URL`)
from the mapping it is given, never from `os.environ` itself. The upstream key is read from the
environment or from a file, never from a command-line argument that `ps` would show.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SIMULATED = "simulated"
OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-5-mini"
# Anthropic's own limit; the Claude CLI assumes a 1M-token window for non-Claude models, so its
# bodies keep growing (600 KB after six large file reads) and a small limit breaks sessions.
DEFAULT_MAX_BODY = 32 * 1024 * 1024

ENV = {
    "host": "CLAUDE_GW_HOST",
    "port": "CLAUDE_GW_PORT",
    "upstream": "CLAUDE_GW_UPSTREAM",
    "api_key_file": "CLAUDE_GW_API_KEY_FILE",
    "model": "CLAUDE_GW_MODEL",
    "model_map": "CLAUDE_GW_MODEL_MAP",
    "log": "CLAUDE_GW_LOG",
    "log_payloads": "CLAUDE_GW_LOG_PAYLOADS",
    "max_body": "CLAUDE_GW_MAX_BODY",
    "connect_timeout": "CLAUDE_GW_CONNECT_TIMEOUT",
    "read_timeout": "CLAUDE_GW_READ_TIMEOUT",
    "ping_interval": "CLAUDE_GW_PING_INTERVAL",
}


class ConfigError(ValueError):
    """A setting is invalid; the message names the option or variable and what was expected."""


class Secret(str):
    """A string that never shows itself in a repr, a log line or a traceback."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class ModelRule:
    """Requests for a model matching `pattern` (a shell glob: `claude-haiku-*`) go to `model`."""

    pattern: str
    model: str

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.pattern)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    upstream_url: str = OPENAI_URL  # or "simulated" for the built-in backend
    api_key: Secret | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    model_map: tuple[ModelRule, ...] = ()
    log_path: Path = Path("claude.json")
    log_payloads: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    ping_interval: float = 5.0

    @property
    def simulated(self) -> bool:
        return self.upstream_url == SIMULATED

    @property
    def provider(self) -> str:
        return SIMULATED if self.simulated else "openai"

    @property
    def plugin_id(self) -> str:
        """A stable id for this configuration, like the id of Kong's ai-proxy plugin instance."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-gw:{self.upstream_url}:{self.model}"))

    def resolve_model(self, client_model: str | None) -> str:
        """The upstream model for what the client asked: the first matching rule; else the
        default model for Claude names (the CLI sends them on its own, e.g. for subagents) and
        for a missing name; else the client's own name, passed through."""
        name = client_model or ""
        for rule in self.model_map:
            if rule.matches(name):
                return rule.model
        if not name or name.startswith("claude-"):
            return self.model
        return name

    def with_options(self, **options: Any) -> Settings:
        """A copy with the given command-line options applied (None means "not given")."""
        given = {key: value for key, value in options.items() if value is not None}
        return replace(self, **given)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = environ.get(ENV[name], "").strip()
            return value or None

        upstream = get("upstream") or environ.get("OPENAI_BASE_URL", "").strip() or OPENAI_URL
        settings = cls(upstream_url=normalize_upstream(upstream, ENV["upstream"]))
        return settings.with_options(
            host=get("host"),
            port=parse_port(get("port"), ENV["port"]),
            api_key=read_api_key(environ, get("api_key_file")),
            model=get("model"),
            model_map=parse_model_map(get("model_map"), ENV["model_map"]),
            log_path=Path(p) if (p := get("log")) else None,
            log_payloads=parse_bool(get("log_payloads"), ENV["log_payloads"]),
            max_body_bytes=parse_size(get("max_body"), ENV["max_body"]),
            connect_timeout=parse_seconds(get("connect_timeout"), ENV["connect_timeout"]),
            read_timeout=parse_seconds(get("read_timeout"), ENV["read_timeout"]),
            ping_interval=parse_seconds(get("ping_interval"), ENV["ping_interval"]),
        )


def normalize_upstream(url: str, where: str = "--upstream") -> str:
    url = url.strip()
    if url == SIMULATED:
        return url
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{where}: expected an http(s) URL or 'simulated', got {url!r}")
    return url.rstrip("/")


def read_api_key(environ: Mapping[str, str], key_file: str | None) -> Secret | None:
    """The upstream key: from the file when one is named, else from OPENAI_API_KEY."""
    if key_file:
        try:
            text = Path(key_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API key file {key_file}: {exc.strerror}") from None
        if not text:
            raise ConfigError(f"the API key file {key_file} is empty")
        return Secret(text.splitlines()[0].strip())
    value = environ.get("OPENAI_API_KEY", "").strip()
    return Secret(value) if value else None


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


def parse_bool(text: str | None, where: str) -> bool | None:
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {text!r}")
