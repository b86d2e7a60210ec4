"""The gateway's exceptions: shallow, each one an Anthropic error waiting to be sent.

Every `GatewayError` knows the HTTP status and the Anthropic `error.type` it becomes, so one
handler at the server boundary turns any of them into
`{"type": "error", "error": {"type": ..., "message": ...}}`. Messages never carry API keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class GatewayError(Exception):
    """Base class: an error the client should see in the Anthropic error shape."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = status if status is not None else self.status
        # Extra response headers, e.g. `retry-after` for a rate limit or `x-should-retry`.
        self.headers: dict[str, str] = dict(headers or {})
        # The upstream's own HTTP status when this error is an upstream answer, for the log.
        self.upstream_status: int | None = None

    def to_body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}


class InvalidRequest(GatewayError):
    """The request is malformed or asks for something the gateway cannot translate (400)."""

    status = 400
    error_type = "invalid_request_error"


class PromptTooLong(InvalidRequest):
    """Too large for the upstream or the body limit.

    The message starts with `prompt is too long` because that is what makes the Claude CLI
    compact the conversation; a 413 would stop it with a misleading "max 32MB" message.
    """

    def __init__(self, detail: str, **kwargs: Any) -> None:
        super().__init__(f"prompt is too long: {detail}", **kwargs)


class RequestTimeout(GatewayError):
    """The client did not send its request (headers or body) in time (408; SDKs retry it)."""

    status = 408
    error_type = "timeout_error"


class HeadersTooLarge(GatewayError):
    """The request line and headers are over the gateway's header limit (431)."""

    status = 431
    error_type = "request_too_large"


class GatewayOverloaded(GatewayError):
    """The gateway itself is at a limit (connections, request bytes in flight): try again soon
    (529 with `retry-after`, which Anthropic's SDKs and the Claude CLI honour)."""

    status = 529
    error_type = "overloaded_error"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"retry-after": str(retry_after_s)})


class NotFound(GatewayError):
    status = 404
    error_type = "not_found_error"


class ClientUnauthenticated(GatewayError):
    """The client presented no key, or one this route does not accept (401). The message
    never repeats what the client sent."""

    status = 401
    error_type = "authentication_error"


class MethodNotAllowed(GatewayError):
    status = 405
    error_type = "invalid_request_error"


class UpstreamError(GatewayError):
    """The upstream failed or answered with an error; the message names the upstream."""

    status = 502
    error_type = "api_error"


class UpstreamAuthError(UpstreamError):
    """The upstream rejected the gateway's own key (the client's key is never forwarded)."""

    status = 401
    error_type = "authentication_error"


class UpstreamPermissionError(UpstreamError):
    status = 403
    error_type = "permission_error"


class UpstreamNotFound(UpstreamError):
    status = 404
    error_type = "not_found_error"


class UpstreamRateLimited(UpstreamError):
    status = 429
    error_type = "rate_limit_error"


class UpstreamOverloaded(UpstreamError):
    status = 529
    error_type = "overloaded_error"


class UpstreamTimeout(UpstreamError):
    status = 504
    error_type = "timeout_error"
