"""The one column schema of a loaded log, for polars and pandas alike.

`read_logs`, `scan_logs` and `read_parquet` return exactly these columns, in this order, with
these dtypes, whatever the record shape (Kong 3.6 to 3.13, ai-proxy-advanced, claude_gw v1).
Both engines derive their dtypes from `SCHEMA`. A value the record does not have is null
(never 0 or ""); a 0 the record does log is kept.

| column | kind | unit | meaning / source |
|---|---|---|---|
| time | time | | arrival, from `started_at` (epoch ms) |
| request_id | str | | `request.id` |
| session_id | str | | `claude_gw.session_id`, else header `x-claude-code-session-id` |
| agent_id | str | | `claude_gw.agent_id`, else header `x-claude-code-agent-id` |
| client | str | | user agent product: `claude-cli/2.1.331 (external, cli)` -> `claude-cli` |
| client_version | str | | user agent version: -> `2.1.331` |
| route_path | str | | `request.uri` without its query |
| endpoint | enum | | `messages`, `count_tokens`, `other` (`claude_gw.endpoint`, else the path) |
| status | int | | `response.status`, what the client got |
| upstream_status | int | | `upstream_status` (Kong: text; last of `"502, 200"`); null if not sent |
| stream | bool | | `meta.request_mode == "stream"`; null when the version does not log it |
| requested_model | str | | what the client asked: `claude_gw.client_model`, else request_model |
| request_model | str | | model sent upstream, `meta.request_model` |
| response_model | str | | model that answered, `meta.response_model` |
| provider | str | | `meta.provider_name` (else the last ai-proxy-advanced target's) |
| latency_ms | float | ms | `latencies.request`, the whole request |
| upstream_latency_ms | float | ms | `meta.llm_latency` (3.8+), the LLM call; 0 when not sent |
| gateway_latency_ms | float | ms | `latencies.kong`, in the gateway before proxying |
| ttft_ms | float | ms | `usage.time_to_first_token` (3.12+); the log's 0 when no token came |
| time_per_token_ms | float | ms | `usage.time_per_token` (3.8+) |
| prompt_tokens | int | tokens | `usage.prompt_tokens` (3.7: `prompt_token`), cached included |
| cached_tokens | int | tokens | `usage.prompt_tokens_details.cached_tokens` (3.11+) |
| completion_tokens | int | tokens | `usage.completion_tokens` (3.7: singular), reasoning included |
| reasoning_tokens | int | tokens | `usage.completion_tokens_details.reasoning_tokens` (3.11+) |
| total_tokens | int | tokens | `usage.total_tokens`, else prompt + completion |
| logged_cost | float | currency | `usage.cost` as the log wrote it (see below) |
| cost | float | USD | the cost under the cost mode (`cost_modes.py`; default `auto`) |
| cost_source | enum | | where `cost` came from: `logged`, `computed`, `unpriced`, `none` |
| error_type | str | | `claude_gw.error_type`; Kong: Anthropic's type for the status (below) |
| stop_reason | str | | `claude_gw.stop_reason` (Anthropic's); null for Kong |
| tool_calls | int | | `claude_gw.tool_calls`; null for Kong |
| web_search_requests | int | | `claude_gw.web_search_requests`: searches run (null: none offered) |
| capture | str | | `claude_gw.capture`: the `claude-gw capture --name` label; null for Kong |
| route_rule | str | | `claude_gw.route_rule`: the routing rule that chose the upstream |
| simulated | bool | | `claude_gw.simulated`, else `provider == "simulated"`; never null |
| usage_source | str | | `claude_gw.usage_source`: `upstream`, or `estimated` (counted locally) |
| replay_run | str | | `replay.run_id` of a `claude_gw.replay` result record, else null |
| replay_target | str | | `replay.target`: the target name the request was replayed on |
| replay_source_id | str | | `replay.source_id`: the `request_id` of the record replayed |
| shape | enum | | the record's shape, one of `SHAPES` (see `shapes.py`) |
| source_file | str | | the file (or stream name) the line came from |
| source_line | int | | 1-based line number in that file |
| request_payload | str | | only with `payloads=True`: the client's body, as logged (JSON text) |
| response_payload | str | | only with `payloads=True`: the body sent back, as logged |

| kind | polars | pandas |
|---|---|---|
| time | Datetime("ms", "UTC") | datetime64[ms, UTC] (missing: NaT) |
| str | String | string[pyarrow] (`pd.StringDtype("pyarrow")`, missing: pd.NA) |
| int | Int64 | Int64 (nullable) |
| float | Float64 | Float64 (nullable) |
| bool | Boolean | boolean (nullable) |
| enum | Enum(categories) | category (same categories, same order) |

- logged_cost: in the log's currency (USD for claude_gw, whatever the operator configured for
  Kong). Kong's 0 (no costs configured, or a failed request) stays 0; null when claude_gw says
  `unpriced` (its 0.0 is then a placeholder), and for Kong 3.6/3.7 (no cost field) or 3.8
  without configured costs (the field is absent).
- cost, cost_source: by default (`cost="auto"`) the log's figure when it is a price (non-zero,
  or claude_gw's own), else computed from the row's tokens with genai-prices, else null
  (`unpriced`, never 0); 0.0 with `none` for a row with nothing to price (count_tokens, a
  failed request). `claude_gw.logs.cost_modes` documents the modes (`auto`, `calculate`,
  `logged`); `with_cost_mode(frame, mode)` re-resolves a loaded frame.
- error_type for Kong records, by status (Anthropic's table): 400 invalid_request_error,
  401 authentication_error, 402 billing_error, 403 permission_error, 404 not_found_error,
  413 request_too_large, 429 rate_limit_error, 500 api_error, 504 timeout_error,
  529 overloaded_error; another 4xx invalid_request_error, another 5xx api_error; null < 400.
- Kong's placeholder `UNSPECIFIED` (an early rejection never learned the model or provider)
  and an empty `request.id` are read as null.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import polars as pl

PandasFrame = Any  # pandas ships no type information here; pandas is imported when used

SHAPES = ("kong-3.6", "kong-3.7", "kong-3.8", "kong-3.9+", "kong-advanced", "claude_gw-1")
ENDPOINTS = ("messages", "count_tokens", "chat_completions", "other")
COST_SOURCES = ("logged", "computed", "unpriced", "none")
ENUMS = {"shape": SHAPES, "endpoint": ENDPOINTS, "cost_source": COST_SOURCES}


class Column(NamedTuple):
    name: str
    kind: str  # "time", "str", "int", "float", "bool", or "enum" (categories in ENUMS)
    unit: str = ""


SCHEMA: tuple[Column, ...] = (
    Column("time", "time"),
    Column("request_id", "str"),
    Column("session_id", "str"),
    Column("agent_id", "str"),
    Column("client", "str"),
    Column("client_version", "str"),
    Column("route_path", "str"),
    Column("endpoint", "enum"),
    Column("status", "int"),
    Column("upstream_status", "int"),
    Column("stream", "bool"),
    Column("requested_model", "str"),
    Column("request_model", "str"),
    Column("response_model", "str"),
    Column("provider", "str"),
    Column("latency_ms", "float", "ms"),
    Column("upstream_latency_ms", "float", "ms"),
    Column("gateway_latency_ms", "float", "ms"),
    Column("ttft_ms", "float", "ms"),
    Column("time_per_token_ms", "float", "ms"),
    Column("prompt_tokens", "int", "tokens"),
    Column("cached_tokens", "int", "tokens"),
    Column("completion_tokens", "int", "tokens"),
    Column("reasoning_tokens", "int", "tokens"),
    Column("total_tokens", "int", "tokens"),
    Column("logged_cost", "float", "currency"),
    Column("cost", "float", "USD"),
    Column("cost_source", "enum"),
    Column("error_type", "str"),
    Column("stop_reason", "str"),
    Column("tool_calls", "int"),
    Column("web_search_requests", "int"),
    Column("capture", "str"),
    Column("route_rule", "str"),
    Column("simulated", "bool"),
    Column("usage_source", "str"),
    Column("replay_run", "str"),
    Column("replay_target", "str"),
    Column("replay_source_id", "str"),
    Column("shape", "enum"),
    Column("source_file", "str"),
    Column("source_line", "int"),
)
PAYLOAD_SCHEMA: tuple[Column, ...] = (
    Column("request_payload", "str"),
    Column("response_payload", "str"),
)


def pandas() -> Any:
    """The pandas module (imported on first use: only the pandas engine needs it)."""
    return importlib.import_module("pandas")


def columns(*, payloads: bool = False) -> tuple[Column, ...]:
    """The columns of a loaded log, in order."""
    return SCHEMA + PAYLOAD_SCHEMA if payloads else SCHEMA


def polars_dtype(column: Column) -> pl.DataType:
    import polars as pl

    if column.kind == "enum":
        return pl.Enum(ENUMS[column.name])
    simple: dict[str, pl.DataType] = {
        "time": pl.Datetime("ms", "UTC"),
        "str": pl.String(),
        "int": pl.Int64(),
        "float": pl.Float64(),
        "bool": pl.Boolean(),
    }
    return simple[column.kind]


def polars_schema(*, payloads: bool = False) -> pl.Schema:
    """The polars schema of a loaded log (see the module docstring)."""
    import polars as pl

    return pl.Schema({c.name: polars_dtype(c) for c in columns(payloads=payloads)})


def pandas_dtype(column: Column) -> Any:
    pd = pandas()

    if column.kind == "enum":
        return pd.CategoricalDtype(list(ENUMS[column.name]), ordered=False)
    simple: dict[str, Any] = {
        "time": pd.DatetimeTZDtype("ms", "UTC"),
        "str": pd.StringDtype("pyarrow"),
        "int": pd.Int64Dtype(),
        "float": pd.Float64Dtype(),
        "bool": pd.BooleanDtype(),
    }
    return simple[column.kind]


def pandas_dtypes(*, payloads: bool = False) -> dict[str, Any]:
    """Column name -> pandas dtype of a loaded log (see the module docstring)."""
    return {c.name: pandas_dtype(c) for c in columns(payloads=payloads)}


def conform_polars(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` cast to the schema: the schema's columns in order (plus the payload columns if
    it has them); a missing column is added as nulls. Raises on a value that cannot be cast."""
    import polars as pl

    payloads = all(c.name in frame.columns for c in PAYLOAD_SCHEMA)
    schema = polars_schema(payloads=payloads)
    # (a missing column is repeated to the frame's height: a bare literal would give a frame
    # without columns one row)
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.repeat(None, frame.height, dtype=dtype))
        .cast(dtype)
        .alias(name)
        for name, dtype in schema.items()
    )


def to_pandas(frame: pl.DataFrame) -> PandasFrame:
    """A polars frame (a loaded log, or a frame derived from one such as `sessions`) as
    pandas, each column with the nullable pandas dtype of its polars dtype (see the module
    docstring): Int* -> Int64, Float* -> Float64, Boolean -> boolean, String ->
    string[pyarrow], Datetime -> datetime64 (same unit and zone), Enum -> category."""
    pd = pandas()

    data = {name: _pandas_column(frame[name]) for name in frame.columns}
    return pd.DataFrame(data, index=pd.RangeIndex(frame.height), copy=False)


def _pandas_column(series: pl.Series) -> Any:
    pd = pandas()
    import polars as pl

    dtype = series.dtype
    if isinstance(dtype, pl.Enum):
        categories = pd.CategoricalDtype(list(dtype.categories), ordered=False)
        codes = series.to_physical().fill_null(-1).cast(pl.Int64()).to_numpy()
        return pd.Categorical.from_codes(codes, dtype=categories)
    if isinstance(dtype, pl.Datetime):
        target: Any = pd.DatetimeTZDtype(dtype.time_unit, dtype.time_zone or "UTC")
        if dtype.time_zone is None:
            return series.to_pandas()
    elif dtype.is_integer():
        target, series = pd.Int64Dtype(), series.cast(pl.Int64())
    elif dtype.is_float():
        target, series = pd.Float64Dtype(), series.cast(pl.Float64())
    elif dtype == pl.Boolean():
        target = pd.BooleanDtype()
    elif dtype == pl.String():
        target = pd.StringDtype("pyarrow")
    else:
        return series.to_pandas()
    # Each of these pandas dtypes implements `__from_arrow__`: one conversion, no Python objects.
    return target.__from_arrow__(series.to_arrow())


def to_polars(frame: PandasFrame) -> pl.DataFrame:
    """A pandas frame of a loaded log (from `to_pandas`) back as polars, cast to the schema."""
    import polars as pl

    return conform_polars(pl.from_pandas(frame))
