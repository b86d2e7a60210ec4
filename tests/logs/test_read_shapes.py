"""Every record shape read into the documented columns (claude_gw/logs/shapes.py, schema.py).

Kong: each line of the 3.13 fixture `../shared/fixtures/kong/claude.json`, as is and rewritten
into every older version's layout (`logfactory.kong_ai`, from `../shared/notes/kong.md`),
checked against an expectation computed from the 3.13 record. claude_gw: each record variant
built with `build_record`, and the records of a real gateway run against the simulator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from claude_gw.config import Secret, Settings
from claude_gw.logs import load_logs, read_logs
from claude_gw.logs.record import GATEWAY_FIELDS_VERSION
from claude_gw.logs.schema import SCHEMA, SHAPES
from claude_gw.logs.shapes import GATEWAY_SHAPES, GATEWAY_VERSION, UPGRADES, upgraded
from claude_gw.logs.writer import LogWriter
from claude_gw.server.app import create_app
from claude_gw.server.runner import build_upstream
from tests.logs.logfactory import (
    AGENT,
    GATEWAY_EXCHANGES,
    KONG_VERSIONS,
    NOT_LOGGED,
    SESSION,
    as_version,
    gateway_record,
    kong_line,
    kong_records,
)
from tests.servers import ServerThread

ERRORS = {400: "invalid_request_error", 429: "rate_limit_error", 500: "api_error"}


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def known(value: Any) -> Any:
    return None if value in ("", "UNSPECIFIED") else value


def expected_kong(record: dict[str, Any], version: str) -> dict[str, Any]:
    """The row for a 3.13 fixture record rewritten as `version`, from the 3.13 record."""
    proxy = record["ai"]["proxy"]
    meta, usage = proxy["meta"], proxy["usage"]
    agent, rest = record["request"]["headers"]["user-agent"].split("/", 1)
    status = record["response"]["status"]
    row = {
        "time": datetime.fromtimestamp(record["started_at"] / 1000, UTC),
        "request_id": record["request"]["id"],
        "session_id": None,
        "agent_id": None,
        "client": agent,
        "client_version": rest.split(" ")[0],
        "route_path": "/anything/v1/messages",
        "endpoint": "messages",
        "status": status,
        "upstream_status": int(record["upstream_status"]) if record["upstream_status"] else None,
        "stream": meta["request_mode"] == "stream",
        "requested_model": known(meta["request_model"]),
        "request_model": known(meta["request_model"]),
        "response_model": known(meta["response_model"]),
        "provider": known(meta["provider_name"]),
        "latency_ms": record["latencies"]["request"],
        "upstream_latency_ms": meta["llm_latency"],
        "gateway_latency_ms": record["latencies"]["kong"],
        "ttft_ms": usage["time_to_first_token"],
        "time_per_token_ms": usage["time_per_token"],
        "prompt_tokens": usage["prompt_tokens"],
        "cached_tokens": usage["prompt_tokens_details"].get("cached_tokens"),
        "completion_tokens": usage["completion_tokens"],
        "reasoning_tokens": usage["completion_tokens_details"].get("reasoning_tokens"),
        "total_tokens": usage["total_tokens"],
        "logged_cost": usage.get("cost"),
        "error_type": ERRORS.get(status),
        "stop_reason": None,
        "tool_calls": None,
        "web_search_requests": None,
        "shape": KONG_VERSIONS[version],
        "capture": None,
        "route_rule": None,
        "simulated": False,
        "replay_run": None,
        "replay_target": None,
        "replay_source_id": None,
    }
    if version == "3.8":  # an integer time per token, and no cost unless one is configured
        completion = usage["completion_tokens"]
        row["time_per_token_ms"] = meta["llm_latency"] // completion if completion else 0
        row["logged_cost"] = usage.get("cost") or None
    return row | dict.fromkeys(NOT_LOGGED[version])


CASES = [(index, version) for version in KONG_VERSIONS for index in range(len(kong_records()))]
KONG_CASES = [pytest.param(i, v, id=f"line{i + 1:02d}-kong{v}") for i, v in CASES]


@pytest.fixture(scope="module")
def kong(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Every (fixture line, version) in one file, in CASES order, read once."""
    records = kong_records()
    lines = [kong_line(as_version(records[index], version)) for index, version in CASES]
    frame: pl.DataFrame = read_logs(
        write(tmp_path_factory.mktemp("kong") / "k.json", lines), payloads=True
    )
    return frame


@pytest.mark.parametrize(("index", "version"), KONG_CASES)
def test_every_kong_fixture_line_reads_the_same_in_every_version(
    kong: pl.DataFrame, index: int, version: str
) -> None:
    number = CASES.index((index, version)) + 1
    (row,) = kong.filter(pl.col("source_line") == number).to_dicts()
    expected = expected_kong(kong_records()[index], version)
    assert {name: row[name] for name in expected} == expected


@pytest.mark.parametrize("version", list(KONG_VERSIONS))
def test_payloads_are_read_from_where_each_version_logs_them(
    kong: pl.DataFrame, version: str
) -> None:
    payload = kong_records()[10]["ai"]["proxy"]["payload"]  # fixture line 11: log_payloads
    number = CASES.index((10, version)) + 1
    (row,) = kong.filter(pl.col("source_line") == number).to_dicts()
    assert (row["request_payload"], row["response_payload"]) == (
        payload["request"],
        payload["response"],
    )
    others = kong.filter(pl.col("source_line") != number, pl.col("request_payload").is_not_null())
    assert others["source_line"].to_list() == [
        n for n, (index, _) in enumerate(CASES, 1) if index == 10 and n != number
    ]


def test_a_request_payload_outside_the_plugin_level_is_found_too(tmp_path: Path) -> None:
    # Kong's audit-log reference puts the request at `ai.payload.request` and the response
    # at `ai.proxy.payload.response` in its example record.
    record = kong_records()[10]
    record["ai"]["payload"] = {"request": record["ai"]["proxy"]["payload"].pop("request")}
    row = read_logs(write(tmp_path / "a.json", [kong_line(record)]), payloads=True).row(
        0, named=True
    )
    assert row["request_payload"].startswith('{"model":"gpt-4.1"')
    assert row["response_payload"]


def test_without_payloads_there_are_no_payload_columns(tmp_path: Path) -> None:
    frame = read_logs(write(tmp_path / "a.json", [kong_line(kong_records()[10])]))
    assert frame.columns == [column.name for column in SCHEMA]


def test_an_upstream_status_after_retries_is_the_last_one(tmp_path: Path) -> None:
    record = kong_records()[0] | {"upstream_status": "502, 200"}
    frame = read_logs(write(tmp_path / "a.json", [kong_line(record)]))
    assert frame["upstream_status"].to_list() == [200]


def test_the_session_and_agent_headers_kong_logs_verbatim_are_read(tmp_path: Path) -> None:
    record = kong_records()[0]
    record["request"]["headers"] |= {
        "x-claude-code-session-id": SESSION,
        "x-claude-code-agent-id": AGENT,
        "user-agent": "claude-cli/2.1.331 (external, sdk-cli)",
    }
    row = read_logs(write(tmp_path / "a.json", [kong_line(record)])).row(0, named=True)
    assert (row["session_id"], row["agent_id"]) == (SESSION, AGENT)
    assert (row["client"], row["client_version"]) == ("claude-cli", "2.1.331")


def test_an_advanced_record_without_meta_models_takes_them_from_its_last_target(
    tmp_path: Path,
) -> None:
    record = as_version(kong_records()[0], "advanced")
    del record["ai"]["proxy"]["meta"]["provider_name"]
    del record["ai"]["proxy"]["meta"]["request_model"]
    row = read_logs(write(tmp_path / "a.json", [kong_line(record)])).row(0, named=True)
    assert (row["provider"], row["request_model"], row["shape"]) == (
        "openai",
        "gpt-5-mini",
        "kong-advanced",
    )


# --------------------------------------------------------------------------- claude_gw


def expected_gateway(name: str) -> dict[str, Any]:
    """The row for one claude_gw record variant, from the record itself."""
    record = gateway_record(name)
    gw, meta = record["claude_gw"], record["ai"]["proxy"]["meta"]
    usage = record["ai"]["proxy"]["usage"]
    exchange = GATEWAY_EXCHANGES[name]
    return {
        "session_id": SESSION,
        "agent_id": AGENT if name == "oneshot_subagent" else None,
        "client": "claude-cli",
        "client_version": "2.1.331",
        "route_path": exchange.path,
        "endpoint": exchange.endpoint,
        "status": exchange.status,
        "upstream_status": exchange.upstream_status,
        "stream": meta["request_mode"] == "stream",
        "requested_model": exchange.client_model or known(meta["request_model"]),
        "request_model": known(meta["request_model"]),
        "provider": known(meta["provider_name"]),
        "prompt_tokens": usage["prompt_tokens"],
        "logged_cost": None if gw["cost_source"] == "unpriced" else usage["cost"],
        "error_type": exchange.error_type,
        "stop_reason": exchange.stop_reason,
        "tool_calls": exchange.tool_calls,
        "shape": "claude_gw-1",
    }


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in GATEWAY_EXCHANGES])
def test_every_claude_gw_record_variant_reads_its_own_fields(tmp_path: Path, name: str) -> None:
    line = orjson_line(gateway_record(name))
    row = read_logs(write(tmp_path / "gw.json", [line])).row(0, named=True)
    expected = expected_gateway(name)
    assert {key: row[key] for key in expected} == expected


def orjson_line(record: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(record)


def test_claude_gw_costs_are_null_only_when_unpriced(tmp_path: Path) -> None:
    names = ["stream_priced", "unpriced_model", "count_tokens", "simulated"]
    frame = read_logs(write(tmp_path / "gw.json", [orjson_line(gateway_record(n)) for n in names]))
    priced, unpriced, counted, simulated = frame["logged_cost"].to_list()
    assert priced is not None and priced > 0
    assert unpriced is None  # the record's 0.0 is a placeholder when it says `unpriced`
    assert counted == 0.0  # nothing to price: the record's 0 is a true 0
    assert simulated is not None and simulated > 0  # priced as the model it imitates
    assert frame["cost"].to_list() == [priced, None, 0.0, simulated]
    assert frame["cost_source"].to_list() == ["logged", "unpriced", "none", "logged"]


def test_an_early_v1_record_without_endpoint_takes_it_from_the_path(tmp_path: Path) -> None:
    # `claude_gw.endpoint` joined v1 after the first records were written.
    records = [gateway_record("count_tokens"), gateway_record("unknown_path")]
    for record in records:
        del record["claude_gw"]["endpoint"]
    frame = read_logs(write(tmp_path / "gw.json", [orjson_line(r) for r in records]))
    assert frame["endpoint"].to_list() == ["count_tokens", "other"]


def test_a_claude_gw_record_whose_ai_has_no_known_layout_is_skipped(tmp_path: Path) -> None:
    record = gateway_record("stream_priced") | {"ai": {"proxy-next": {}}}
    frame, report = load_logs(write(tmp_path / "gw.json", [orjson_line(record)]))
    assert frame.height == 0 and list(report.skipped) == ["unknown_ai_shape"]


def test_records_of_a_real_gateway_run_all_load(tmp_path: Path, fake_openai: str) -> None:
    settings = Settings(
        upstream_url=fake_openai,
        api_key=Secret("sk-test-upstream-key-0123456789"),
        log_path=tmp_path / "claude.json",
    )
    writer = LogWriter(settings.log_path)
    writer.start()
    upstream = build_upstream(settings)

    async def shutdown() -> None:
        await upstream.client.aclose()
        writer.close()

    app = create_app(settings, upstream=upstream, log_writer=writer, on_shutdown=[shutdown])
    headers = {"x-claude-code-session-id": SESSION, "user-agent": "claude-cli/2.1.331 (x)"}
    ask = {"model": "gpt-5-mini", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    with ServerThread(app) as server:
        base = f"{server.base_url}/anything/v1/messages"
        with httpx.Client(headers=headers, timeout=10) as client:
            statuses = [
                client.post(f"{base}?beta=true", json=ask).status_code,
                client.post(base, json=ask | {"stream": True}).status_code,
                client.post(f"{base}/count_tokens", json=ask).status_code,
                client.post(base, content=b"{not json").status_code,
                client.post(base, json=ask | {"messages": [user("[sim:error 429]")]}).status_code,
                client.post(f"{server.base_url}/anything/v1/complete", json={}).status_code,
            ]
    result = load_logs(settings.log_path)
    assert statuses == [200, 200, 200, 400, 429, 404]
    assert result.report.lines_skipped == 0 and result.report.records_loaded == 6
    # Lines are appended as requests end, so a stream can be logged after the next request.
    columns = ["status", "endpoint", "stream", "error_type"]
    assert sorted(result.frame.select(columns).iter_rows(), key=str) == sorted(
        [
            (200, "messages", False, None),
            (200, "messages", True, None),
            (200, "count_tokens", False, None),
            (400, "messages", False, "invalid_request_error"),
            (429, "messages", False, "rate_limit_error"),
            (404, "other", False, "not_found_error"),
        ],
        key=str,
    )
    frame = result.frame
    assert set(frame["session_id"]) == {SESSION} and set(frame["shape"]) == {"claude_gw-1"}
    assert frame.filter(pl.col("status") == 200)["prompt_tokens"].min() > 0


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


# --------------------------------------------------------------------------- versions


def test_the_reader_knows_the_version_the_gateway_writes() -> None:
    assert GATEWAY_VERSION == GATEWAY_FIELDS_VERSION
    assert set(UPGRADES) == set(range(1, GATEWAY_VERSION))  # one step per older version
    assert set(GATEWAY_SHAPES) == set(range(1, GATEWAY_VERSION + 1))
    assert set(GATEWAY_SHAPES.values()) <= set(SHAPES)


def test_old_gateway_versions_are_upgraded_one_step_at_a_time() -> None:
    # A made-up history: v2 renamed `client` to `agent`, v3 upper-cased it.
    def v1_to_v2(gw: pl.Expr) -> pl.Expr:
        return gw.struct.with_fields(agent=gw.struct.field("client"), client=None, v=2)

    def v2_to_v3(gw: pl.Expr) -> pl.Expr:
        return gw.struct.with_fields(agent=gw.struct.field("agent").str.to_uppercase(), v=3)

    rows = [
        {"v": 1, "client": "cli", "agent": None},
        {"v": 2, "client": None, "agent": "sdk"},
        {"v": 3, "client": None, "agent": "TUI"},
    ]
    frame = pl.DataFrame({"gw": rows})
    steps = {1: v1_to_v2, 2: v2_to_v3}
    out = frame.select(upgraded(pl.col("gw"), current=3, upgrades=steps).struct.unnest())
    assert out.to_dicts() == [
        {"v": 3, "client": None, "agent": "CLI"},
        {"v": 3, "client": None, "agent": "SDK"},
        {"v": 3, "client": None, "agent": "TUI"},
    ]
