"""`agent_shares`: the main agent (no agent id) against its subagents, on a hand-built log."""

from __future__ import annotations

import polars as pl
import pytest

from claude_gw.analysis.agents import agent_shares
from claude_gw.logs.schema import conform_polars, to_pandas


def log() -> pl.DataFrame:
    """Main agent: 2 calls, tokens 100+50 and 300+0, cost 0.25 and 0.50. Subagents a1 and a2:
    3 calls, tokens 10+10, 20+20 and 40+(null), cost 0.25, null, 0.00. A count_tokens call of
    the main agent is left out."""
    rows = [
        (None, "messages", 100, 50, 0.25),
        (None, "messages", 300, 0, 0.50),
        (None, "count_tokens", 999, None, None),
        ("a1", "messages", 10, 10, 0.25),
        ("a1", "messages", 20, 20, None),
        ("a2", "messages", 40, None, 0.0),
    ]
    keys = ("agent_id", "endpoint", "prompt_tokens", "completion_tokens", "cost")
    return conform_polars(pl.DataFrame([dict(zip(keys, r, strict=True)) for r in rows]))


def test_requests_tokens_and_cost_split_between_main_agent_and_subagents():
    table = agent_shares(log())
    main, sub = table.rows(named=True)
    assert (main["role"], main["agents"], main["requests"]) == ("main agent", 0, 2)
    assert (sub["role"], sub["agents"], sub["requests"]) == ("subagents", 2, 3)
    assert (main["tokens"], sub["tokens"]) == (450, 100)  # 150 + 300; 20 + 40 + 40
    assert main["cost"] == pytest.approx(0.75)
    assert sub["cost"] == pytest.approx(0.25)
    assert main["request_share"] == pytest.approx(2 / 5)
    assert sub["token_share"] == pytest.approx(100 / 550)
    assert main["cost_share"] == pytest.approx(0.75 / 1.00)


def test_pandas_frames_give_the_same_shares():
    assert agent_shares(to_pandas(log())).rows() == agent_shares(log()).rows()


def test_a_log_without_subagents_has_only_the_main_agent_row():
    table = agent_shares(log().filter(pl.col("agent_id").is_null()))
    assert table["role"].to_list() == ["main agent"]
    assert table["request_share"].to_list() == [1.0]


def test_a_log_without_costs_has_no_cost_share():
    table = agent_shares(log().with_columns(pl.lit(None, pl.Float64).alias("cost")))
    assert table["cost"].to_list() == [None, None]
    assert table["cost_share"].to_list() == [None, None]
