"""When to try a request again, and how long to wait first.

Retried: rate limits (429), timeouts (408, 504, no answer in time), overload and server errors
(5xx, 529) and transport failures; never an error marked `x-should-retry: false`, a rejected
request (other 4xx) or a request that cannot be translated. The wait is the upstream's
`retry-after-ms` / `retry-after` when it gives one, else exponential backoff; both capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from claude_gw.errors import GatewayError, UpstreamError, UpstreamTimeout


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    base_delay: float = 0.5  # seconds before the 2nd try; doubles each time
    max_delay: float = 60.0  # no wait is longer, even when the upstream asks for one
    timeout: float = 300.0  # seconds for one try


def retryable(error: GatewayError) -> bool:
    if error.headers.get("x-should-retry") == "false":
        return False
    if isinstance(error, UpstreamTimeout):
        return True
    status = error.upstream_status
    if status is None:
        return isinstance(error, UpstreamError) and type(error) is UpstreamError
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: dict[str, str], now: float) -> float | None:
    """Seconds the upstream asked to wait (`retry-after-ms`, `retry-after` as seconds or
    an HTTP date), or None."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def delay_before(attempt: int, error: GatewayError, policy: RetryPolicy, now: float) -> float:
    """Seconds to wait before try `attempt + 1`, after try `attempt` failed with `error`."""
    asked = retry_after(error.headers, now)
    wait = asked if asked is not None else policy.base_delay * 2 ** (attempt - 1)
    return min(wait, policy.max_delay)
