"""Kong's `key-auth` plugin and the consumers' `keyauth_credentials`: read, checked, and turned
into the gateway's `ClientAuth`.

Kong 3.13's rules, as claude_gw serves them: a route with key-auth answers 401 unless the request
carries a key in one of `key_names` (headers first when `key_in_header`, then the query string
when `key_in_query`) that some consumer holds; two values under one name are refused
("Duplicate API key found"). Credentials are global: any consumer's key opens every route with
key-auth (Kong's ACL plugin, which restricts consumers to routes, is not read). Differences,
each a warning: `key_in_body` is not read (such requests get 401), `anonymous` serves every
request (the route is treated as unauthenticated), and the key is never forwarded upstream nor
logged (as `hide_credentials: true` would have it). Every 401 says `WWW-Authenticate: Key`
(`Key realm="R"` with a `realm`), as Kong 3.6+ does; the log names the consumer as Kong's
does (ids the file does not give are made from the consumer's name and the key's place).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from claude_gw.auth import ClientAuth, Credential, consumer_uuid, credential_uuid
from claude_gw.config import Secret
from claude_gw.kong.envsubst import Substitution
from claude_gw.kong.fields import Node
from claude_gw.kong.model import ConsumerConfig, ConsumerKey, KeyAuthConfig, KongConfigError
from claude_gw.kong.plugins import secret_source

KEY_NAME = re.compile(r"[A-Za-z0-9_-]+")  # Kong: key names are header names of this shape
MISSING = "No API key found in request"  # Kong's messages, in the Anthropic error shape
INVALID = "Unauthorized"
_OTHER_CREDENTIALS = (
    "acls",
    "basicauth_credentials",
    "hmacauth_credentials",
    "jwt_secrets",
    "mtls_auth_credentials",
    "oauth2_credentials",
    "groups",
)


def read_key_auth(config: Node) -> KeyAuthConfig:
    """A `key-auth` plugin's `config` (credentials, plugin_id and origin are set later)."""
    names = config.strings("key_names") or ("apikey",)
    for index, name in enumerate(names):
        if not KEY_NAME.fullmatch(name):
            raise config.error(
                f"key_names[{index}]", f"expected letters, digits, _ and - only, got {name!r}"
            )
    result = KeyAuthConfig(
        key_names=names,
        key_in_header=config.boolean("key_in_header", True),
        key_in_query=config.boolean("key_in_query", True),
        key_in_body=config.boolean("key_in_body", False),
        hide_credentials=config.boolean("hide_credentials", False),
        anonymous=config.string("anonymous"),
        realm=config.string("realm"),
        run_on_preflight=config.boolean("run_on_preflight", True),
    )
    if result.key_in_body:
        config.warn("key_in_body", "not read: a key sent only in the body gets 401")
    if result.anonymous:
        config.warn(
            "anonymous",
            "requests without a valid key are served: claude_gw treats this route as open",
        )
    if not (result.key_in_header or result.key_in_query):
        config.warn("key_in_header", "no place to read a key from: every request gets 401")
    if not {name.lower() for name in names} & {"x-api-key", "authorization"}:
        config.warn(
            "key_names",
            "the Claude CLI sends ANTHROPIC_API_KEY as x-api-key: add x-api-key here for "
            "it to pass",
        )
    config.ignore("identity_realms", "Konnect identity realms are not read", default=[])
    config.finish()
    return result


def read_consumer(node: Node, substitutions: Sequence[Substitution]) -> ConsumerConfig:
    """A `consumers[]` entry: its names and its key-auth keys (other credentials are warned
    about and ignored)."""
    username, custom_id, consumer_id = (node.string(k) for k in ("username", "custom_id", "id"))
    if not username and not custom_id:
        raise node.error("username", "a consumer needs a username or a custom_id")
    name = username or custom_id or ""
    keys = tuple(
        replace(_read_key(child, name, consumer_id, substitutions), custom_id=custom_id)
        for child in node.children("keyauth_credentials")
    )
    for key in _OTHER_CREDENTIALS:
        node.ignore(key, "claude_gw reads key-auth credentials only", default=[])
    if node.has("plugins"):
        node.warn("plugins", "claude_gw has no per-consumer plugins: ignored")
    node.accept("tags", "created_at", "updated_at", "plugins")
    node.finish()
    return ConsumerConfig(username, custom_id, consumer_id, keys)


def _read_key(
    node: Node, consumer: str, consumer_id: str | None, substitutions: Sequence[Substitution]
) -> ConsumerKey:
    key = node.string("key")
    if not key:
        raise node.error("key", "required by claude_gw: it cannot generate keys as Kong does")
    if "{vault://" in (node.raw("key") or ""):
        raise node.error("key", 'vault references are not resolved: use ${{ env "DECK_..." }}')
    node.ignore("ttl", "keys never expire in claude_gw", default=0)
    node.accept("id", "tags", "created_at", "consumer")
    credential_id = node.string("id")
    node.finish()
    return ConsumerKey(
        key=Secret(key),
        consumer=consumer,
        consumer_id=consumer_id,
        credential_id=credential_id,
        key_source=secret_source(key, substitutions),
    )


def all_keys(consumers: Sequence[ConsumerConfig], file: str) -> tuple[ConsumerKey, ...]:
    """Every consumer's keys; a key held twice is an error, as Kong's unique `key` is."""
    seen: dict[str, str] = {}
    keys: list[ConsumerKey] = []
    for consumer in consumers:
        for key in consumer.keys:
            first = seen.setdefault(key.key, consumer.key)
            if first != consumer.key or key in keys:
                raise KongConfigError(
                    file,
                    "consumers",
                    f"consumer {consumer.key!r} holds a key-auth key that {first!r} holds too",
                )
            keys.append(key)
    return tuple(keys)


def client_auth(key_auth: KeyAuthConfig | None) -> ClientAuth | None:
    """The gateway's `ClientAuth` for a route's key-auth plugin; None when there is none or
    when `anonymous` lets every request through."""
    if key_auth is None or key_auth.anonymous:
        return None
    credentials = tuple(
        Credential(
            key.key,
            key.consumer,
            key.consumer_id or consumer_uuid(key.consumer),
            key.credential_id or credential_uuid("kong", key.consumer, ordinal),
            key.custom_id,
        )
        for key, ordinal in zip(key_auth.credentials, ordinals(key_auth.credentials), strict=True)
    )
    realm = key_auth.realm
    return ClientAuth(
        credentials,
        header_names=key_auth.key_names if key_auth.key_in_header else (),
        bearer=False,
        query_names=key_auth.key_names if key_auth.key_in_query else (),
        source=f"Kong key-auth ({len(credentials)} consumer keys)",
        missing_message=MISSING,
        invalid_message=INVALID,
        challenge=f'Key realm="{realm}"' if realm else "Key",
    )


def ordinals(keys: Sequence[ConsumerKey]) -> list[int]:
    """Each key's place (from 1) among the keys of its consumer."""
    seen: dict[str, int] = {}
    places = []
    for key in keys:
        seen[key.consumer] = seen.get(key.consumer, 0) + 1
        places.append(seen[key.consumer])
    return places
