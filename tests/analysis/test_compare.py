"""`pair()` and `compare()` on hand-built originals and replays with known deltas; tool-call
agreement on hand-written answers of every payload shape."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
import pytest

from claude_gw.analysis.compare import (
    agreement_by_target,
    bootstrap_ci,
    compare,
    pair,
    tool_call_agreement,
    tool_names,
)


def originals() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "request_id": ["a", "b", "c", "unreplayed"],
            "request_model": ["gpt-5"] * 4,
            "latency_ms": [100.0, 200.0, 300.0, 1.0],
            "cost": [1.0, 2.0, None, 1.0],
            "tool_calls": [1, 0, 2, 0],
        }
    )


def replays() -> pl.DataFrame:
    """a, b and c replayed on m2; a also on m3; one replay of an unknown original."""
    return pl.DataFrame(
        {
            "original_id": ["a", "b", "c", "a", "zzz"],
            "request_model": ["m2", "m2", "m2", "m3", "m2"],
            "latency_ms": [150.0, 150.0, 360.0, 90.0, 5.0],
            "cost": [2.0, 2.0, 1.0, 1.0, 9.0],
            "tool_calls": [1, 1, 2, 0, 0],
        }
    )


def test_pairs_hold_both_sides_and_the_replay_minus_original_delta():
    pairs = pair(originals(), replays(), replay_key="original_id").sort(
        "request_id", "model_replay"
    )
    assert pairs["request_id"].to_list() == ["a", "a", "b", "c"]  # unpaired rows dropped
    assert pairs["model_original"].to_list() == ["gpt-5"] * 4
    assert pairs["model_replay"].to_list() == ["m2", "m3", "m2", "m2"]
    assert pairs["delta_latency_ms"].to_list() == [50.0, -10.0, -50.0, 60.0]
    assert pairs["delta_cost"].to_list() == [1.0, 0.0, 0.0, None]  # c has no original cost
    assert pairs["delta_tool_calls"].to_list() == [0.0, -1.0, 1.0, 0.0]
    assert pairs.select("cost_original", "cost_replay").row(0) == (1.0, 2.0)


def test_only_metrics_present_on_both_sides_are_paired():
    pairs = pair(originals().drop("cost"), replays(), replay_key="original_id")
    assert "delta_cost" not in pairs.columns
    assert "delta_latency_ms" in pairs.columns


def test_pandas_frames_pair_like_polars_frames():
    from_pandas = pair(originals().to_pandas(), replays().to_pandas(), replay_key="original_id")
    from_polars = pair(originals(), replays(), replay_key="original_id")
    assert from_pandas.sort("request_id", "model_replay").rows() == (
        from_polars.sort("request_id", "model_replay").rows()
    )


def test_compare_summarises_each_replay_model_and_metric():
    table = compare(pair(originals(), replays(), replay_key="original_id"))
    m2 = table.filter((pl.col("model_replay") == "m2") & (pl.col("metric") == "latency_ms"))
    row = m2.row(0, named=True)
    assert row["pairs"] == 3
    assert row["mean_original"] == pytest.approx(200.0)
    assert row["mean_replay"] == pytest.approx(220.0)
    assert row["mean_delta"] == pytest.approx(20.0)
    assert row["median_delta"] == pytest.approx(50.0)
    assert row["ci_low"] <= row["mean_delta"] <= row["ci_high"]
    cost = table.filter((pl.col("model_replay") == "m2") & (pl.col("metric") == "cost"))
    assert cost["pairs"].item() == 2  # the pair without an original cost is left out
    single = table.filter(pl.col("model_replay") == "m3").row(0, named=True)
    assert (single["pairs"], single["ci_low"], single["ci_high"]) == (1, None, None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([3.0, 3.0, 3.0], (3.0, 3.0), id="constant_values_give_a_point"),
        pytest.param([1.0], None, id="one_value_gives_no_interval"),
        pytest.param([], None, id="no_values_give_no_interval"),
    ],
)
def test_bootstrap_interval_of_degenerate_samples(values, expected):
    assert bootstrap_ci(values) == expected


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [float(v) for v in range(20)]
    interval = bootstrap_ci(values, seed=7)
    assert interval is not None
    low, high = interval
    assert low < 9.5 < high
    assert bootstrap_ci(values, seed=7) == (low, high)
    narrow = bootstrap_ci(values, seed=7, level=0.5)
    assert narrow is not None and low < narrow[0] < narrow[1] < high


def test_pairs_name_the_target_and_compare_keeps_same_model_targets_apart():
    originals = pl.DataFrame({"request_id": ["x", "y"], "latency_ms": [100.0, 100.0]})
    replays = pl.DataFrame(
        {
            "request_id": ["x", "y", "x", "y"],
            "replay_target": ["chat", "chat", "responses", "responses"],
            "request_model": ["gpt-5"] * 4,
            "latency_ms": [150.0, 170.0, 50.0, 90.0],
        }
    )
    pairs = pair(originals, replays)
    assert pairs.columns[:3] == ["request_id", "target", "model_original"]
    table = compare(pairs)
    assert table.select("target", "model_replay", "pairs", "mean_delta").rows() == [
        ("chat", "gpt-5", 2, 60.0),  # (50 + 70) / 2
        ("responses", "gpt-5", 2, -30.0),  # (-50 - 10) / 2, not pooled with chat's
    ]


def message(*blocks: dict[str, Any]) -> str:
    return orjson.dumps({"type": "message", "content": list(blocks)}).decode()


def tool_use(name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": {}}


def sse(*events: dict[str, Any]) -> str:
    return "".join(f"event: {e['type']}\ndata: {orjson.dumps(e).decode()}\n\n" for e in events)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            message({"type": "text", "text": "hi"}, tool_use("Bash"), tool_use("Read")),
            ["Bash", "Read"],
            id="anthropic_message_in_block_order",
        ),
        pytest.param(message({"type": "text", "text": "done"}), [], id="message_without_tools"),
        pytest.param(
            sse(
                {"type": "message_start", "message": {}},
                {"type": "content_block_start", "index": 0, "content_block": tool_use("Grep")},
                {"type": "content_block_stop", "index": 0},
                {"type": "content_block_start", "index": 1, "content_block": {"type": "text"}},
                {"type": "message_stop"},
            ),
            ["Grep"],
            id="anthropic_event_stream",
        ),
        pytest.param(
            orjson.dumps(
                {
                    "choices": [
                        {
                            "message": {
                                "tool_calls": [
                                    {"type": "function", "function": {"name": "Bash"}},
                                    {"type": "function", "function": {"name": "Edit"}},
                                ]
                            }
                        }
                    ]
                }
            ).decode(),
            ["Bash", "Edit"],
            id="openai_chat_completion",
        ),
        pytest.param(
            orjson.dumps(
                {"output": [{"type": "reasoning"}, {"type": "function_call", "name": "Read"}]}
            ).decode(),
            ["Read"],
            id="openai_responses_answer",
        ),
        pytest.param(
            orjson.dumps({"type": "error", "error": {"type": "api_error"}}).decode(),
            None,
            id="anthropic_error_body",
        ),
        pytest.param(sse({"type": "error", "error": {}}), None, id="stream_that_failed"),
        pytest.param(None, None, id="no_payload"),
        pytest.param("", None, id="empty_payload"),
        pytest.param("not json at all", None, id="unreadable_text"),
        pytest.param("[1, 2]", None, id="json_that_is_no_answer"),
    ],
)
def test_tool_names_read_every_answer_shape(payload, expected):
    assert tool_names(payload) == expected


def replay_results() -> pl.DataFrame:
    """A `pair_with_originals` frame by hand: originals o1 (Bash, Read), o2 (no tool), o3
    (Bash); replayed on t1 (all three; o1's tools swapped, o3's replay failed) and t2 (o1:
    Bash, Read, Read; o2: Bash)."""
    bash_read = message(tool_use("Bash"), tool_use("Read"))
    none = message({"type": "text", "text": "ok"})
    failed = orjson.dumps({"type": "error", "error": {"type": "api_error"}}).decode()
    rows = [
        ("o1", "t1", bash_read, message(tool_use("Read"), tool_use("Bash"))),
        ("o2", "t1", none, message({"type": "text", "text": "sure"})),
        ("o3", "t1", message(tool_use("Bash")), failed),
        ("o1", "t2", bash_read, message(tool_use("Bash"), tool_use("Read"), tool_use("Read"))),
        ("o2", "t2", none, message(tool_use("Bash"))),
    ]
    columns = ("replay_source_id", "replay_target", "original_response_payload", "response_payload")
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def test_tool_call_agreement_compares_sequences_and_sets_per_pair():
    agreement = tool_call_agreement(replay_results())
    assert agreement.select("source_id", "target").rows() == [
        ("o1", "t1"),
        ("o2", "t1"),
        ("o3", "t1"),
        ("o1", "t2"),
        ("o2", "t2"),
    ]
    assert agreement["original_tools"].to_list() == [
        ["Bash", "Read"],
        [],
        ["Bash"],
        ["Bash", "Read"],
        [],
    ]
    assert agreement["replay_tools"].to_list() == [
        ["Read", "Bash"],
        [],
        None,
        ["Bash", "Read", "Read"],
        ["Bash"],
    ]
    assert agreement["comparable"].to_list() == [True, True, False, True, True]
    # swapped order: same set, not the same sequence; no tool on both sides: agree;
    # a repeated Read: same set, not the same sequence; no tool against Bash: neither
    assert agreement["same_sequence"].to_list() == [False, True, None, False, False]
    assert agreement["same_set"].to_list() == [True, True, None, True, False]


def test_agreement_per_target_counts_over_the_comparable_pairs():
    table = agreement_by_target(tool_call_agreement(replay_results()))
    assert table.rows(named=True) == [
        # t1: 3 pairs, o3 without a replay answer; sequences: o2 (1 of 2); sets: o1, o2 (2 of 2)
        {
            "target": "t1",
            "pairs": 3,
            "comparable": 2,
            "same_sequence": 1,
            "same_set": 2,
            "sequence_share": 0.5,
            "set_share": 1.0,
        },
        # t2: sequences: none of 2; sets: o1 (1 of 2)
        {
            "target": "t2",
            "pairs": 2,
            "comparable": 2,
            "same_sequence": 0,
            "same_set": 1,
            "sequence_share": 0.0,
            "set_share": 0.5,
        },
    ]


def test_tool_call_agreement_reads_pandas_frames_like_polars_ones():
    frame = replay_results()
    assert tool_call_agreement(frame.to_pandas()).rows() == tool_call_agreement(frame).rows()


def test_a_target_with_no_comparable_pair_has_no_share():
    frame = replay_results().filter(pl.col("replay_source_id") == "o3")
    row = agreement_by_target(tool_call_agreement(frame)).row(0, named=True)
    assert (row["pairs"], row["comparable"], row["sequence_share"], row["set_share"]) == (
        1,
        0,
        None,
        None,
    )
