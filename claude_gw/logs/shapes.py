"""Every record shape, as polars expressions: the decode dtype, the shape of each record, and
the normalisation into the columns of `claude_gw.logs.schema`.

Kong shapes (`../shared/notes/kong.md`, sections 1.2 and 4), told apart by where `ai` keeps
its metrics:

| shape | `ai` layout |
|---|---|
| kong-3.6 | `ai.meta`, `ai.usage`, `ai.payload`: no plugin level |
| kong-3.7 | `ai["ai-proxy"]`; `prompt_token` / `completion_token` (singular), no `llm_latency` |
| kong-3.8 | `ai["ai-proxy"]`; plural token names, `meta.llm_latency`, integer `time_per_token` |
| kong-3.9+ | `ai.proxy` (3.9 OSS, 3.10+ EE; 3.11 token details; 3.12 ttft, request mode) |
| kong-advanced | ai-proxy-advanced: `ai.proxy.tried_targets`, or `ai["ai-proxy-advanced"]` |
| claude_gw-1 | a Kong 3.13 record (`ai.proxy`) plus the top-level key `claude_gw` with `"v": 1` |

Kong's versions only ever moved or renamed fields, so they are read by coalescing the places a
field has lived, newest first. claude_gw's own key is versioned (STYLE rule 11): a record of an
older version is upgraded one version at a time by `UPGRADES` (version v -> v + 1) until it is
`GATEWAY_VERSION`, and only then read; a version newer than this reader is skipped and reported.

The decode dtype lists only the fields some column needs, across all shapes; `json_decode`
ignores the rest of the record. `NEEDS` says which fields each column reads (by block: meta,
usage, headers, ...), so that a load of some columns (`read_logs(columns=[...])`) decodes only
those fields, plus `ALWAYS` (what tells the shapes apart); the blocks stay the same in every Kong
nesting, so the nestings still coalesce. A column added to the schema needs its entry in
`NEEDS` (a test checks that every column has one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from claude_gw.logs.report import Problem
from claude_gw.logs.schema import ENDPOINTS, SHAPES, polars_schema
from claude_gw.wire import AGENT_HEADER, SESSION_HEADER

S, INT, F = pl.String(), pl.Int64(), pl.Float64()

GATEWAY_VERSION = 1  # the newest `claude_gw.v` this reader understands
GATEWAY_SHAPES = {1: "claude_gw-1"}  # original version -> its `shape` label
# Fields of `claude_gw` that some column needs: the union over every version.
GATEWAY_FIELDS = {
    "v": INT,
    "session_id": S,
    "agent_id": S,
    "client": S,
    "client_model": S,
    "stop_reason": S,
    "tool_calls": INT,
    "web_search_requests": INT,
    "error_type": S,
    "cost_source": S,
    "endpoint": S,
    "capture": S,
    "route_rule": S,
    "simulated": pl.Boolean(),
    "usage_source": S,
}
# The `replay` part of a `claude_gw.replay` result record (`claude_gw/replay/records.py`).
REPLAY_FIELDS = {"run_id": S, "target": S, "source_id": S}
Upgrade = Callable[[pl.Expr], pl.Expr]
# UPGRADES[v] rewrites a `claude_gw` struct of version v as version v + 1 (same struct dtype,
# GATEWAY_FIELDS, with `v` set to v + 1). Version 1 is the newest, so there is no step yet.
UPGRADES: Mapping[int, Upgrade] = {}

UNSPECIFIED = "UNSPECIFIED"
# Anthropic's error type for an HTTP status (docs: Errors); other 4xx/5xx: invalid/api error.
ERROR_TYPES = {
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


# The decode dtype is built from these blocks; meta, usage and proxy are shared by every Kong
# nesting (so the nestings coalesce as one struct type). `need` prunes each block to the fields
# some column asks for (see `NEEDS`); a block left out of `need` keeps all its fields.
_TARGET = {"provider": S, "model": S}
_BLOCKS: dict[str, dict[str, Any]] = {
    "meta": {
        "provider_name": S,
        "request_model": S,
        "response_model": S,
        "request_mode": S,
        "llm_latency": F,
    },
    "usage": {
        "prompt_tokens": INT,
        "completion_tokens": INT,
        "prompt_token": INT,  # 3.7
        "completion_token": INT,  # 3.7
        "total_tokens": INT,
        "cost": F,
        "time_per_token": F,
        "time_to_first_token": F,
        "prompt_tokens_details": pl.Struct({"cached_tokens": INT}),
        "completion_tokens_details": pl.Struct({"reasoning_tokens": INT}),
    },
    "headers": {"user-agent": S, SESSION_HEADER: S, AGENT_HEADER: S},
    "request": {"id": S, "uri": S, "headers": None},  # None: the block of that name
    "response": {"status": INT},
    "latencies": {"request": F, "kong": F},
    "target": _TARGET,
    "claude_gw": GATEWAY_FIELDS,
    "replay": REPLAY_FIELDS,
    "record": {
        "started_at": INT,
        "request": None,
        "response": None,
        "upstream_status": S,
        "latencies": None,
        "ai": pl.Null(),  # the Kong nestings, built by `raw_dtype`
        "claude_gw": None,
        "replay": None,
    },
}
Need = Mapping[str, set[str]]  # block -> the fields of it to keep
# What telling shapes and problems apart reads, whatever the columns (`shape_of`, `problem_of`).
ALWAYS: Need = {
    "record": {"ai", "claude_gw"},
    "claude_gw": {"v"},
    "meta": {"llm_latency"},
    "usage": {"prompt_tokens", "prompt_token", "completion_token"},
    "target": {"model"},
}
# The fields each column reads, by block (`identity_columns`, `outcome_columns`, ...).
NEEDS: Mapping[str, Need] = {
    "time": {"record": {"started_at"}},
    "request_id": {"record": {"request"}, "request": {"id"}},
    "session_id": {
        "claude_gw": {"session_id"},
        "record": {"request"},
        "request": {"headers"},
        "headers": {SESSION_HEADER},
    },
    "agent_id": {
        "claude_gw": {"agent_id"},
        "record": {"request"},
        "request": {"headers"},
        "headers": {AGENT_HEADER},
    },
    "client": {
        "claude_gw": {"client"},
        "record": {"request"},
        "request": {"headers"},
        "headers": {"user-agent"},
    },
    "client_version": {
        "claude_gw": {"client"},
        "record": {"request"},
        "request": {"headers"},
        "headers": {"user-agent"},
    },
    "route_path": {"record": {"request"}, "request": {"uri"}},
    "endpoint": {"record": {"request"}, "request": {"uri"}, "claude_gw": {"endpoint"}},
    "status": {"record": {"response"}, "response": {"status"}},
    "upstream_status": {"record": {"upstream_status"}},
    "stream": {"meta": {"request_mode"}},
    "requested_model": {"claude_gw": {"client_model"}, "meta": {"request_model"}},
    "request_model": {"meta": {"request_model"}, "target": {"model"}},
    "response_model": {"meta": {"response_model"}},
    "provider": {"meta": {"provider_name"}, "target": {"provider"}},
    "latency_ms": {"record": {"latencies"}, "latencies": {"request"}},
    "upstream_latency_ms": {"meta": {"llm_latency"}},
    "gateway_latency_ms": {"record": {"latencies"}, "latencies": {"kong"}},
    "error_type": {"claude_gw": {"error_type"}, "record": {"response"}, "response": {"status"}},
    "stop_reason": {"claude_gw": {"stop_reason"}},
    "tool_calls": {"claude_gw": {"tool_calls"}},
    "web_search_requests": {"claude_gw": {"web_search_requests"}},
    "ttft_ms": {"usage": {"time_to_first_token"}},
    "time_per_token_ms": {"usage": {"time_per_token"}},
    "prompt_tokens": {"usage": {"prompt_tokens", "prompt_token"}},
    "cached_tokens": {"usage": {"prompt_tokens_details"}},
    "completion_tokens": {"usage": {"completion_tokens", "completion_token"}},
    "reasoning_tokens": {"usage": {"completion_tokens_details"}},
    "total_tokens": {
        "usage": {
            "total_tokens",
            "prompt_tokens",
            "prompt_token",
            "completion_tokens",
            "completion_token",
        }
    },
    "logged_cost": {"usage": {"cost"}, "claude_gw": {"cost_source"}},
    # resolved from other columns once the rows are known (frames.COST_INPUTS)
    "cost": {},
    "cost_source": {},
    "capture": {"claude_gw": {"capture"}},
    "route_rule": {"claude_gw": {"route_rule"}},
    "simulated": {"claude_gw": {"simulated"}, "meta": {"provider_name"}, "target": {"provider"}},
    "usage_source": {"claude_gw": {"usage_source"}},
    "replay_run": {"record": {"replay"}, "replay": {"run_id"}},
    "replay_target": {"record": {"replay"}, "replay": {"target"}},
    "replay_source_id": {"record": {"replay"}, "replay": {"source_id"}},
    "shape": {},
    "source_file": {},
    "source_line": {},
    "request_payload": {},
    "response_payload": {},
}


def need_of(columns: Iterable[str] | None) -> Need | None:
    """The fields `columns` read, with those every record's shape needs; None (all of them)
    when `columns` is None or names a column without an entry in `NEEDS`."""
    if columns is None:
        return None
    need: dict[str, set[str]] = {block: set(names) for block, names in ALWAYS.items()}
    for column in columns:
        if column not in NEEDS:
            return None
        for block, names in NEEDS[column].items():
            need.setdefault(block, set()).update(names)
    return need


def _block(name: str, need: Need | None) -> pl.Struct:
    keep = None if need is None else need.get(name, set())
    fields = {
        key: _block(key, need) if dtype is None else dtype
        for key, dtype in _BLOCKS[name].items()
        if keep is None or key in keep
    }
    return pl.Struct(fields)


def raw_dtype(*, payloads: bool = False, need: Need | None = None) -> pl.Struct:
    """The decode dtype: the fields the columns need, from every shape; with `need`
    (`need_of(columns)`), only those of the columns asked for."""
    meta, usage = _block("meta", need), _block("usage", need)
    payload = {"payload": pl.Struct({"request": S, "response": S})} if payloads else {}
    targets = pl.List(_block("target", need))
    proxy = pl.Struct({"meta": meta, "usage": usage, "tried_targets": targets, **payload})
    ai = pl.Struct(
        {"proxy": proxy, "ai-proxy": proxy, "ai-proxy-advanced": proxy}
        | {"meta": meta, "usage": usage, **payload}
    )
    record = _block("record", need)
    return pl.Struct(
        {name: ai if name == "ai" else dtype for name, dtype in record.to_schema().items()}
    )


def upgraded(
    gateway: pl.Expr,
    *,
    current: int = GATEWAY_VERSION,
    upgrades: Mapping[int, Upgrade] = UPGRADES,
) -> pl.Expr:
    """`gateway` (a `claude_gw` struct) with every row of a version below `current` upgraded
    step by step (v -> v + 1 -> ... -> current); other rows unchanged."""
    for version in range(1, current):
        step = upgrades[version]
        is_old = gateway.struct.field("v") == version
        gateway = pl.when(is_old).then(step(gateway)).otherwise(gateway)
    return gateway


def field(expr: pl.Expr, *path: str) -> pl.Expr:
    for name in path:
        expr = expr.struct.field(name)
    return expr


def known(expr: pl.Expr) -> pl.Expr:
    """Null for Kong's placeholders: "" and UNSPECIFIED."""
    return pl.when(~expr.is_in(["", UNSPECIFIED])).then(expr)


def shape_of(ai: pl.Expr, gateway: pl.Expr) -> pl.Expr:
    """The shape label (see the module docstring); null when `ai` matches no known layout."""
    proxy, legacy, advanced = (
        field(ai, "proxy"),
        field(ai, "ai-proxy"),
        field(ai, "ai-proxy-advanced"),
    )
    legacy_usage = field(legacy, "usage")
    singular = (
        field(legacy_usage, "prompt_token").is_not_null()
        | field(legacy_usage, "completion_token").is_not_null()
    )
    without_latency = (
        field(legacy, "meta", "llm_latency").is_null()
        & field(legacy_usage, "prompt_tokens").is_null()
    )
    kong = (
        pl.when(advanced.is_not_null() | (field(proxy, "tried_targets").list.len() > 0))
        .then(pl.lit("kong-advanced"))
        .when(proxy.is_not_null())
        .then(pl.lit("kong-3.9+"))
        .when(legacy.is_not_null() & (singular | without_latency))
        .then(pl.lit("kong-3.7"))
        .when(legacy.is_not_null())
        .then(pl.lit("kong-3.8"))
        .when(field(ai, "meta").is_not_null() | field(ai, "usage").is_not_null())
        .then(pl.lit("kong-3.6"))
    )
    version = field(gateway, "v")
    label = pl.lit(None, S)
    for v, name in GATEWAY_SHAPES.items():
        label = pl.when(version == v).then(pl.lit(name)).otherwise(label)
    # A claude_gw record is named by its own version, once its `ai` has a known layout.
    return pl.when(gateway.is_not_null() & kong.is_not_null()).then(label).otherwise(kong)


def error_type_for(status: pl.Expr) -> pl.Expr:
    """Anthropic's error type for an HTTP status; null below 400."""
    fallback = (
        pl.when(status < 500).then(pl.lit("invalid_request_error")).otherwise(pl.lit("api_error"))
    )
    mapped = status.replace_strict(ERROR_TYPES, default=fallback, return_dtype=S)
    return pl.when(status >= 400).then(mapped)


def endpoint_of(path: pl.Expr, logged: pl.Expr) -> pl.Expr:
    """claude_gw's own `endpoint` when it is one of ENDPOINTS, else the path's."""
    by_path = (
        pl.when(path.str.contains(r"/v1/messages/count_tokens/?$"))
        .then(pl.lit("count_tokens"))
        .when(path.str.contains(r"/v1/messages/?$"))
        .then(pl.lit("messages"))
        .when(path.str.contains(r"/chat/completions/?$"))
        .then(pl.lit("chat_completions"))
        .otherwise(pl.lit("other"))
    )
    return pl.when(logged.is_in(list(ENDPOINTS))).then(logged).otherwise(by_path)


def parts(raw: pl.Expr, dtype: pl.Struct) -> dict[str, pl.Expr]:
    """Stage 1: the sub-structs the columns read from, as named columns (those `dtype`, the
    decode dtype, has)."""
    ai = field(raw, "ai")
    proxy = pl.coalesce(field(ai, "proxy"), field(ai, "ai-proxy-advanced"), field(ai, "ai-proxy"))
    request = dtype.to_schema().get("request")
    headers = isinstance(request, pl.Struct) and "headers" in request.to_schema()
    return {
        "_raw": raw,
        "_ai": ai,
        "_gw": upgraded(field(raw, "claude_gw")),
        "_meta": pl.coalesce(field(proxy, "meta"), field(ai, "meta")),
        "_usage": pl.coalesce(field(proxy, "usage"), field(ai, "usage")),
        "_target": field(proxy, "tried_targets").list.last(),
        "_proxy": proxy,
    } | ({"_headers": field(raw, "request", "headers")} if headers else {})


def identity_columns() -> dict[str, pl.Expr]:
    raw, gw, headers = pl.col("_raw"), pl.col("_gw"), pl.col("_headers")
    agent = pl.coalesce(field(gw, "client"), field(headers, "user-agent"))
    path = field(raw, "request", "uri").str.extract(r"^([^?]*)")
    return {
        "time": field(raw, "started_at").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        "request_id": known(field(raw, "request", "id")),
        "session_id": pl.coalesce(field(gw, "session_id"), field(headers, SESSION_HEADER)),
        "agent_id": pl.coalesce(field(gw, "agent_id"), field(headers, AGENT_HEADER)),
        "client": agent.str.extract(r"^\s*([^/\s]+)"),
        "client_version": agent.str.extract(r"^\s*[^/\s]+/([^\s;()]+)"),
        "route_path": path,
        "endpoint": endpoint_of(path, field(gw, "endpoint")),
    }


def outcome_columns() -> dict[str, pl.Expr]:
    raw, gw, meta, target = pl.col("_raw"), pl.col("_gw"), pl.col("_meta"), pl.col("_target")
    status = field(raw, "response", "status")
    mode = field(meta, "request_mode")
    request_model = known(field(meta, "request_model"))
    return {
        "status": status,
        "upstream_status": field(raw, "upstream_status").str.extract(r"(\d+)\D*$").cast(INT),
        "stream": pl.when(mode.is_not_null()).then(mode == "stream"),
        "requested_model": pl.coalesce(field(gw, "client_model"), request_model),
        "request_model": pl.coalesce(request_model, known(field(target, "model"))),
        "response_model": known(field(meta, "response_model")),
        "provider": known(pl.coalesce(field(meta, "provider_name"), field(target, "provider"))),
        "latency_ms": field(raw, "latencies", "request"),
        "upstream_latency_ms": field(meta, "llm_latency"),
        "gateway_latency_ms": field(raw, "latencies", "kong"),
        "error_type": pl.when(gw.is_not_null())
        .then(field(gw, "error_type"))
        .otherwise(error_type_for(status)),
        "stop_reason": field(gw, "stop_reason"),
        "tool_calls": field(gw, "tool_calls"),
        "web_search_requests": field(gw, "web_search_requests"),
    }


def provenance_columns() -> dict[str, pl.Expr]:
    """Where a record came from: capture label, routing rule, simulation, replay run."""
    raw, gw, meta = pl.col("_raw"), pl.col("_gw"), pl.col("_meta")
    provider = pl.coalesce(field(meta, "provider_name"), field(pl.col("_target"), "provider"))
    return {
        "capture": field(gw, "capture"),
        "route_rule": field(gw, "route_rule"),
        "simulated": pl.coalesce(field(gw, "simulated"), provider == "simulated").fill_null(False),
        "usage_source": field(gw, "usage_source"),
        "replay_run": field(raw, "replay", "run_id"),
        "replay_target": field(raw, "replay", "target"),
        "replay_source_id": field(raw, "replay", "source_id"),
    }


def usage_columns() -> dict[str, pl.Expr]:
    usage, gw = pl.col("_usage"), pl.col("_gw")
    prompt = pl.coalesce(field(usage, "prompt_tokens"), field(usage, "prompt_token"))
    completion = pl.coalesce(field(usage, "completion_tokens"), field(usage, "completion_token"))
    unpriced = field(gw, "cost_source") == "unpriced"
    return {
        "ttft_ms": field(usage, "time_to_first_token"),
        "time_per_token_ms": field(usage, "time_per_token"),
        "prompt_tokens": prompt,
        "cached_tokens": field(usage, "prompt_tokens_details", "cached_tokens"),
        "completion_tokens": completion,
        "reasoning_tokens": field(usage, "completion_tokens_details", "reasoning_tokens"),
        "total_tokens": pl.coalesce(field(usage, "total_tokens"), prompt + completion),
        "logged_cost": pl.when(unpriced.fill_null(False))
        .then(None)
        .otherwise(field(usage, "cost")),
        # resolved by `cost_modes.resolve_costs` once the rows are known (frames.Pipeline)
        "cost": pl.lit(None, F),
        "cost_source": pl.lit(None, S),
    }


def payload_columns() -> dict[str, pl.Expr]:
    proxy, ai = pl.col("_proxy"), pl.col("_ai")
    return {
        f"{part}_payload": pl.coalesce(field(proxy, "payload", part), field(ai, "payload", part))
        for part in ("request", "response")
    }


def problem_of(ai: pl.Expr, gateway: pl.Expr, shape: pl.Expr) -> pl.Expr:
    """Why a decoded record is skipped (a `Problem` value), or null to keep it."""
    version = field(gateway, "v")
    return (
        pl.when(ai.is_null())
        .then(pl.lit(Problem.NO_AI.value))
        .when(gateway.is_not_null() & ~version.is_in(list(GATEWAY_SHAPES)).fill_null(False))
        .then(pl.lit(Problem.UNKNOWN_GATEWAY_VERSION.value))
        .when(shape.is_null())
        .then(pl.lit(Problem.UNKNOWN_AI_SHAPE.value))
    )


def normalise(
    frame: pl.LazyFrame,
    *,
    payloads: bool = False,
    columns: Sequence[str] | None = None,
    dtype: pl.Struct | None = None,
) -> pl.LazyFrame:
    """Decoded records (`raw` of `dtype`, `source_file`, `source_line`, `_repair`) -> the
    schema's columns (or only `columns`, in that order), then `_line` (the source line),
    `_problem` (why the row must be skipped, or null) and `_repair`."""
    dtype = dtype if dtype is not None else raw_dtype(payloads=payloads)
    ai, gateway = field(pl.col("raw"), "ai"), field(pl.col("raw"), "claude_gw")
    staged = frame.with_columns(_shape=shape_of(ai, gateway), **parts(pl.col("raw"), dtype))
    staged = staged.with_columns(_problem=problem_of(ai, gateway, pl.col("_shape")))
    schema = polars_schema(payloads=payloads)
    wanted = list(schema) if columns is None else list(columns)
    expressions = _expressions(payloads=payloads)
    return staged.select(
        *(expressions[name].cast(schema[name]).alias(name) for name in wanted),
        pl.col("source_line").alias("_line"),
        "_problem",
        "_repair",
    )


def _expressions(*, payloads: bool) -> dict[str, pl.Expr]:
    columns = identity_columns() | outcome_columns() | usage_columns() | provenance_columns()
    columns |= {"shape": pl.col("_shape").cast(pl.Enum(SHAPES), strict=False)}
    columns |= {"source_file": pl.col("source_file"), "source_line": pl.col("source_line")}
    if payloads:
        columns |= payload_columns()
    return columns
