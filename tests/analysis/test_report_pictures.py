"""Which plots the report draws from which rows: default candidate models, the replay
pairs and tool-call agreement found in a log, one palette over everything it names, and a
reason for every plot that has nothing to draw."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from claude_gw.analysis.report_pictures import (
    PICTURES,
    Inputs,
    default_candidates,
    picture_html,
    replay_agreement,
    replay_pairs,
)
from claude_gw.logs.read import read_logs

ROOT = Path(__file__).resolve().parents[2]
KONG = ROOT / ".." / "shared" / "fixtures" / "kong" / "claude.json"
DATA = ROOT / "data"


def test_default_candidates_are_the_models_that_answered():
    # Kong's fixture: gpt-5-mini, gpt-5 and gpt-4.1 answered; claude-haiku-4-5 and the call
    # with no model only failed (400)
    assert default_candidates(read_logs(KONG)) == ("gpt-4.1", "gpt-5", "gpt-5-mini")


def test_replay_results_pair_with_their_originals_per_target():
    pairs = replay_pairs(read_logs(DATA))
    assert pairs is not None
    # data/replay.json: the 7 session requests on each of 3 targets
    counts = dict(pairs.group_by("target").len().iter_rows())
    assert counts == {"gpt-4.1": 7, "gpt-5-nano": 7, "gpt-5-mini-responses": 7}


def test_tool_call_agreement_needs_the_logged_answers():
    assert replay_agreement(read_logs(DATA)) is None  # loaded without payloads
    agreement = replay_agreement(read_logs(DATA, payloads=True))
    assert agreement is not None
    assert agreement.height == 21 and agreement["comparable"].all()


def test_a_log_without_replays_has_no_pairs():
    log = read_logs(KONG)
    assert replay_pairs(log) is None and replay_agreement(log) is None


def test_one_palette_covers_the_log_and_every_candidate():
    inputs = Inputs.of(read_logs(KONG), candidates=[("claude-sonnet-4-5", "anthropic")])
    assert inputs.candidates == (("claude-sonnet-4-5", "anthropic"),)
    names = {"gpt-4.1", "gpt-5", "gpt-5-mini", "claude-sonnet-4-5"}
    assert names <= set(inputs.palette)
    assert len(set(inputs.palette.values())) == len(inputs.palette)  # one colour each


def test_every_picture_says_why_when_the_log_is_empty():
    inputs = Inputs.of(read_logs(KONG).clear())
    reasons = {picture.caption: picture.missing(inputs) for picture in PICTURES}
    assert all(reasons.values()), [c for c, reason in reasons.items() if not reason]
    html = picture_html(PICTURES[0], inputs)
    assert "no data (no request has a timestamp)" in html and "<img" not in html


def test_requests_without_a_session_stay_off_the_timeline():
    log = read_logs(DATA)
    inputs = Inputs.of(log)
    # 7 captured requests carry a session id; Kong's 33 and the 21 replays do not
    assert inputs.sessions.height == 7
    assert inputs.sessions["session_id"].n_unique() == 3
    assert log.filter(pl.col("session_id").is_null()).height == 61 - 7
