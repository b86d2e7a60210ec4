"""A session view as one self-contained HTML page (no server, no network, no build step).

Each session gets its headline figures and a table of its turns, written here as HTML: the
table reads without JavaScript. Opening a turn (a click on its row) shows the request as sent
(system blocks, messages, tools), the answer, what changed since the agent's previous turn, and
the turn's replays: a small script builds that from one JSON document in the page. Every
conversation repeats the ones before it, so the document holds each distinct message, system
block, tool and answer once (`Store`), and a turn lists the ones it sent: a 300-turn session is
about the size of its last request, not the sum of all of them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson

import claude_gw.analysis.formats as formats
from claude_gw.view.turns import NO_SESSION, Session, Turn, plain, system_text


class Store:
    """Distinct JSON values, each kept once, named by their position."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[bytes, int] = {}

    def add(self, value: Any) -> int:
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found


def render(sessions: Sequence[Session], *, title: str = "claude_gw session view") -> str:
    """The page for `sessions` (see the module)."""
    store = Store()
    details: dict[str, Any] = {}
    sections = []
    for s_index, session in enumerate(sessions):
        rows = []
        for turn in session.turns:
            key = f"{s_index}-{turn.index}"
            details[key] = _detail(turn, store)
            rows.append(_row(key, turn, session.turns[0].started_at))
        sections.append(_section(session, rows))
    # `<` only occurs inside JSON strings, where \u003c reads the same: no `</script>` and no
    # `<!--` (which would change how the browser finds the end of the script) in the page
    data = orjson.dumps({"values": store.values, "turns": details}).replace(b"<", b"\\u003c")
    simulated = any(t.simulated for s in sessions for t in s.turns)
    banner = (
        '<p class="banner">Simulated: some answers, tokens, latencies and costs here come from '
        "claude_gw's built-in simulated backend, not from a model.</p>"
        if simulated
        else ""
    )
    body = "\n".join(sections) or '<p class="empty">No turns in this log.</p>'
    return PAGE.format(
        title=html.escape(title),
        style=STYLE,
        banner=banner,
        body=body,
        data=data.decode("utf-8"),
        script=SCRIPT,
    )


def _detail(turn: Turn, store: Store) -> dict[str, Any]:
    request = turn.request or {}
    system = request.get("system")
    blocks = (
        system
        if isinstance(system, list)
        else ([{"type": "text", "text": system}] if system else [])
    )
    messages: list[Any] = _list(request.get("messages"))
    tools: list[Any] = _list(request.get("tools"))
    params = {k: v for k, v in request.items() if k not in ("system", "messages", "tools")}
    changes = turn.changes
    return {
        "payloads": turn.request is not None,
        "system": [store.add(plain(b)) for b in blocks],
        "messages": [store.add(plain(m)) for m in messages],
        "tools": [store.add(plain(t)) for t in tools],
        "params": params,
        "system_chars": len(system_text(request)),
        "answer": None if turn.answer is None else store.add(turn.answer),
        "error": turn.error,
        "changes": None if changes is None else changes.summary(),
        "whole": changes is None or changes.replaced,  # no earlier messages to fold away
        "added": [] if changes is None or changes.replaced else _added_at(changes),
        "changed": [] if changes is None else [message.at for message in changes.changed],
        "replays": [
            {
                "target": r.target,
                "model": r.model,
                "status": r.status,
                "stop": r.stop_reason,
                "tools": r.tools,
                "tokens": [r.prompt_tokens, r.completion_tokens],
                "cost": formats.usd(r.cost),
                "latency": formats.seconds(r.latency_ms),
                "answer": None if r.answer is None else store.add(r.answer),
            }
            for r in turn.replays
        ],
    }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _added_at(changes: Any) -> list[int]:
    """Positions of the added and changed messages in the request."""
    return sorted(message.at for message in [*changes.added, *changes.changed])


def _row(key: str, turn: Turn, start: float) -> str:
    cells = [
        str(turn.index),
        "+" + clock(turn.started_at - start),
        "main" if turn.agent is None else f"sub {turn.agent[:8]}",
        _models(turn),
        "" if turn.status is None else str(turn.status),
        formats.count(turn.prompt_tokens),
        formats.count(turn.cached_tokens),
        formats.count(turn.completion_tokens),
        formats.count(turn.reasoning_tokens),
        formats.usd(turn.cost) + ("*" if turn.cost_source == "computed" else ""),
        formats.seconds(turn.latency_ms),
        formats.seconds(turn.ttft_ms),
        turn.stop_reason or ("error" if turn.error else ""),
        ", ".join(turn.tools) or (str(turn.tool_calls) if turn.tool_calls else ""),
        turn.changes.summary() if turn.changes else ("first turn" if turn.request else ""),
    ]
    status = "error" if (turn.status or 200) >= 400 else ""
    agent = "sub" if turn.agent is not None else "main"
    tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
    return f'<tr class="turn {agent} {status}" data-turn="{key}" tabindex="0">{tds}</tr>'


def _models(turn: Turn) -> str:
    asked, used = turn.model_asked or "?", turn.model_used
    return asked if not used or used == asked else f"{asked} → {used}"


def _section(session: Session, rows: list[str]) -> str:
    turns = session.turns
    first, last = turns[0], turns[-1]
    wall = (last.started_at + (last.latency_ms or 0)) - first.started_at
    started = datetime.fromtimestamp(first.started_at / 1000, tz=UTC)
    computed = sum(t.cost or 0 for t in turns if t.cost_source == "computed")
    unpriced = sum(t.cost is None for t in turns)
    cost_note = []
    if computed:
        cost_note.append(f"{formats.usd(computed)} computed from tokens (*)")
    if unpriced:
        cost_note.append(f"{unpriced} unpriced")
    figures = [
        ("turns", formats.count(len(turns)), f"{session.token_counts} token counts"),
        ("agents", formats.count(1 + len(session.agents)), _agents(session)),
        (
            "prompt tokens",
            formats.count(session.total("prompt_tokens")),
            f"{formats.count(session.total('cached_tokens'))} cached",
        ),
        (
            "completion tokens",
            formats.count(session.total("completion_tokens")),
            f"{formats.count(session.total('reasoning_tokens'))} reasoning",
        ),
        ("cost", formats.usd(session.total("cost")), "; ".join(cost_note)),
        (
            "time",
            formats.seconds(wall),
            f"{formats.seconds(session.total('latency_ms'))} in the model",
        ),
    ]
    shown = "".join(
        f'<div class="figure" data-figure="{html.escape(name)}"><span class="name">'
        f'{html.escape(name)}</span><span class="value">{html.escape(value)}</span>'
        f'<span class="detail">{html.escape(detail)}</span></div>'
        for name, value, detail in figures
    )
    label = session.capture or ("no session id" if session.id == NO_SESSION else session.id[:8])
    heads = "".join(f"<th>{h}</th>" for h in HEADERS)
    return (
        f'<section class="session" data-session="{html.escape(session.id)}">'
        f"<h2>{html.escape(label)} <small>session {html.escape(session.id)} · started "
        f"{started:%Y-%m-%d %H:%M:%S} UTC</small></h2>"
        f'<div class="figures">{shown}</div>'
        f'<div class="scroll"><table><thead><tr>{heads}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _agents(session: Session) -> str:
    subagents = len(session.agents)
    if not subagents:
        return "the main agent only"
    share = sum(t.agent is not None for t in session.turns) / len(session.turns)
    return f"main + {subagents} subagents ({formats.percent(share)} of turns)"


def clock(milliseconds: float) -> str:
    """Time since a session began: `0:07.5`, `12:30.0`, past an hour `1:02:05.5`."""
    seconds = max(milliseconds, 0) / 1000
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


HEADERS = [
    "#",
    "time",
    "agent",
    "model",
    "status",
    "prompt",
    "cached",
    "completion",
    "reasoning",
    "cost",
    "latency",
    "TTFT",
    "stop",
    "tools called",
    "changes since the agent's last turn",
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body><h1>{title}</h1>{banner}
<p class="hint">Click a turn to see its request, its answer and its replays. Costs marked *
are computed from the turn's tokens (the log gave none).</p>
{body}
<script type="application/json" id="view-data">{data}</script>
<script>{script}</script>
</body></html>
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h2 small { font-weight: normal; color: #666; font-size: 0.7em; }
.banner { background: #fff3cd; border: 1px solid #e0c36c; padding: 0.5em 1em; }
.hint { color: #555; }
.figures { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 0.5em 0 1em; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 0.4em 0.8em; min-width: 9em; }
.figure .name { display: block; color: #666; font-size: 0.85em; }
.figure .value { display: block; font-size: 1.3em; font-weight: 600; }
.figure .detail { display: block; color: #666; font-size: 0.8em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td:nth-child(n+6):nth-child(-n+12) { text-align: right; white-space: nowrap; }
tr.turn { cursor: pointer; }
tr.turn:hover { background: #f4f8ff; }
tr.sub td:nth-child(3) { padding-left: 1.5em; color: #6a3d9a; }
tr.error td:nth-child(5) { color: #b00020; font-weight: 600; }
tr.open { background: #eef4ff; }
td.detail { background: #fafafa; padding: 0.8em 1.2em; }
.block { margin: 0.3em 0; }
.role { font-weight: 600; margin-top: 0.6em; }
.added { border-left: 3px solid #2e7d32; padding-left: 0.5em; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0.2em 0; max-width: 110ch;
  background: #fff; border: 1px solid #eee; padding: 0.4em; }
summary { cursor: pointer; color: #1a4d8f; }
"""

# Builds a turn's detail from the JSON document (a file beside this one: package data).
SCRIPT = resources.files(__package__).joinpath("page.js").read_text(encoding="utf-8")
