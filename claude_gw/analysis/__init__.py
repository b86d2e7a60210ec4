"""Analysis of loaded logs: pure DataFrame -> DataFrame functions, and plots that take and
return a matplotlib Axes. Invariant: nothing here reads or writes files, prints, or calls
`plt.show()`; every function accepts a polars or pandas frame of the `claude_gw.logs` schema
and returns a polars DataFrame (`claude_gw.logs.schema.to_pandas` converts one).

- `metrics.summary`: the `claude-gw logs summary` table
- `stats.stats`: per-model / per-session / per-day statistics (tail latency, TTFT, cost ratios)
- `pricing.reprice`: what the logged tokens would have cost on other models (genai-prices)
- `compare.pair`, `compare.compare`: originals against their replays per target, with bootstrap
  intervals; `compare.tool_call_agreement`: did the replay call the same tools, in order?
- `activity.session_lanes`, `activity.over_time`: sessions on their own clocks, per-bucket counts
- `agents.agent_shares`: the main agent against its subagents
- `palette.model_palette`: one colour per model across plots
- `plots.*(df, ax=None) -> Axes`: distributions, costs, timeline, over time, agents, replays
- `report.html_report`: one self-contained HTML page of all of the above
"""
