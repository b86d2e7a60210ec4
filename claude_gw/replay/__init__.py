"""Replay logged Claude Code requests against other models.

Invariant: every (request, target) pair selected for a run ends as exactly one record in
claude_gw's log shape (an answer or an error row, never an aborted run), and a record is
written whole or not at all, so re-running the same command completes what is missing
and sends again what failed (its error row replaced by the new record), without repeating
what was answered.

    requests = dedupe(load_requests("claude.json"))
    results = replay(requests, [Target("gpt-5-nano")], environ=os.environ, output="replay.json")
    paired = pair_with_originals(load_results("replay.json"), read_logs("claude.json"))
"""

from claude_gw.replay.cache import ResponseCache
from claude_gw.replay.estimate import Estimate, estimate
from claude_gw.replay.pairs import load_results, pair_with_originals
from claude_gw.replay.retry import RetryPolicy
from claude_gw.replay.runner import areplay, replay
from claude_gw.replay.sources import (
    ReplayRequest,
    dedupe,
    load_requests,
    requests_from_frame,
    select,
)
from claude_gw.replay.targets import Target, TargetError, load_targets, parse_targets

__all__ = [
    "Estimate",
    "ReplayRequest",
    "ResponseCache",
    "RetryPolicy",
    "Target",
    "TargetError",
    "areplay",
    "dedupe",
    "estimate",
    "load_requests",
    "load_results",
    "load_targets",
    "pair_with_originals",
    "parse_targets",
    "replay",
    "requests_from_frame",
    "select",
]
