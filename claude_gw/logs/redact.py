"""Secret redaction for log records: which headers and query keys are secret, and masking of
key-looking tokens in free text (URIs, error messages quoted from upstreams, payloads)."""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, unquote, unquote_plus

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
SECRET_QUERY_KEYS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})
# A header or query parameter whose name holds one of these (`x-goog-api-key`, `openai_key`,
# `x-amz-security-token`, `client_secret`, `x-custom-auth`) carries a credential.
SECRET_NAME_PARTS = ("key", "token", "secret", "auth", "password", "passwd", "credential")
SECRET_NAMES = frozenset({"sig", "signature", "pwd", "pass", "code"})

# (pattern, replacement, hints): each pattern starts at a word boundary with one of its hints
# (case-insensitively), so a text where no hint starts a word cannot match it. The hints are
# looked for first, with substring searches that cost a fraction of a regex scan: most texts
# (headers, URIs, request and response bodies, where "max_tokens" and "input_tokens" hold a
# hint but not at a word's start) then skip every pattern.
_SECRET_PATTERNS = (
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-api03-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED, ("sk-",)),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED, ("aiza",)),  # Google API keys
    (
        re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"),
        rf"\1 {REDACTED}",
        ("bearer", "basic"),
    ),
    (
        re.compile(
            r"(?i)\b((?:api[_-]?)?key|token|secret|access[_-]?token|client[_-]?secret|password"
            r"|passwd|credentials?)([\"']?\s*[=:]\s*[\"']?)[A-Za-z0-9_\-./+]{16,}=*"
        ),
        rf"\1\2{REDACTED}",
        ("api", "key", "token", "secret", "access", "client", "pass", "credential"),
    ),
)


# Every pattern, case-insensitive and cut after its shortest match, in one scan: a text without
# a match (most header values, URIs and bodies) cannot match any pattern and is returned as it
# is; the hints below then pick which patterns to run on the rest. The lookahead lists every
# character that a pattern's first letter matches case-insensitively (the long s and the Kelvin
# sign included): it lets the scan skip other positions without the slow case-insensitive
# comparison, which dominates the scan of a long header value.
FIRST_LETTERS = "sSaAbBkKtTcCpP\u017f\u212a"
_ANY_MATCH = re.compile(
    rf"(?=[{FIRST_LETTERS}])\b(?i:"
    r"sk-[a-z0-9_\-]{16}"
    r"|aiza[0-9a-z_\-]{30}"
    r"|(?:bearer|basic)\s+[a-z0-9\-._~+/]{8}"
    r"|(?:(?:api[_-]?)?key|token|secret|access[_-]?token|client[_-]?secret|password|passwd"
    r"|credentials?)[\"']?\s*[=:]\s*[\"']?[a-z0-9_\-./+]{16}"
    r")"
)

# Token shapes that their issuers document, case-sensitive, each masked whole: AWS access key
# ids, GitHub and GitLab tokens, Slack, Stripe and Hugging Face tokens, Google OAuth access
# tokens, JSON Web Tokens, PEM private keys, and the user:password of a URL. One scan finds
# them all: every alternative starts with a fixed character, so the regex engine skips the
# positions where none of those characters is.
_TOKEN_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|gl(?:pat|dt|rt|ft)-[A-Za-z0-9_\-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|ya29\.[A-Za-z0-9_\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
    r")(?![A-Za-z0-9])"
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----(?:.*?-----END[A-Z ]*PRIVATE KEY-----|.*)"
    r"|(?<=://)[^\s/?#@\"'<>]+:[^\s/?#@\"'<>]*@",
    re.DOTALL,
)


def _token_shape(match: re.Match[str]) -> str:
    return f"{REDACTED}@" if match[0].endswith("@") else REDACTED


def starts_a_word(text: str, hint: str) -> bool:
    """Whether `hint` occurs in `text` at a word boundary (`\\b`: not after a word character)."""
    at = text.find(hint)
    while at != -1:
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
            return True
        at = text.find(hint, at + 1)
    return False


def scrub_secrets(text: str) -> str:
    """`text` with API-key-looking tokens masked: `sk-...`, `Bearer xxx`, `key=<long secret>`,
    the documented token shapes above, and the password of a `user:password@` URL."""
    if _TOKEN_SHAPES.search(text) is not None:
        text = _TOKEN_SHAPES.sub(_token_shape, text)
    if _ANY_MATCH.search(text) is None:
        return text
    folded = text.casefold()
    for pattern, replacement, hints in _SECRET_PATTERNS:
        if any(starts_a_word(folded, hint) for hint in hints):
            text = pattern.sub(replacement, text)
    return text


def scrub_secrets_everywhere(text: str) -> str:
    """`scrub_secrets` without the hints: every pattern applied (the reference it must equal)."""
    text = _TOKEN_SHAPES.sub(_token_shape, text)
    for pattern, replacement, _ in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=1024)  # a client sends the same names on every request
def secret_name(name: str) -> bool:
    """Whether a header or query parameter of this name carries a credential."""
    lowered = name.lower()
    return (
        lowered in SECRET_HEADERS
        or lowered in SECRET_QUERY_KEYS
        or lowered in SECRET_NAMES
        or any(part in lowered for part in SECRET_NAME_PARTS)
    )


def scrub_query_pair(name: str, value: str | None) -> tuple[str, str | None]:
    """(name, value) of one decoded query parameter as logged: the value of a secret-named
    parameter is REDACTED, and either part that looks like a key (`?sk-...`) is scrubbed."""
    if value is not None and secret_name(name):
        return scrub_secrets(name), REDACTED
    return scrub_secrets(name), scrub_secrets(value) if value else value


def scrub_query(query: str) -> str:
    """A raw query string as logged: each `name=value` piece whose decoded form holds a secret
    becomes `name=REDACTED` (percent-encoded keys such as `sk%2D...` included); the others stay
    as they were sent."""
    pieces = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        plain_name, plain_value = unquote_plus(name), unquote_plus(value) if sep else None
        scrubbed = scrub_query_pair(plain_name, plain_value)
        if scrubbed == (plain_name, plain_value):
            pieces.append(piece)
        else:
            masked_name, masked_value = scrubbed
            name_part = name if masked_name == plain_name else quote(masked_name)
            pieces.append(name_part + (f"={quote(masked_value or '')}" if sep else ""))
    return "&".join(pieces)


def scrub_path(path: str) -> str:
    """A request path as logged: scrubbed, in its percent-decoded form too."""
    scrubbed = scrub_secrets(path)
    if "%" in scrubbed:
        plain = unquote(scrubbed)
        if (masked := scrub_secrets(plain)) != plain:
            return quote(masked, safe="/")
    return scrubbed
