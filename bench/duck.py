"""DuckDB's `read_ndjson` extracting the columns of `claude_gw.logs.schema`, as SQL.

The queries read the same generated file as `read_logs` (bad lines and all: `ignore_errors`
turns each one into a row of nulls, dropped with the records that have no `ai`), declare only
the fields they need (`columns=`, so DuckDB skips the rest of each record), and follow
`claude_gw/logs/shapes.py` column by column: the three Kong nestings (`ai.meta` / `ai.usage`,
`ai["ai-proxy"]`, `ai.proxy`), ai-proxy-advanced (`ai["ai-proxy-advanced"]` and
`tried_targets`), claude_gw's own key first where it has the value, Kong's placeholders
("", "UNSPECIFIED") as null. `cost` is the log's own figure, as `read_logs(cost="logged")`
gives it (pricing tokens with genai-prices, the default `auto` mode, is work DuckDB does not
do). `tests/test_bench_duck.py` checks that both give the same frame.

    COLUMNS_12     the twelve columns an analysis of cost and latency reads
    query(path, COLUMNS_12) / query(path)   SQL for those, or for the whole schema
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COLUMNS_12 = (
    "time",
    "session_id",
    "status",
    "requested_model",
    "response_model",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost",
)

_META = (
    "STRUCT(provider_name VARCHAR, request_model VARCHAR, response_model VARCHAR, "
    "request_mode VARCHAR, llm_latency DOUBLE)"
)
_USAGE = (
    "STRUCT(prompt_tokens BIGINT, completion_tokens BIGINT, prompt_token BIGINT, "
    "completion_token BIGINT, total_tokens BIGINT, cost DOUBLE, time_per_token DOUBLE, "
    "time_to_first_token DOUBLE, prompt_tokens_details STRUCT(cached_tokens BIGINT), "
    "completion_tokens_details STRUCT(reasoning_tokens BIGINT))"
)
_PROXY = (
    f"STRUCT(meta {_META}, usage {_USAGE}, tried_targets STRUCT(provider VARCHAR, model VARCHAR)[])"
)
_RECORD = {
    "started_at": "BIGINT",
    "request": 'STRUCT(id VARCHAR, uri VARCHAR, headers STRUCT("user-agent" VARCHAR, '
    '"x-claude-code-session-id" VARCHAR, "x-claude-code-agent-id" VARCHAR))',
    "response": "STRUCT(status BIGINT)",
    "upstream_status": "VARCHAR",
    "latencies": "STRUCT(request DOUBLE, kong DOUBLE)",
    "ai": f'STRUCT(proxy {_PROXY}, "ai-proxy" {_PROXY}, "ai-proxy-advanced" {_PROXY}, '
    f"meta {_META}, usage {_USAGE})",
    "claude_gw": "STRUCT(v BIGINT, session_id VARCHAR, agent_id VARCHAR, client VARCHAR, "
    "client_model VARCHAR, stop_reason VARCHAR, tool_calls BIGINT, error_type VARCHAR, "
    "cost_source VARCHAR, endpoint VARCHAR, capture VARCHAR, route_rule VARCHAR, "
    "simulated BOOLEAN, usage_source VARCHAR, web_search_requests BIGINT)",
    "replay": "STRUCT(run_id VARCHAR, target VARCHAR, source_id VARCHAR)",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _known(sql: str) -> str:
    return f"nullif(nullif({sql}, ''), 'UNSPECIFIED')"


def _error_type() -> str:
    cases = " ".join(f"when {status} then '{name}'" for status, name in _ERROR_TYPES.items())
    by_status = (
        f"case status {cases} else "
        "case when status < 500 then 'invalid_request_error' else 'api_error' end end"
    )
    return (
        f"case when claude_gw is not null then claude_gw.error_type "
        f"when status >= 400 then {by_status} end"
    )


_SHAPE = """case
  when claude_gw is not null and kong is not null then
    case when claude_gw.v = 1 then 'claude_gw-1' end
  else kong end"""
_KONG = """case
  when ai."ai-proxy-advanced" is not null or coalesce(len(ai.proxy.tried_targets), 0) > 0
    then 'kong-advanced'
  when ai.proxy is not null then 'kong-3.9+'
  when ai."ai-proxy" is not null and (
      ai."ai-proxy".usage.prompt_token is not null
      or ai."ai-proxy".usage.completion_token is not null
      or (ai."ai-proxy".meta.llm_latency is null and ai."ai-proxy".usage.prompt_tokens is null))
    then 'kong-3.7'
  when ai."ai-proxy" is not null then 'kong-3.8'
  when ai.meta is not null or ai.usage is not null then 'kong-3.6'
end"""

# Every column of the schema as SQL over the staged record (see `query`).
_EXPRESSIONS = {
    "time": "make_timestamptz(started_at * 1000)",
    "request_id": _known("request.id"),
    "session_id": 'coalesce(claude_gw.session_id, request.headers."x-claude-code-session-id")',
    "agent_id": 'coalesce(claude_gw.agent_id, request.headers."x-claude-code-agent-id")',
    "client": r"nullif(regexp_extract(agent, '^\s*([^/\s]+)', 1), '')",
    "client_version": r"nullif(regexp_extract(agent, '^\s*[^/\s]+/([^\s;()]+)', 1), '')",
    "route_path": "route_path",
    "endpoint": """case when claude_gw.endpoint in
        ('messages', 'count_tokens', 'chat_completions', 'other') then claude_gw.endpoint
      when regexp_matches(route_path, '/v1/messages/count_tokens/?$') then 'count_tokens'
      when regexp_matches(route_path, '/v1/messages/?$') then 'messages'
      when regexp_matches(route_path, '/chat/completions/?$') then 'chat_completions'
      else 'other' end""",
    "status": "status",
    "upstream_status": r"nullif(regexp_extract(upstream_status, '(\d+)\D*$', 1), '')::BIGINT",
    "stream": "case when m.request_mode is not null then m.request_mode = 'stream' end",
    "requested_model": f"coalesce(claude_gw.client_model, {_known('m.request_model')})",
    "request_model": f"coalesce({_known('m.request_model')}, {_known('t.model')})",
    "response_model": _known("m.response_model"),
    "provider": _known("coalesce(m.provider_name, t.provider)"),
    "latency_ms": "latencies.request",
    "upstream_latency_ms": "m.llm_latency",
    "gateway_latency_ms": "latencies.kong",
    "ttft_ms": "u.time_to_first_token",
    "time_per_token_ms": "u.time_per_token",
    "prompt_tokens": "prompt",
    "cached_tokens": "u.prompt_tokens_details.cached_tokens",
    "completion_tokens": "completion",
    "reasoning_tokens": "u.completion_tokens_details.reasoning_tokens",
    "total_tokens": "coalesce(u.total_tokens, prompt + completion)",
    "logged_cost": "logged_cost",
    "cost": "logged_cost",
    "cost_source": "case when logged_cost is not null then 'logged' else 'unpriced' end",
    "error_type": _error_type(),
    "stop_reason": "claude_gw.stop_reason",
    "tool_calls": "claude_gw.tool_calls",
    "web_search_requests": "claude_gw.web_search_requests",
    "capture": "claude_gw.capture",
    "route_rule": "claude_gw.route_rule",
    "simulated": "coalesce(claude_gw.simulated, "
    "coalesce(m.provider_name, t.provider) = 'simulated', false)",
    "usage_source": "claude_gw.usage_source",
    "replay_run": "replay.run_id",
    "replay_target": "replay.target",
    "replay_source_id": "replay.source_id",
    "shape": "shape",
    "source_file": "filename",
    "source_line": "source_line",
}
ALL_COLUMNS = tuple(_EXPRESSIONS)


def columns_type() -> str:
    """The `columns=` argument: the record's fields the queries read, with their types."""
    return "{" + ", ".join(f"{name}: '{sql}'" for name, sql in _RECORD.items()) + "}"


def query(path: str, columns: Sequence[str] = ALL_COLUMNS) -> str:
    """SQL giving `columns` (names of the schema) for every record of `path`, in line order,
    skipping what `read_logs` skips: lines that are not JSON objects, records without `ai`,
    and records of an unknown shape or claude_gw version."""
    unknown = [name for name in columns if name not in _EXPRESSIONS]
    if unknown:
        raise ValueError(f"no SQL for the columns {unknown}")
    selected = ",\n  ".join(f"{_EXPRESSIONS[name]} as {name}" for name in columns)
    source = path.replace("'", "''")
    # Line numbers come from the row's position (each bad line is a row of nulls); the window
    # makes DuckDB number rows in order, so it is added only when `source_line` is asked for.
    numbered = ", row_number() over () as source_line" if "source_line" in columns else ""
    return f"""
with lines as (
  select *{numbered}
  from read_ndjson('{source}', columns={columns_type()}, format='newline_delimited',
                   ignore_errors=true, filename=true, maximum_object_size=67108864)
), parts as (
  select *,
    coalesce(ai.proxy, ai."ai-proxy-advanced", ai."ai-proxy") as p,
    response.status as status,
    coalesce(claude_gw.client, request.headers."user-agent") as agent,
    regexp_extract(request.uri, '^([^?]*)', 1) as route_path,
    {_KONG} as kong
  from lines where ai is not null
), staged as (
  select *,
    coalesce(p.meta, ai.meta) as m,
    coalesce(p.usage, ai.usage) as u,
    p.tried_targets[-1] as t,
    {_SHAPE} as shape
  from parts
), usage as (
  select *,
    coalesce(u.prompt_tokens, u.prompt_token) as prompt,
    coalesce(u.completion_tokens, u.completion_token) as completion,
    case when claude_gw.cost_source = 'unpriced' then null else u.cost end as logged_cost
  from staged
  where shape is not null and (claude_gw is null or claude_gw.v = 1)
)
select
  {selected}
from usage
"""


def connect(threads: int) -> Any:
    """An in-memory DuckDB connection using `threads` threads, without a progress bar."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_progress_bar = false")
    return con


def read(path: str, columns: Sequence[str] = ALL_COLUMNS, *, threads: int) -> Any:
    """`columns` of every record of `path` as a polars DataFrame (see `query`)."""
    return connect(threads).sql(query(path, columns)).pl()
