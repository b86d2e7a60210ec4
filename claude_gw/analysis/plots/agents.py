"""The main agent against its subagents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claude_gw.analysis.agents import MAIN, SUBAGENTS, agent_shares
from claude_gw.analysis.plots._base import legend_outside, new_axes, no_data, usd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# not model colours: these two are never a model's
ROLE_COLOURS = {MAIN: "#34495e", SUBAGENTS: "#e5a550"}
MEASURES = (
    ("requests", "request_share", "requests"),
    ("tokens", "token_share", "tokens"),
    ("cost", "cost_share", "cost"),
)


def agent_split(frame: Any, ax: Axes | None = None) -> Axes:
    """Three 100 % bars (requests, tokens, cost), each split into the main agent's share and
    the subagents' (`agents.agent_shares`), the share and the amount written in each part; a
    measure with no total (say, no known cost) says so instead of a bar."""
    ax = new_axes(ax)
    title = "main agent and subagents: share of the log"
    table = agent_shares(frame)
    if table.height == 0:
        return no_data(ax, title, "no model calls")
    rows = {row["role"]: row for row in table.iter_rows(named=True)}
    for position, (column, share, name) in enumerate(MEASURES):
        left = 0.0
        for role in (MAIN, SUBAGENTS):
            row = rows.get(role)
            if row is None or row[share] is None:
                continue
            width = 100 * row[share]
            label = role if position == 0 else None
            ax.barh(position, width, left=left, height=0.6, color=ROLE_COLOURS[role], label=label)
            if width >= 8:
                text = f"{width:.0f} %\n{_amount(column, row[column])}"
                ax.text(
                    left + width / 2,
                    position,
                    text,
                    ha="center",
                    va="center",
                    color="white",
                    fontsize="small",
                )
            left += width
        if left == 0:
            ax.text(1, position, f"no {name} known", va="center", fontsize="small")
    subagents = rows[SUBAGENTS]["agents"] if SUBAGENTS in rows else 0
    ax.set_yticks(range(len(MEASURES)), [name for _, _, name in MEASURES])
    ax.set_ylim(len(MEASURES) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the log's total (%)")
    ax.set_title(f"{title} ({subagents} subagent{'s' if subagents != 1 else ''})")
    legend_outside(ax)
    return ax


def _amount(column: str, value: float | None) -> str:
    if value is None:
        return ""
    if column == "cost":
        return usd(value)
    return f"{value:,.0f}" + (" tokens" if column == "tokens" else " calls")
