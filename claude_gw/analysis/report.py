"""One self-contained HTML report of a loaded log: tables and plots (PNG, base64-embedded),
no script, no external resource, so it opens in any browser without a server.

`html_report(df, targets=..., pairs=...)` returns the HTML text; it reads and writes no file
(the CLI writes it). Sections, each an `<h2>` with an `id`:

- `models`: `stats(df, by="model")`;  `sessions`: `stats(df, by="session")` (first `max_rows`)
- `repricing`: `reprice(df, targets)`, only when `targets` is given
- `plots`: latency and TTFT distributions, cost per model, reasoning tokens against latency,
  session timeline
- `paired`: `compare(pairs)` and the latency delta histogram, only when `pairs` (a `pair()`
  frame) is given
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from claude_gw.analysis import plots
from claude_gw.analysis.compare import compare
from claude_gw.analysis.metrics import as_polars
from claude_gw.analysis.pricing import Target, reprice
from claude_gw.analysis.stats import stats

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Plot = Callable[[Any, "Axes | None"], "Axes"]
PLOTS: tuple[tuple[str, Plot], ...] = (
    ("latency per model", plots.latency_distribution),
    ("time to first token per model", plots.ttft_distribution),
    ("cost per model", plots.cost_per_model),
    ("reasoning tokens against latency", plots.reasoning_vs_latency),
    ("session timeline", plots.session_timeline),
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0 1em 1em 0; }
"""


def html_report(
    frame: Any,
    *,
    title: str = "claude_gw report",
    targets: Sequence[Target] = (),
    pairs: Any = None,
    max_rows: int = 200,
) -> str:
    """The HTML report of a loaded log (polars or pandas; see the module docstring)."""
    df = as_polars(frame)
    parts = [f"<h1>{html.escape(title)}</h1>", overview(df)]
    parts += section("models", "Per model", table_html(stats(df, by="model"), max_rows))
    parts += section("sessions", "Per session", table_html(stats(df, by="session"), max_rows))
    if targets:
        parts += section("repricing", "Re-pricing", table_html(reprice(df, targets), max_rows))
    parts += section("plots", "Plots", "".join(figure_html(name, p, df) for name, p in PLOTS))
    if pairs is not None:
        paired = table_html(compare(pairs), max_rows) + figure_html(
            "replay - original latency", plots.paired_deltas, pairs
        )
        parts += section("paired", "Originals and replays", paired)
    return document(title, "\n".join(parts))


def document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def section(anchor: str, heading: str, content: str) -> list[str]:
    return [f'<h2 id="{anchor}">{html.escape(heading)}</h2>', content]


def overview(df: pl.DataFrame) -> str:
    times = df["time"].drop_nulls()
    span = f"{times.min()!s} to {times.max()!s}" if times.len() else "no timestamps"
    files = df["source_file"].drop_nulls().n_unique()
    return f"<p>{df.height} records from {files} file(s), {html.escape(span)}.</p>"


def table_html(table: pl.DataFrame, max_rows: int = 200) -> str:
    """`table` as an HTML table (floats to 4 significant digits, null as empty); a note
    follows when only the first `max_rows` rows are shown."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell_text(value)}</td>" for value in row) + "</tr>"
        for row in table.head(max_rows).iter_rows()
    )
    note = f"<p>first {max_rows} of {table.height} rows</p>" if table.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def figure_html(caption: str, plot: Plot, data: Any) -> str:
    """One plot drawn on a fresh Agg figure, as an `<img>` with a base64 PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4), layout="constrained")
    plot(data, figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )
