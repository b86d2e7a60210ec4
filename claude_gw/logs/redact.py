"""Secret redaction for log records: which headers and query keys are secret, and masking of
key-looking tokens in free text (URIs, error messages quoted from upstreams, payloads)."""

from __future__ import annotations

import re

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
SECRET_QUERY_KEYS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})

# (pattern, replacement, hints): a pattern can only match a text that holds one of its hints,
# case-folded; the hints are looked for first, since a substring test costs a fraction of a
# regex scan and most texts (headers, URIs, request bodies) hold few of them or none.
_SECRET_PATTERNS = (
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-api03-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED, ("sk-",)),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED, ("aiza",)),  # Google API keys
    (
        re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*"),
        rf"\1 {REDACTED}",
        ("bearer",),
    ),
    (
        re.compile(
            r"(?i)\b((?:api[_-]?)?key|token|secret|access[_-]?token)([\"']?\s*[=:]\s*[\"']?)"
            r"[A-Za-z0-9_\-./+]{16,}=*"
        ),
        rf"\1\2{REDACTED}",
        ("key", "token", "secret"),
    ),
)

_ANY_HINT = re.compile("|".join(re.escape(h) for _, _, hints in _SECRET_PATTERNS for h in hints))


def scrub_secrets(text: str) -> str:
    """`text` with API-key-looking tokens masked: `sk-...`, `Bearer xxx`, `key=<long secret>`."""
    lowered = text.casefold()
    if not _ANY_HINT.search(lowered):
        return text
    for pattern, replacement, hints in _SECRET_PATTERNS:
        for hint in hints:
            if hint in lowered:
                text = pattern.sub(replacement, text)
                break
    return text
