"""Client authentication: which keys may use a route, and where a request presents its key.

Pure: a request's headers and query string in, the matching `Credential` out, or
`ClientUnauthenticated` (401 `authentication_error`). The presented key is compared with every
configured key, never stopping at the first match, each comparison `hmac.compare_digest` of
the two keys' SHA-256 digests: neither where a guess first differs from a key, nor which key
matched, nor the keys' lengths change how long the check takes.

Two sources fill a `ClientAuth`: `--client-key-file` (`read_client_keys`: the key in
`x-api-key`, as the Claude CLI sends ANTHROPIC_API_KEY, or `Authorization: Bearer`, as it sends
ANTHROPIC_AUTH_TOKEN and as the anthropic Python SDK 2.x sends its `api_key`), and
Kong's `key-auth` plugin in decK files (`claude_gw.kong`: its `key_names` looked up in the
headers, then in the query string, and its consumers' `keyauth_credentials`).

Every refusal carries a `WWW-Authenticate` challenge (`ClientAuth.challenge`), and every
credential names a consumer, as Kong's File Log does in `consumer` and `authenticated_entity`:
a key file's key is consumer `client-N` (its N-th key) unless its line names one; ids that the
configuration does not give are made from the consumer's name and the key's place, never from
the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from claude_gw.errors import ClientUnauthenticated

Compare = Callable[[bytes, bytes], bool]
MIN_KEY_CHARS = 16  # shorter keys can be guessed; `openssl rand -hex 32` gives 64
# Visible ASCII without spaces: what survives a header, a query string and a shell variable.
_KEY_SHAPE = re.compile(r"[\x21-\x7e]+")
_BEARER = "bearer "
MISSING = "no API key: send it in the x-api-key header (or Authorization: Bearer)"
INVALID = "invalid API key"


class ClientKeyError(ValueError):
    """The client key file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Credential:
    """One accepted key and who it belongs to (a Kong consumer, when one is named)."""

    key: str = field(repr=False)
    consumer: str | None = None  # the consumer's username, else its custom_id
    consumer_id: str | None = None
    credential_id: str | None = None
    custom_id: str | None = None

    @property
    def digest(self) -> bytes:
        return _digest(self.key)

    def consumer_entity(self) -> dict[str, str] | None:
        """Kong's `consumer` object of a log record (`id`, `username` and/or `custom_id`);
        None for a credential of no consumer."""
        if self.consumer is None and self.custom_id is None:
            return None
        entity = {"id": self.consumer_id or consumer_uuid(self.consumer or self.custom_id or "")}
        if self.consumer is not None and self.consumer != self.custom_id:
            entity["username"] = self.consumer
        if self.custom_id is not None:
            entity["custom_id"] = self.custom_id
        return entity

    def authenticated_entity(self) -> dict[str, str] | None:
        """Kong's `authenticated_entity` (the credential's `id` and its `consumer_id`)."""
        consumer = self.consumer_entity()
        if consumer is None or self.credential_id is None:
            return None
        return {"id": self.credential_id, "consumer_id": consumer["id"]}


def consumer_uuid(name: str) -> str:
    """The id of a consumer that the configuration gives none: the same for the same name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-gw:consumer:{name}"))


def credential_uuid(origin: str, consumer: str, ordinal: int) -> str:
    """The id of the `ordinal`-th key (from 1) of `consumer` from `origin`, when the
    configuration gives none: made from where the key is, never from the key."""
    place = f"claude-gw:credential:{origin}:{consumer}:{ordinal}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, place))


@dataclass(frozen=True)
class ClientAuth:
    """The keys a route accepts, and where requests may carry one.

    For each name of `header_names` and `query_names` in turn, the header (case-insensitive),
    then the query parameter (case-sensitive), as Kong's key-auth looks; then
    `Authorization: Bearer` when `bearer` is on. The first key found is the one that counts.
    Two values under one name are refused, as Kong refuses a duplicate key."""

    credentials: tuple[Credential, ...]
    header_names: tuple[str, ...] = ("x-api-key",)
    bearer: bool = True
    query_names: tuple[str, ...] = ()
    source: str = "--client-key-file"  # where the keys came from, for messages
    missing_message: str = MISSING
    invalid_message: str = INVALID
    # RFC 9110: a 401 says how to authenticate. Kong's key-auth sends `Key` (with its
    # `realm`, when configured); a bearer token is what a key file's keys may be sent as.
    challenge: str = "Bearer"

    def authenticate(
        self,
        headers: Sequence[tuple[str, str]],
        query_string: str = "",
        *,
        compare: Compare = hmac.compare_digest,
    ) -> Credential:
        """The credential whose key the request presents; `ClientUnauthenticated` with the
        route's `WWW-Authenticate` challenge when it presents none, two, or one that no
        credential has."""
        try:
            presented = self.presented_key(headers, query_string)
        except ClientUnauthenticated as refusal:
            refusal.headers["www-authenticate"] = self.challenge
            raise
        if not presented:
            raise self._refusal(self.missing_message)
        found = match_key(presented, self.credentials, compare)
        if found is None:
            raise self._refusal(self.invalid_message)
        return found

    def _refusal(self, message: str) -> ClientUnauthenticated:
        return ClientUnauthenticated(message, headers={"www-authenticate": self.challenge})

    def presented_key(self, headers: Sequence[tuple[str, str]], query_string: str) -> str | None:
        """Name by name (Kong's order): the header, then the query parameter; then a bearer
        token."""
        query = parse_qsl(query_string, keep_blank_values=True) if self.query_names else []
        for name in dict.fromkeys((*self.header_names, *self.query_names)):
            value = _single(headers, name, "header") if name in self.header_names else None
            if not value and name in self.query_names:
                value = _single(query, name, "query parameter", fold_case=False)
            if value:
                return value
        if self.bearer:
            value = _single(headers, "authorization", "header")
            if value and value[: len(_BEARER)].lower() == _BEARER:
                return value[len(_BEARER) :].strip()
        return None


def match_key(
    presented: str, credentials: Sequence[Credential], compare: Compare = hmac.compare_digest
) -> Credential | None:
    """The credential with this key, comparing against every one of them (no early exit)."""
    wanted = _digest(presented)
    found: Credential | None = None
    for credential in credentials:
        if compare(wanted, credential.digest) and found is None:
            found = credential
    return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def _single(
    pairs: Sequence[tuple[str, str]], name: str, kind: str, *, fold_case: bool = True
) -> str | None:
    wanted = name.lower() if fold_case else name
    values = [v for k, v in pairs if (k.lower() if fold_case else k) == wanted]
    if len(values) > 1:
        raise ClientUnauthenticated(f"more than one API key: the {kind} {name} appears twice")
    return values[0].strip() if values else None


def parse_client_keys(text: str, source: str) -> tuple[Credential, ...]:
    """Keys one per line, each optionally followed by the name of its consumer (`KEY alice`;
    else `client-N` for the N-th key); blank lines and lines starting with `#` are skipped.
    Each key has at least `MIN_KEY_CHARS` visible ASCII characters and no spaces, and appears
    once."""
    keys: list[Credential] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        key, _, name = line.strip().partition(" ")
        name = name.strip()
        if not key or key.startswith("#"):
            continue
        where = f"{source}: line {number}"
        if not _KEY_SHAPE.fullmatch(key) or not (not name or _KEY_SHAPE.fullmatch(name)):
            raise ClientKeyError(
                f"{where}: a key is visible ASCII without spaces, then at most a consumer name"
            )
        if len(key) < MIN_KEY_CHARS:
            raise ClientKeyError(
                f"{where}: the key has {len(key)} characters; use at least {MIN_KEY_CHARS} "
                "(e.g. openssl rand -hex 32)"
            )
        if key in seen:
            raise ClientKeyError(f"{where}: the same key appears twice")
        seen.add(key)
        consumer = name or f"client-{len(keys) + 1}"
        count = sum(1 for k in keys if k.consumer == consumer) + 1
        credential_id = credential_uuid("client-key-file", consumer, count)
        keys.append(Credential(key, consumer, consumer_uuid(consumer), credential_id))
    if not keys:
        raise ClientKeyError(f"{source}: no keys in it (one key per line)")
    return tuple(keys)


def read_client_keys(path: str | Path) -> ClientAuth:
    """The `ClientAuth` of a client key file (see `parse_client_keys`)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ClientKeyError(f"cannot read the client key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ClientKeyError(f"the client key file {path} is not UTF-8 text") from None
    return ClientAuth(parse_client_keys(text, f"the client key file {path}"))
