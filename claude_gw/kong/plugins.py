"""Reading the `config` of the two plugins claude_gw runs: `ai-proxy` and `file-log`.

Each reader validates like Kong 3.13 (types, enums, ranges, keys that go together) and raises
`KongConfigError` where Kong would reject the plugin or claude_gw cannot serve it; keys that are
valid but change nothing in claude_gw, and unknown keys, become warnings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from claude_gw.config import Secret
from claude_gw.kong import schema
from claude_gw.kong.envsubst import Substitution
from claude_gw.kong.fields import Node
from claude_gw.kong.model import (
    CHAT_SUFFIX,
    KONG_DEFAULT_MAX_BODY,
    PROVIDER_BASE_URLS,
    AIProxyConfig,
    AuthConfig,
    FileLogConfig,
    LLMFormat,
    ModelOptions,
    ParamLocation,
    Streaming,
    endpoint_suffix,
)

SERVED_FORMATS = ("anthropic", "openai")
_STREAMING_EFFECT = {
    "deny": "Kong answers 400 to streaming requests, claude_gw streams them",
    "always": "Kong streams every answer, claude_gw streams only when the client asks",
}
# Kong's file-log `path` rule: no *, &, % or backquote.
_LOG_PATH = re.compile(r"[^*&%`]+")
_VAULT = "{vault://"
# A value this short could turn up inside a secret by chance; only trust a match of the whole.
_SHORT_VALUE = 8


def read_ai_proxy(config: Node, substitutions: Sequence[Substitution] = ()) -> AIProxyConfig:
    """An `ai-proxy` plugin's `config`. `substitutions` are the file's `env` renderings, used to
    remember how its secrets were written. plugin_id and origin are set by the caller."""
    route_type = config.string("route_type", required=True, choices=schema.ROUTE_TYPES)
    if route_type != "llm/v1/chat":
        raise config.error(
            "route_type", f"claude_gw serves only llm/v1/chat (chat completions), not {route_type}"
        )
    model = config.child("model", required=True)
    assert model is not None  # required=True raised otherwise
    provider, name, options = _read_model(model)
    logging = config.child("logging")
    result = AIProxyConfig(
        provider=provider,
        model_name=name,
        llm_format=_read_format(config),
        options=options,
        auth=_read_auth(config.child("auth"), substitutions),
        log_statistics=logging.boolean("log_statistics", False) if logging else False,
        log_payloads=logging.boolean("log_payloads", False) if logging else False,
        max_request_body_size=_max_body(config),
        model_name_header=config.boolean("model_name_header", True),
        response_streaming=_read_streaming(config),
        genai_category=_read_category(config),
    )
    if logging:
        logging.finish()
    config.finish()
    return result


def read_file_log(config: Node) -> FileLogConfig:
    """A `file-log` plugin's `config` (plugin_id and origin are set by the caller)."""
    path = config.string("path", required=True)
    assert path is not None
    if not _LOG_PATH.fullmatch(path):
        raise config.error("path", f"not a valid filename (Kong forbids * & % and `): {path!r}")
    reopen = config.boolean("reopen", False)
    config.ignore("custom_fields_by_lua", "claude_gw does not run Lua", default={})
    config.finish()
    return FileLogConfig(path=path, reopen=reopen)


def _read_format(config: Node) -> LLMFormat:
    llm_format = config.string("llm_format", choices=schema.LLM_FORMATS) or "openai"
    if llm_format == "anthropic":
        return "anthropic"
    if llm_format == "openai":
        return "openai"
    raise config.error(
        "llm_format",
        f"claude_gw accepts {' and '.join(SERVED_FORMATS)} clients, not {llm_format}",
    )


def _read_streaming(config: Node) -> Streaming:
    streaming = config.string("response_streaming", choices=schema.RESPONSE_STREAMING) or "allow"
    if streaming != "allow":
        config.warn("response_streaming", f"not enforced: {_STREAMING_EFFECT[streaming]}")
    return "deny" if streaming == "deny" else "always" if streaming == "always" else "allow"


def _read_category(config: Node) -> str:
    category = config.string("genai_category", choices=schema.GENAI_CATEGORIES)
    if category not in (None, "text/generation"):
        config.warn("genai_category", "ignored: claude_gw serves text/generation only")
    return category or "text/generation"


def _max_body(config: Node) -> int:
    size = config.integer("max_request_body_size", minimum=0)
    return KONG_DEFAULT_MAX_BODY if size is None else size


def _read_model(model: Node) -> tuple[str, str | None, ModelOptions]:
    provider = model.string("provider", required=True, choices=schema.PROVIDERS)
    assert provider is not None
    name = model.string("name")
    if name is not None and "$(" in name:
        raise model.error(
            "name",
            "Kong's $(headers.x) / $(query_params.x) / $(uri_captures.x) templates are not "
            "supported by claude_gw: name the model",
        )
    options_node = model.child("options")
    options = _read_options(options_node, provider) if options_node else ModelOptions()
    if provider not in PROVIDER_BASE_URLS:
        model.warn(
            "provider",
            f"claude_gw sends OpenAI Chat Completions to every upstream but anthropic: {provider} "
            "is reached as an OpenAI-compatible server at model.options.upstream_url",
        )
        if options.upstream_url is None:
            raise model.error(
                "options.upstream_url",
                f"required with provider {provider}: claude_gw knows no default URL for it",
            )
    model.finish()
    return provider, name, options


def _read_options(options: Node, provider: str = "openai") -> ModelOptions:
    input_cost = options.number("input_cost", positive=True)
    output_cost = options.number("output_cost", positive=True)
    if (input_cost is None) != (output_cost is None):
        options.warn(
            "input_cost" if input_cost is not None else "output_cost",
            "cost stays 0: Kong computes cost only when input_cost and output_cost are both set",
        )
    url = options.string("upstream_url")
    result = ModelOptions(
        upstream_url=_chat_url(options, url, endpoint_suffix(provider))
        if url is not None
        else None,
        input_cost=input_cost,
        output_cost=output_cost,
        max_tokens=options.integer("max_tokens"),
        temperature=options.number("temperature", minimum=0, maximum=5),
        top_p=options.number("top_p", minimum=0, maximum=1),
        top_k=options.integer("top_k", minimum=0, maximum=500),
        extra=_read_extra(options),
    )
    options.finish()
    return result


def _chat_url(options: Node, url: str, suffix: str = CHAT_SUFFIX) -> str:
    """`upstream_url` is Kong's full endpoint URL; one without the endpoint (`/chat/completions`,
    or `/messages` for provider anthropic) is read as a base URL (what SDK clients expect), with
    a warning, since Kong would post to it as is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise options.error("upstream_url", f"expected an http(s) URL, got {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(suffix):
        path += suffix
        fixed = urlunsplit(parts._replace(path=path))
        options.warn(
            "upstream_url",
            f"Kong posts to upstream_url exactly as written; claude_gw reads a URL without "
            f"{suffix} as a base URL and posts to {fixed}",
        )
    return urlunsplit(parts._replace(path=path))


def _read_extra(options: Node) -> dict[str, object]:
    """Kong options claude_gw keeps (an export writes them back) but does not act on; those at
    Kong's default are dropped (Kong fills them in again)."""
    found: dict[str, object] = {}
    for key in schema.STRING_OPTIONS:
        found[key] = options.string(key, choices=schema.OPTION_CHOICES.get(key))
    for key in schema.INTEGER_OPTIONS:
        found[key] = options.integer(key, minimum=0)
    for key in schema.OBJECT_OPTIONS:
        child = options.child(key)
        if child is not None:
            child.accept(*schema.AI_PROXY["model"]["options"][key])
            child.finish()
            found[key] = dict(child.data)
    kept = {key: value for key, value in found.items() if not schema.is_default(key, value)}
    for key in kept:
        options.warn(key, "ignored: claude_gw does not use this provider option")
    return kept


def _read_auth(auth: Node | None, substitutions: Sequence[Substitution]) -> AuthConfig:
    if auth is None:
        return AuthConfig()
    header_name, header_value = _together(auth, ("header_name", "header_value"))
    param_name, param_value, location = _together(
        auth, ("param_name", "param_value", "param_location")
    )
    if location not in (None, *schema.PARAM_LOCATIONS):
        raise auth.error("param_location", f"expected query or body, got {location!r}")
    for key in ("header_value", "param_value"):
        if _VAULT in (auth.raw(key) or ""):
            raise auth.error(
                key,
                'Kong vault references are not resolved by claude_gw: use ${{ env "DECK_..." }}',
            )
    result = AuthConfig(
        header_name=header_name,
        header_value=Secret(header_value) if header_value is not None else None,
        param_name=param_name,
        param_value=Secret(param_value) if param_value is not None else None,
        param_location=_location(location),
        allow_override=auth.boolean("allow_override", False),
        header_value_source=secret_source(header_value, substitutions),
        param_value_source=secret_source(param_value, substitutions),
    )
    _ignore_cloud_auth(auth)
    auth.finish()
    return result


def _together(auth: Node, keys: tuple[str, ...]) -> tuple[str | None, ...]:
    """Kong's `mutually_required`: all of these keys or none."""
    values = tuple(auth.string(key) for key in keys)
    if any(value is not None for value in values):
        missing = [key for key, value in zip(keys, values, strict=True) if value is None]
        if missing:
            raise auth.error(missing[0], f"required with {', '.join(keys)}: set all or none")
    return values


def _location(location: str | None) -> ParamLocation | None:
    return "query" if location == "query" else "body" if location == "body" else None


def _ignore_cloud_auth(auth: Node) -> None:
    why = "claude_gw authenticates with header_* or param_* only"
    for key in schema.CLOUD_AUTH:
        auth.ignore(key, why, default=schema.CLOUD_AUTH_DEFAULTS.get(key))


def secret_source(value: str | None, substitutions: Sequence[Substitution]) -> str | None:
    """`value` with each rendered `env` value put back as its `${{ env "DECK_..." }}` text; None
    when no substitution is in it (the secret was written in clear)."""
    if not value:
        return None
    plain = value.removeprefix("Bearer ")
    usable = {
        sub.value: sub.expression
        for sub in substitutions
        if sub.value and (len(sub.value) >= _SHORT_VALUE or sub.value in (value, plain))
    }
    if not usable:
        return None
    pattern = re.compile("|".join(re.escape(v) for v in sorted(usable, key=len, reverse=True)))
    source, count = pattern.subn(lambda match: usable[match.group(0)], value)
    return source if count else None
