"""Where requests are replayed: targets declared in TOML/YAML or on the command line.

A target is a name, a kind (an upstream API of `claude_gw.apis`: `chat`, OpenAI Chat
Completions, `responses`, OpenAI Responses, `anthropic`, Anthropic Messages; or `gateway`: a
running claude_gw gateway, reached as Anthropic Messages at `<base_url>/anything/v1/messages`),
a base URL, a model, the environment variable that holds its key, and extra body parameters
(e.g. `reasoning_effort`).

File shape (TOML; YAML the same as a mapping):

    [targets.gpt-5]
    kind = "chat"
    base_url = "https://api.openai.com/v1"
    model = "gpt-5"
    api_key_env = "OPENAI_API_KEY"
    params = { reasoning_effort = "low" }

Command line: `--target NAME` names a target of the file, or (with no file naming it) an
OpenAI chat model of that name; `--target name=x,kind=chat,base_url=...,model=...,api_key_env=...`
spells one out.

`base_url` must be an http(s) URL; left out, it is the kind's default (its API's vendor URL, or the
`base_urls` the caller passes, e.g. from OPENAI_BASE_URL). A target on a loopback address
(127.0.0.0/8, ::1, localhost) needs no key: its key variable is used only when it is set.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from claude_gw.apis import ANTHROPIC, APIS, CHAT, UpstreamApi

Kind = str  # the name of an upstream API (`apis.NAMES`), or GATEWAY
GATEWAY = "gateway"  # a running claude_gw gateway, spoken to in Anthropic Messages
GATEWAY_DEFAULTS: dict[str, Any] = {"default_url": "http://127.0.0.1:8000", "key_env": None}
FIELDS = ("name", "kind", "base_url", "model", "api_key_env", "params")
HTTP_URL = re.compile(r"^https?://[^/\s]+")


class TargetError(ValueError):
    """A target declaration that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Target:
    name: str
    kind: Kind = CHAT.name
    base_url: str = ""
    model: str = ""
    api_key_env: str | None = None  # None: the kind's default variable; "": no key
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in APIS and self.kind != GATEWAY:
            kinds = ", ".join((*APIS, GATEWAY))
            raise TargetError(f"target {self.name}: kind must be one of {kinds}")
        object.__setattr__(self, "base_url", self.base_url or self._default("default_url"))
        if not HTTP_URL.match(self.base_url):
            raise TargetError(
                f"target {self.name}: base_url must be an http(s) URL, got {self.base_url!r}"
            )
        object.__setattr__(self, "model", self.model or self.name)
        if self.api_key_env is None:
            object.__setattr__(self, "api_key_env", self._default("key_env"))

    def _default(self, fact: str) -> Any:
        """The kind's default base URL or key variable: its API's, or a local gateway's."""
        if self.kind == GATEWAY:
            return GATEWAY_DEFAULTS[fact]
        return getattr(APIS[self.kind], fact)

    @property
    def api(self) -> UpstreamApi:
        """The API its requests are sent in (a gateway's: Anthropic Messages)."""
        return ANTHROPIC if self.kind == GATEWAY else APIS[self.kind]

    @property
    def provider(self) -> str:
        """The provider its records name: the API's, or `claude_gw` for a gateway."""
        return "claude_gw" if self.kind == GATEWAY else self.api.provider

    @property
    def on_loopback(self) -> bool:
        """Whether `base_url` is on this machine (a local server often wants no key)."""
        return is_loopback(self.base_url)

    @property
    def fingerprint(self) -> str:
        """What makes two targets answer alike (for the cache): everything but the name."""
        params = ",".join(f"{k}={self.params[k]!r}" for k in sorted(self.params))
        return f"{self.kind}|{self.base_url.rstrip('/')}|{self.model}|{params}"


def is_loopback(url: str) -> bool:
    """Whether the URL's host is `localhost` or a loopback address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


BaseUrls = Mapping[str, str]  # kind -> the base URL a target of that kind gets by default


def target_from(name: str, spec: Mapping[str, Any], base_urls: BaseUrls | None = None) -> Target:
    unknown = set(spec) - set(FIELDS)
    if unknown:
        raise TargetError(f"target {name}: unknown fields {', '.join(sorted(unknown))}")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise TargetError(f"target {name}: params must be a table")
    kind = spec.get("kind", CHAT.name)
    default_url = (base_urls or {}).get(kind, "") if isinstance(kind, str) else ""
    return Target(
        name=name,
        kind=kind,
        base_url=str(spec.get("base_url") or default_url),
        model=str(spec.get("model") or ""),
        api_key_env=spec.get("api_key_env"),
        params=dict(params),
    )


def parse_targets(
    text: str, *, fmt: Literal["toml", "yaml"] = "toml", base_urls: BaseUrls | None = None
) -> dict[str, Target]:
    """The targets of a TOML or YAML document (see the module docstring), by name."""
    try:
        doc = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise TargetError(f"cannot parse the targets file: {exc}") from None
    table = doc.get("targets") if isinstance(doc, Mapping) else None
    if not isinstance(table, Mapping):
        raise TargetError("the targets file needs a `targets` table")
    if not table:
        raise TargetError("the targets file's `targets` table is empty")
    found = {}
    for name, spec in table.items():
        if not isinstance(spec, Mapping | None):
            raise TargetError(f"target {name}: expected a table of fields, got {spec!r}")
        found[str(name)] = target_from(str(name), spec or {}, base_urls)
    return found


def load_targets(path: str | Path, *, base_urls: BaseUrls | None = None) -> dict[str, Target]:
    """The targets of a `.toml`, `.yaml` or `.yml` file; `TargetError` names the file when
    it cannot be read or parsed."""
    path = Path(path)
    fmt: Literal["toml", "yaml"] = "yaml" if path.suffix in (".yaml", ".yml") else "toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetError(f"cannot read the targets file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TargetError(f"the targets file {path} is not UTF-8 text") from None
    try:
        return parse_targets(text, fmt=fmt, base_urls=base_urls)
    except TargetError as exc:
        raise TargetError(f"{path}: {exc}") from None


def parse_target_option(
    value: str, known: Mapping[str, Target], base_urls: BaseUrls | None = None
) -> Target:
    """One `--target` value: a known name, `key=value,...`, or an OpenAI chat model name."""
    if "=" not in value:
        return known.get(value) or target_from(value, {}, base_urls)
    spec: dict[str, Any] = {}
    for piece in value.split(","):
        key, sep, item = piece.partition("=")
        if not sep:
            raise TargetError(f"--target {value}: expected key=value pairs, got {piece!r}")
        spec[key.strip()] = item.strip()
    name = spec.pop("name", None) or spec.get("model")
    if not name:
        raise TargetError(f"--target {value}: needs a name or a model")
    params = {k[len("params.") :]: v for k, v in spec.items() if k.startswith("params.")}
    plain = {k: v for k, v in spec.items() if not k.startswith("params.")}
    return target_from(str(name), {**plain, "params": params}, base_urls)
