"""What every upstream API module provides: `UpstreamApi`, and the stream `Translator` it makes.

An API module is the one place that knows an upstream API: the path its requests go to, the
header and environment variable of its key, the provider its models are priced as, how a
client's Anthropic request becomes its body, how its answers, streams, usage and errors read,
and how a request in its shape is counted locally when it reports no usage. The gateway,
replay, capture, the Kong export and the CLI take an API from the registry (`apis.get_api`) and
ask it; none of them names an API's path, header or key variable itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from claude_gw.errors import GatewayError
from claude_gw.translate.errors import upstream_http_error
from claude_gw.translate.models import TargetModel
from claude_gw.translate.profiles import ServerProfile
from claude_gw.translate.responses_search import SearchOptions
from claude_gw.wire import AnthropicEvent, AnthropicResponse, ChatUsage

JSON = dict[str, Any]
# How a web search request of the client is served by the API itself: `translated` to its own
# search tool (Responses' web_search), `passed` unchanged to an upstream that runs it (Anthropic),
# or None: the API cannot search (the gateway routes or refuses it, `server.web_search`).
WebSearch = Literal["translated", "passed"] | None


class Translator(Protocol):
    """One streamed answer, upstream events in, Anthropic events out, and what the log needs."""

    @property
    def started(self) -> bool: ...
    @property
    def stop_reason(self) -> str | None: ...
    @property
    def usage(self) -> ChatUsage | None: ...
    @property
    def response_model(self) -> str | None: ...
    @property
    def tool_calls(self) -> int: ...
    @property
    def has_content(self) -> bool: ...
    @property
    def saw_finish_reason(self) -> bool: ...
    @property
    def web_search_requests(self) -> int | None: ...
    def start(self, model: str | None = None) -> list[AnthropicEvent]: ...
    def supply_usage(self, usage: ChatUsage) -> None: ...
    def feed(self, chunk: Any) -> list[AnthropicEvent]: ...
    def finish(self) -> list[AnthropicEvent]: ...
    def error(self, error_type: str, message: str) -> list[AnthropicEvent]: ...
    def message(self) -> AnthropicResponse: ...


class UpstreamApi(Protocol):
    name: str  # what `--upstream-api` and replay's target `kind` call it
    path: str  # appended to the upstream base URL
    default_url: str  # the base URL of the API's own vendor
    provider: str  # genai-prices' provider of the models behind it (the log's default)
    key_env: str  # the environment variable its key is read from by default
    auth_header: str  # the header that carries the key (`authorization`: as `Bearer <key>`)
    headers: Mapping[str, str]  # sent with every request unless the client sends its own
    forwarded: tuple[str, ...]  # client headers passed on (the key is the gateway's own)
    web_search: WebSearch
    # the answer is the upstream's own Anthropic message: usage and events pass as they came
    passthrough: bool
    # a context window from the price table applies (see server.context_window)
    priced_window: bool
    profiled: bool  # server profiles (`translate.profiles`) shape its requests

    def request(
        self, doc: JSON, target: TargetModel, *, stream: bool, profile: ServerProfile
    ) -> JSON:
        """The upstream body for the client's Anthropic request `doc`, for model `target`."""
        ...

    def response(
        self, body: JSON, *, message_id: str, search: SearchOptions | None = None
    ) -> tuple[AnthropicResponse, ChatUsage | None]:
        """The Anthropic message of a one-shot answer, and its usage in the log's terms.
        `search`: the request's web search options (None: it offered no search)."""
        ...

    def translator(
        self, *, message_id: str, model: str, search: SearchOptions | None = None
    ) -> Translator: ...

    def usage(self, usage: Any) -> ChatUsage | None:
        """The API's usage object in the log's (Chat Completions) terms; None when absent."""
        ...

    def prompt_tokens(self, doc: JSON) -> int:
        """The prompt tokens of `doc`, a request in this API's shape, counted locally (o200k)."""
        ...

    def error(
        self, status: int, body: bytes, headers: Mapping[str, str], *, upstream: str
    ) -> GatewayError:
        """The error the client gets for a non-2xx answer (its status, body and headers)."""
        ...


def http_error(
    status: int, body: bytes, headers: Mapping[str, str], *, upstream: str
) -> GatewayError:
    """A non-2xx answer of any of the three APIs: their error envelopes share the fields read
    (`error.message`, `error.type`, `error.code`), and so do their retry hints."""
    return upstream_http_error(status, body, headers, upstream=upstream)
