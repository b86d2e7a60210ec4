"""An upstream's "try again later" hint, in whatever spelling it comes, as the client's headers.

Seen spellings: `retry-after` (seconds or an HTTP date; OpenAI, vLLM), `retry-after-ms` (OpenAI),
and LiteLLM's proxy, which forwards its provider's headers with an `llm_provider-` prefix and
sends its 429 with `llm_provider-retry-after` and no `retry-after` (measured, 1.108.7).
Anthropic's SDKs and the Claude CLI read `retry-after-ms`, then `retry-after`; the client
gets `retry-after` whenever any hint came, and `retry-after-ms` when a millisecond one did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

PROVIDER_PREFIX = "llm_provider-"
SECONDS = ("retry-after", PROVIDER_PREFIX + "retry-after")
MILLISECONDS = ("retry-after-ms", PROVIDER_PREFIX + "retry-after-ms")


def retry_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """`retry-after` (and `retry-after-ms`) for the client, from the upstream's `headers`
    (names lower-case, or a case-insensitive mapping); `{}` when no usable hint came."""
    millis = _first(headers, MILLISECONDS, _milliseconds)
    seconds = _first(headers, SECONDS, _seconds)
    if seconds is None and millis is not None:
        seconds = str(math.ceil(float(millis) / 1000))
    out = {} if seconds is None else {"retry-after": seconds}
    if millis is not None:
        out["retry-after-ms"] = millis
    return out


def _first(
    headers: Mapping[str, str], names: tuple[str, ...], parse: Callable[[str], str | None]
) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None and (parsed := parse(value.strip())) is not None:
            return parsed
    return None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _milliseconds(text: str) -> str | None:
    value = _number(text)
    return None if value is None else str(math.ceil(value))


def _seconds(text: str) -> str | None:
    """A number of seconds or an HTTP date, as given; None for anything else."""
    if _number(text) is not None:
        return text
    # an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT" (checked by shape: parsing it needs no clock,
    # but the client compares it with its own)
    return text if text.endswith("GMT") and "," in text else None
