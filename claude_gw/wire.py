"""Wire shapes, as TypedDicts only: the one place where field names are spelled.

Anthropic Messages (what the Claude CLI sends and expects back), OpenAI Chat Completions (what
the gateway sends upstream and reads back) and the log record (Kong File Log + AI Proxy, plus
claude_gw's own versioned key). All are `total=False`: real traffic omits fields freely, and
readers must use `.get`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JSON = dict[str, Any]
# The headers by which the Claude CLI names its session, and a subagent's requests.
SESSION_HEADER = "x-claude-code-session-id"
AGENT_HEADER = "x-claude-code-agent-id"  # only on a subagent's requests

# --------------------------------------------------------------------------- Anthropic in


class AnthropicTextBlock(TypedDict, total=False):
    type: Literal["text"]
    text: str
    cache_control: JSON


class AnthropicImageSource(TypedDict, total=False):
    type: Literal["base64", "url"]
    media_type: str
    data: str
    url: str


class AnthropicImageBlock(TypedDict, total=False):
    type: Literal["image"]
    source: AnthropicImageSource


class AnthropicToolUseBlock(TypedDict, total=False):
    type: Literal["tool_use"]
    id: str
    name: str
    input: JSON


class AnthropicToolResultBlock(TypedDict, total=False):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[JSON]
    is_error: bool


class AnthropicThinkingBlock(TypedDict, total=False):
    type: Literal["thinking"]
    thinking: str
    signature: str


class AnthropicMessage(TypedDict, total=False):
    role: Literal["user", "assistant", "system"]
    content: str | list[JSON]


class AnthropicTool(TypedDict, total=False):
    name: str
    description: str
    input_schema: JSON
    type: str
    defer_loading: bool
    cache_control: JSON


class AnthropicRequest(TypedDict, total=False):
    model: str
    messages: list[AnthropicMessage]
    system: str | list[AnthropicTextBlock]
    tools: list[AnthropicTool]
    tool_choice: JSON
    metadata: JSON
    max_tokens: int
    thinking: JSON
    output_config: JSON
    context_management: JSON
    safeguards: list[JSON]
    stop_sequences: list[str]
    temperature: float
    top_p: float
    top_k: int
    stream: bool


# --------------------------------------------------------------------------- Anthropic out


class AnthropicUsage(TypedDict, total=False):
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    server_tool_use: JSON  # {"web_search_requests": n}


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class AnthropicResponse(TypedDict, total=False):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[JSON]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: AnthropicUsage


class AnthropicEvent(TypedDict, total=False):
    """One SSE event; `type` is also the SSE `event:` name."""

    type: str
    message: AnthropicResponse
    index: int
    content_block: JSON
    delta: JSON
    usage: AnthropicUsage
    error: JSON


class AnthropicError(TypedDict):
    type: Literal["error"]
    error: JSON


class CountTokensResponse(TypedDict):
    input_tokens: int


# --------------------------------------------------------------------------- OpenAI chat


class ChatFunction(TypedDict, total=False):
    name: str
    description: str
    parameters: JSON
    arguments: str


class ChatToolCall(TypedDict, total=False):
    index: int
    id: str
    type: Literal["function"]
    function: ChatFunction


class ChatMessage(TypedDict, total=False):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[JSON] | None
    tool_calls: list[ChatToolCall]
    tool_call_id: str
    reasoning_content: str
    refusal: str | None


class ChatTool(TypedDict, total=False):
    type: Literal["function"]
    function: ChatFunction


class ChatRequest(TypedDict, total=False):
    model: str
    messages: list[ChatMessage]
    tools: list[ChatTool]
    tool_choice: str | JSON
    parallel_tool_calls: bool
    response_format: JSON
    max_completion_tokens: int
    max_tokens: int
    reasoning_effort: str
    stop: list[str]
    temperature: float
    top_p: float
    user: str
    stream: bool
    stream_options: JSON


class ChatUsage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: JSON
    completion_tokens_details: JSON


class ChatChoice(TypedDict, total=False):
    index: int
    message: ChatMessage
    delta: ChatMessage
    finish_reason: str | None


class ChatCompletion(TypedDict, total=False):
    """A non-streaming response, or (with `delta` in its choices) one stream chunk."""

    id: str
    object: str
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage | None
    error: JSON


# --------------------------------------------------------------------------- log record


class LogMeta(TypedDict, total=False):
    plugin_id: str
    provider_name: str
    request_model: str
    response_model: str
    request_mode: Literal["oneshot", "stream"]
    llm_latency: int


class LogUsage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    time_per_token: float
    time_to_first_token: int
    prompt_tokens_details: JSON
    completion_tokens_details: JSON


class LogProxy(TypedDict, total=False):
    meta: LogMeta
    usage: LogUsage
    payload: JSON


class GatewayFields(TypedDict, total=False):
    """claude_gw's own additions to a Kong record, under the top-level key `claude_gw`."""

    v: int
    session_id: str | None
    agent_id: str | None
    client: str | None
    client_model: str | None
    stop_reason: str | None
    tool_calls: int
    error_type: str | None
    error_message: str | None
    cost_source: Literal["genai-prices", "config", "unpriced", "none"]
    gateway_overhead_ms: float
    simulated: bool
    endpoint: Literal["messages", "count_tokens", "chat_completions", "other"]
    capture: str | None
    route_rule: str | None
    usage_source: Literal["upstream", "estimated"] | None
    web_search_requests: int | None


class LogRecord(TypedDict, total=False):
    request: JSON
    response: JSON
    upstream_uri: str
    upstream_status: str
    latencies: JSON
    tries: list[JSON]
    route: JSON
    service: JSON
    client_ip: str
    started_at: int
    source: Literal["upstream", "kong"]
    workspace: str
    workspace_name: str
    ai: dict[str, LogProxy]
    claude_gw: GatewayFields
    consumer: dict[str, str]  # only when a client key named one: id, username / custom_id
    authenticated_entity: dict[str, str]  # then too: the credential's id, its consumer_id
