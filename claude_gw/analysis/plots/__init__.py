"""Plots of a loaded log: each takes a frame (polars or pandas) and an optional matplotlib Axes,
draws on it and returns it. With `ax=None` a new pyplot figure is made (so a notebook shows it);
nothing here calls `plt.show()` or saves a file.

Invariants every plot keeps:

- one colour per model: each takes `palette=` (`claude_gw.analysis.palette`), and without it
  builds one from every model of its own frame, so plots of one frame agree;
- units on every axis ($, s, tokens), a log axis when the values span orders of magnitude,
  labels that do not overlap (model names on the y axis, concise dates);
- empty input draws a "no data" panel that says what was missing, never blank axes.

Models are the model sent upstream (`request_model`, else `requested_model`), as in `stats`.
Only model calls are drawn (count_tokens calls are left out).
"""

from claude_gw.analysis.plots._base import new_axes, no_data
from claude_gw.analysis.plots.agents import agent_split
from claude_gw.analysis.plots.costs import cost_on_models, cost_per_model, whole_log_costs
from claude_gw.analysis.plots.distributions import (
    cost_distribution,
    latency_distribution,
    reasoning_vs_latency,
    ttft_distribution,
)
from claude_gw.analysis.plots.over_time import (
    cost_over_time,
    error_rate_over_time,
    requests_over_time,
)
from claude_gw.analysis.plots.replay import paired_deltas, tool_agreement
from claude_gw.analysis.plots.timeline import session_timeline

__all__ = [
    "agent_split",
    "cost_distribution",
    "cost_on_models",
    "cost_over_time",
    "cost_per_model",
    "error_rate_over_time",
    "latency_distribution",
    "new_axes",
    "no_data",
    "paired_deltas",
    "reasoning_vs_latency",
    "requests_over_time",
    "session_timeline",
    "tool_agreement",
    "ttft_distribution",
    "whole_log_costs",
]
