"""Analysis of loaded logs: pure DataFrame -> DataFrame functions, and plots that take and
return a matplotlib Axes. Invariant: nothing here reads or writes files, prints, or calls
`plt.show()`; every function accepts a polars or pandas frame of the `claude_gw.logs` schema
and returns a polars DataFrame (`claude_gw.logs.schema.to_pandas` converts one).

- `metrics.summary`: the `claude-gw logs summary` table
- `stats.stats`: per-group statistics (tail latency, TTFT, cost ratios) by model, session, day,
  capture, agent, replay target, cost source or provider
- `pricing.reprice`: what the logged tokens would have cost on other models (genai-prices)
- `pricing.cost_on_models`: what the whole log would have cost on each candidate model
- `compare.pair`, `compare.compare`: originals against their replays per target, with bootstrap
  intervals; `compare.tool_call_agreement`: did the replay call the same tools, in order?
- `activity.session_lanes`, `activity.over_time`: sessions on their own clocks, per-bucket counts
- `agents.agent_shares`: the main agent against its subagents
- `timing.session_time`: per session, wall time, time in model calls and the client's own time
- `palette.model_palette`: one colour per model across plots
- `plots.*(df, ax=None) -> Axes`: distributions, costs, timeline, over time, agents, replays

Every rate and ratio is computed over the rows that have all its parts, and group totals add up
to the whole log. Functions that use costs take `cost=` (a cost mode of
`claude_gw.logs.cost_modes`) to re-resolve the `cost` column first.
- `report.html_report`: one self-contained HTML page of all of the above
"""
