"""The benchmark's log generator (bench/gen_logs.py) makes what it claims, on a small N.

Shapes are recognised here from the keys of each line (not from the generator's own labels), as
`../shared/notes/kong.md` section 4 describes each Kong version.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest

from bench.gen_logs import BAD_KINDS, SHAPE_MIX, TRUNCATED, Manifest, generate
from bench.headers import CLIENT_HEADERS
from bench.kong_shapes import fixture_lines
from claude_gw.logs.exchange import Exchange
from claude_gw.logs.record import RecordContext, build_record

N = 2000
Data = tuple[Manifest, bytes]
HEADER_MAPS = ("request.headers", "response.headers")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    """N lines generated once for the module, seed 7: the manifest and the file's bytes."""
    path = tmp_path_factory.mktemp("gen") / "claude.json"
    manifest = generate(path, N, seed=7)
    return manifest, path.read_bytes()


def kind_of(line: bytes) -> tuple[str, Any]:
    """A line's bad kind ("" for a good record) and its decoded value."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "not_json", None
    if isinstance(value, list):
        return "array", value
    if not isinstance(value, dict):
        return "scalar", value
    return ("" if "ai" in value else "no_ai"), value


def shape_of(record: dict[str, Any]) -> str:
    ai = record["ai"]
    if "claude_gw" in record:
        return "claude_gw"
    if "meta" in ai:
        return "kong-3.6"
    if "ai-proxy" in ai:
        return "kong-3.8" if "llm_latency" in ai["ai-proxy"]["meta"] else "kong-3.7"
    proxy = ai["proxy"]
    if "tried_targets" in proxy:
        return "kong-3.13-advanced"
    return "kong-3.13" if "request_mode" in proxy["meta"] else "kong-3.10"


def key_paths(value: Any, path: str = "") -> set[tuple[str, str]]:
    """(dotted path, JSON type) of every leaf, header maps taken as opaque (client data)."""
    if isinstance(value, dict) and path not in HEADER_MAPS:
        if not value:
            return {(path, "{}")}
        return set().union(*(key_paths(v, f"{path}.{k}".lstrip(".")) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(key_paths(v, f"{path}[]") for v in value)) or {(path, "[]")}
    kind = "number" if isinstance(value, int | float) and not isinstance(value, bool) else None
    return {(path, kind or type(value).__name__)}


def records(data: Data) -> list[dict[str, Any]]:
    return [v for k, v in map(kind_of, data[1].split(b"\n")) if k == ""]


def test_the_file_has_exactly_n_lines_and_no_final_newline(data: Data) -> None:
    manifest, text = data
    assert text.count(b"\n") == N - 1
    assert not text.endswith(b"\n")
    assert manifest.records == N and manifest.size == len(text)


def test_one_percent_of_lines_are_bad_in_equal_numbers_of_each_kind(data: Data) -> None:
    manifest, _ = data
    counts = {kind: len(lines) for kind, lines in manifest.bad_lines.items()}
    assert sum(counts.values()) == N // 100
    assert counts[TRUNCATED] == 1
    assert {counts[k] for k in BAD_KINDS} <= {4, 5}


def test_every_bad_line_is_where_the_manifest_says_and_of_its_kind(data: Data) -> None:
    manifest, text = data
    expected = {n: k for k, ns in manifest.bad_lines.items() for n in ns}
    expected = {n: "not_json" if k == TRUNCATED else k for n, k in expected.items()}
    found = {n: k for n, line in enumerate(text.split(b"\n"), 1) if (k := kind_of(line)[0])}
    assert found == expected


def test_bad_lines_are_spread_through_the_file(data: Data) -> None:
    manifest, _ = data
    numbers = sorted(n for kind in BAD_KINDS for n in manifest.bad_lines[kind])
    assert numbers[0] < N // 4 and numbers[-1] > 3 * N // 4
    assert manifest.bad_lines[TRUNCATED] == [N]


def test_every_shape_is_present_and_the_mix_is_as_documented(data: Data) -> None:
    manifest, _ = data
    shapes = Counter(shape_of(r) for r in records(data))
    good = sum(shapes.values())
    assert set(shapes) == {shape for shape, _, _ in SHAPE_MIX}
    assert 0.55 < shapes["claude_gw"] / good < 0.65
    assert 0.20 < (shapes["kong-3.13"] + shapes["kong-3.13-advanced"]) / good < 0.33
    assert sum(manifest.shapes.values()) == good


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(
    tmp_path: Path, data: Data
) -> None:
    again = generate(tmp_path / "again.json", N, seed=7)
    other = generate(tmp_path / "other.json", N, seed=8)
    assert (tmp_path / "again.json").read_bytes() == data[1]
    assert again.bad_lines == data[0].bad_lines
    assert (tmp_path / "other.json").read_bytes() != data[1]
    assert other.bad_lines != data[0].bad_lines


def test_records_are_realistic_sessions_streams_errors_and_cache(data: Data) -> None:
    rs = records(data)
    sessions = Counter(r["claude_gw"]["session_id"] for r in rs if "claude_gw" in r)
    assert max(sessions.values()) >= 20, "sessions are runs of requests"
    statuses = Counter(r["response"]["status"] for r in rs)
    assert statuses[429] and statuses[500] and statuses[400] and statuses[200]
    usage = [r["ai"]["proxy"]["usage"] for r in rs if "proxy" in r["ai"]]
    assert any(u.get("prompt_tokens_details", {}).get("cached_tokens") for u in usage)
    assert any(u.get("completion_tokens_details", {}).get("reasoning_tokens") for u in usage)
    modes = Counter(r["ai"]["proxy"]["meta"].get("request_mode") for r in rs if "proxy" in r["ai"])
    assert modes["stream"] > modes["oneshot"] > 0
    assert any("payload" in r["ai"].get("proxy", {}) for r in rs)
    agents = {r["request"]["headers"]["user-agent"] for r in rs}
    assert any(a.startswith("claude-cli/") for a in agents)


def test_kong_lines_are_escaped_like_lua_cjson_and_claude_gw_lines_are_not(data: Data) -> None:
    for line in data[1].split(b"\n")[:200]:
        kind, record = kind_of(line)
        if kind == "" and "claude_gw" not in record:
            assert b"\\/" in line and b'"/' not in line
        elif kind == "":
            assert b"\\/" not in line


def test_kong_3_13_lines_have_the_keys_of_a_fixture_line(data: Data) -> None:
    fixture = [key_paths(line) for line in fixture_lines()]
    for record in records(data):
        if shape_of(record) == "kong-3.13" and "payload" not in record["ai"]["proxy"]:
            assert key_paths(record) in fixture


def test_claude_gw_lines_have_exactly_the_keys_and_types_build_record_gives(data: Data) -> None:
    """Against build_record run here on exchanges of each outcome (independent of bench code)."""
    expected = [key_paths(orjson.loads(orjson.dumps(r))) for r in reference_records()]
    seen = 0
    for record in records(data):
        if "claude_gw" in record:
            paths = normalised(key_paths(record))
            assert any(paths == normalised(e) for e in expected), record["claude_gw"]
            seen += 1
    assert seen > N // 2


def normalised(paths: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Nullable strings (agent_id, stop_reason, ...) are one type whether null or not."""
    return {(p, "str" if t == "NoneType" else t) for p, t in paths}


def reference_records() -> list[Any]:
    context = RecordContext(
        plugin_id="p",
        route_paths=("/",),
        service_name="openai",
        upstream_url="https://api.openai.com/v1",
        log_payloads=True,
        workspace="w",
        version="0",
    )
    return [build_record(ex, context) for ex in reference_exchanges()]


def reference_exchanges() -> list[Exchange]:
    """One exchange per outcome the gateway logs, with and without logged payloads."""
    base: dict[str, Any] = dict(
        request_id="a" * 32,
        started_at=1765324800.0,
        t_start=10.0,
        path="/anything/v1/messages",
        query_string="beta=true",
        headers=list(CLIENT_HEADERS["cli-2.1.331"]["main"]),
        route_prefix="/anything",
        client_model="claude-sonnet-4-5-20250929",
        request_model="gpt-5-mini",
        endpoint="messages",
        status=200,
        t_end=11.0,
    )
    sent: dict[str, Any] = dict(
        upstream_uri="/v1/chat/completions",
        upstream_host="api.openai.com",
        upstream_port=443,
        upstream_status=200,
        t_upstream_sent=10.01,
        t_upstream_headers=10.2,
        t_upstream_done=10.9,
        source="upstream",
    )
    usage = {"prompt_tokens": 10, "completion_tokens": 5}
    cases: list[dict[str, Any]] = [
        {**sent, "usage": usage, "t_first_token": 10.3, "stop_reason": "end_turn"},
        {**sent, "upstream_status": 429, "status": 429, "error_type": "rate_limit_error"},
        {**sent, "upstream_status": 500, "status": 500, "error_type": "api_error"},
        {**sent, "error_type": "client_disconnected", "error_message": "gone"},
        {"status": 400, "client_model": None, "request_model": None, "error_type": "x"},
        {"endpoint": "count_tokens", "counted_input_tokens": 3},
    ]
    exchanges = [Exchange(**{**base, **case}) for case in cases]
    with_payload = Exchange(**{**base, **cases[0], "request_body": b"{}", "response_body": "{}"})
    return [*exchanges, with_payload]


def test_several_gzipped_files_split_the_lines_and_only_the_last_ends_truncated(
    tmp_path: Path,
) -> None:
    manifest = generate(tmp_path / "logs", 1000, seed=1, files=3, compress=True)
    texts = [gzip.decompress(Path(p).read_bytes()) for p in manifest.paths]
    assert [t.count(b"\n") for t in texts] == [334, 333, 332]
    assert manifest.file_lines == [334, 333, 333]
    assert all(t.endswith(b"\n") for t in texts[:-1]) and not texts[-1].endswith(b"\n")
    assert kind_of(texts[-1].rsplit(b"\n", 1)[-1])[0] == "not_json"
    assert (tmp_path / "logs" / "manifest.json").exists()


@pytest.mark.parametrize(
    "engine", [pytest.param("polars", id="polars"), pytest.param("pandas", id="pandas")]
)
def test_the_reader_reports_exactly_the_bad_lines_generated(
    tmp_path_factory: pytest.TempPathFactory, engine: Literal["polars", "pandas"]
) -> None:
    from claude_gw.logs.read import load_logs, read_logs
    from claude_gw.logs.report import Problem

    tmp = tmp_path_factory.mktemp("read")
    manifest = generate(tmp / "claude.json", N, seed=7)
    bad = {kind: set(lines) for kind, lines in manifest.bad_lines.items()}
    frame, report = load_logs(tmp / "claude.json", engine=engine)
    assert report.skipped == {
        Problem.NO_AI: len(bad["no_ai"]),
        Problem.NOT_AN_OBJECT: len(bad["array"]) + len(bad["scalar"]),
        Problem.NOT_JSON: len(bad["not_json"]),
        Problem.TRUNCATED_LINE: 1,
    }
    kinds = {
        Problem.NO_AI: bad["no_ai"],
        Problem.NOT_AN_OBJECT: bad["array"] | bad["scalar"],
        Problem.NOT_JSON: bad["not_json"],
        Problem.TRUNCATED_LINE: bad[TRUNCATED],
    }
    assert all(issue.line in kinds[issue.problem] for issue in report.examples)
    assert report.lines_repaired == 0
    assert len(frame) == len(read_logs(tmp / "claude.json", engine=engine)) == N - N // 100
