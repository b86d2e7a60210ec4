"""One self-contained HTML report of a loaded log: headline figures, a per-model table, plots
(PNG, base64-embedded) and the full tables folded away; no script and no external resource,
so it opens in any browser, offline, without a server.

`html_report(df, targets=..., pairs=...)` returns the HTML text; it reads and writes no file
(the CLI writes it). In page order, each part with an `id`:

- `simulated`: a banner, only when some rows come from a simulated backend (`simulated_rows`)
- `headline`: `headline(df)`: requests, error rate, total cost (and how much of it was
  computed from tokens, and how many requests are unpriced), p50/p95 latency, tokens; each
  figure a `<div data-figure="NAME" data-value="RAW">` whose `.value` holds the formatted
  number
- `models`: one row per model of about ten columns (`MODEL_COLUMNS`) in human units
  (`formats`), and a totals row computed over every call (`model_table`)
- `plots`: the plots of `report_pictures.PICTURES` in their groups, each a `<figure>` or a
  "no data" box saying what the log lacks; `targets` are the candidate models of the
  whole-log cost plot (default: the log's own models); replay results in the log (or
  `pairs`, a `compare.pair()` frame) give the paired deltas and tool-call agreement
- `tables`: `<details>` with every column of `stats(df, by="model")` (and its totals) and
  `by="session"` (first `max_rows`), `pricing.cost_on_models` over the candidates,
  `reprice(df, targets)` when `targets` is given, the
  paired comparison and the tool-call agreement per target when there are replays
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from claude_gw.analysis import formats
from claude_gw.analysis.compare import agreement_by_target, compare
from claude_gw.analysis.metrics import as_polars
from claude_gw.analysis.pricing import Target, cost_on_models, reprice
from claude_gw.analysis.report_pictures import PICTURES, Inputs, picture_html
from claude_gw.analysis.stats import OK, model_calls, stats

TOTAL = "all models"


@dataclass(frozen=True)
class Headline:
    """The figures a report opens with, over the model calls of a log (count_tokens calls
    are left out). Costs are USD sums of the known costs: `cost` is None when no call has
    one; `computed_cost` is the part computed from token counts (`cost_source`
    "computed"); `unpriced` counts the calls whose cost is unknown; `estimated` the calls
    whose token counts the gateway counted itself (`usage_source` "estimated": the upstream
    reported none)."""

    requests: int
    errors: int
    cost: float | None
    computed_cost: float
    unpriced: int
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    sessions: int
    estimated: int = 0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def cost_sources(df: pl.DataFrame) -> pl.Expr:
    """Each row's cost source: the `cost_source` column when the log has one, else
    "unpriced" for a null cost and "logged" for any other."""
    if "cost_source" in df.columns:
        return pl.col("cost_source").cast(pl.String)
    return pl.when(pl.col("cost").is_null()).then(pl.lit("unpriced")).otherwise(pl.lit("logged"))


def headline(frame: Any) -> Headline:
    """The headline figures of a loaded log (polars or pandas; see `Headline`)."""
    calls = model_calls(frame)
    source = cost_sources(calls)
    row = calls.select(
        errors=(~OK).sum(),
        cost=pl.when(pl.col("cost").is_not_null().any()).then(pl.col("cost").sum()),
        computed_cost=pl.col("cost").filter(source == "computed").sum(),
        unpriced=pl.col("cost").is_null().sum(),
        p50_latency_ms=pl.col("latency_ms").quantile(0.5, "linear"),
        p95_latency_ms=pl.col("latency_ms").quantile(0.95, "linear"),
        prompt_tokens=pl.col("prompt_tokens").sum(),
        cached_tokens=pl.col("cached_tokens").sum(),
        completion_tokens=pl.col("completion_tokens").sum(),
        reasoning_tokens=pl.col("reasoning_tokens").sum(),
        sessions=pl.col("session_id").drop_nulls().n_unique(),
        estimated=(pl.col("usage_source") == "estimated").sum()
        if "usage_source" in calls.columns
        else pl.lit(0),
    ).row(0, named=True)
    return Headline(requests=calls.height, **row)


def simulated_rows(frame: Any) -> int:
    """How many rows a simulated backend answered: provider `simulated`, a response model
    ending in `-simulated`, or a true `simulated` column when the log has one."""
    df = as_polars(frame)
    marks = [
        pl.col("provider").eq_missing("simulated"),
        pl.col("response_model").str.ends_with("-simulated").fill_null(False),
    ]
    if "simulated" in df.columns:
        marks.append(pl.col("simulated").fill_null(False))
    return int(df.select(pl.any_horizontal(marks).sum()).item())


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
    inputs = Inputs.of(df, candidates=targets, pairs=pairs)
    parts = [f"<h1>{html.escape(title)}</h1>", overview(df), simulated_banner(df)]
    parts += [headline_html(headline(df)), models_html(df), plots_html(inputs)]
    parts.append(tables_html(df, inputs, targets=targets, max_rows=max_rows))
    return document(title, "\n".join(part for part in parts if part))


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1280px;
  padding: 0 1em; color: #1d1d1f; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
.overview { color: #555; margin-top: 0; }
.banner { background: #fff4ce; border: 1px solid #e0b000; border-radius: 6px;
  padding: 0.6em 1em; margin: 1em 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 0.8em; margin: 1em 0 1.5em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 0.8em; }
.card .label { color: #555; font-size: 0.85em; }
.card .value { font-size: 1.6em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .detail { color: #555; font-size: 0.8em; }
.scroll { overflow-x: auto; max-width: 100%; margin-bottom: 1em; }
table { border-collapse: collapse; font-size: 0.85em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d5d5d5; padding: 0.25em 0.5em; text-align: right;
  white-space: nowrap; }
th { background: #f2f2f2; white-space: normal; vertical-align: bottom; }
td:first-child, th:first-child { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #888; }
.note { color: #555; font-size: 0.85em; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
  gap: 1em; }
figure { margin: 0; }
figure img { width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
.nodata { border: 1px dashed #bbb; border-radius: 6px; padding: 1em; color: #555; }
details { margin: 0.5em 0; }
summary { cursor: pointer; font-weight: 600; }
"""


def document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # an empty inline icon, so no browser asks a server for /favicon.ico
        '<link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{content}</section>'


def overview(df: pl.DataFrame) -> str:
    stamps = df["time"].drop_nulls().dt.strftime("%Y-%m-%d %H:%M")
    first, last = str(stamps.min()), str(stamps.max())
    span = f"from {first} to {last} UTC" if stamps.len() else "without timestamps"
    files = df["source_file"].drop_nulls().n_unique()
    records = formats.count(df.height)
    return f'<p class="overview">{records} records from {files} file(s), {span}.</p>'


def simulated_banner(df: pl.DataFrame) -> str:
    simulated = simulated_rows(df)
    if not simulated:
        return ""
    return (
        f'<div class="banner" id="simulated"><strong>Simulated data.</strong> '
        f"{formats.count(simulated)} of {formats.count(df.height)} records were answered by a "
        "simulated backend (provider <code>simulated</code> or a response model ending in "
        "<code>-simulated</code>): their answers, tokens, latencies and costs measure no real "
        "model.</div>"
    )


def headline_html(figures: Headline) -> str:
    cost_detail = f"{formats.usd(figures.computed_cost)} computed from tokens"
    cost_detail += f", {formats.count(figures.unpriced)} request(s) unpriced"
    tokens_detail = (
        f"{formats.count(figures.prompt_tokens)} in ({formats.count(figures.cached_tokens)} "
        f"cached), {formats.count(figures.completion_tokens)} out "
        f"({formats.count(figures.reasoning_tokens)} reasoning)"
    )
    if figures.estimated:
        tokens_detail += f"; counted locally for {formats.count(figures.estimated)} request(s)"
    cards = [
        card("requests", "requests", figures.requests, formats.count,
             f"{formats.count(figures.sessions)} session(s)"),
        card("error_rate", "error rate", figures.error_rate, formats.percent,
             f"{formats.count(figures.errors)} error(s)"),
        card("cost", "total cost", figures.cost, formats.usd, cost_detail),
        card("p50_latency", "p50 latency", figures.p50_latency_ms, formats.seconds, "median"),
        card("p95_latency", "p95 latency", figures.p95_latency_ms, formats.seconds,
             "95th percentile"),
        card("tokens", "tokens", figures.tokens, formats.count, tokens_detail),
    ]  # fmt: skip
    return f'<div class="cards" id="headline">{"".join(cards)}</div>'


def card(name: str, label: str, value: Any, fmt: formats.Formatter, detail: str) -> str:
    """One headline figure: its formatted value, and the raw number in `data-value`
    (empty when unknown) for whoever reads the page by machine."""
    raw = "" if value is None else repr(value)
    return (
        f'<div class="card" data-figure="{name}" data-value="{raw}">'
        f'<div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(fmt(value))}</div>'
        f'<div class="detail">{html.escape(detail)}</div></div>'
    )


MODEL_COLUMNS: tuple[tuple[str, str, formats.Formatter], ...] = (
    ("requests", "requests", formats.count),
    ("error_rate", "error rate", formats.percent),
    ("p50_latency_ms", "p50 latency", formats.seconds),
    ("p95_latency_ms", "p95 latency", formats.seconds),
    ("p50_ttft_ms", "p50 TTFT", formats.seconds),
    ("prompt_tokens", "input tokens", formats.count),
    ("completion_tokens", "output tokens", formats.count),
    ("reasoning_share", "reasoning share", formats.percent),
    ("cost", "cost", formats.usd),
    ("cost_per_request", "cost / request", formats.usd),
    ("unpriced", "unpriced", formats.count),
)


def model_table(frame: Any) -> pl.DataFrame:
    """`stats(frame, by="model")` followed by a totals row (model `TOTAL`) computed by the
    same function over every call: its sums are the sums of the rows above, its
    percentiles and shares are over all calls (not an average of the rows)."""
    df = as_polars(frame)
    everything = df.with_columns(request_model=pl.lit(TOTAL, pl.String))
    return pl.concat([stats(df, by="model"), stats(everything, by="model")])


def models_html(df: pl.DataFrame) -> str:
    table = model_table(df)
    head = "<th>model</th>" + "".join(f"<th>{label}</th>" for _, label, _ in MODEL_COLUMNS)
    rows = []
    for row in table.iter_rows(named=True):
        css = ' class="total"' if row["model"] == TOTAL else ""
        cells = "".join(f"<td>{fmt(row[name])}</td>" for name, _, fmt in MODEL_COLUMNS)
        rows.append(f"<tr{css}><td>{html.escape(row['model'])}</td>{cells}</tr>")
    note = (
        '<p class="note">Latencies in seconds. The totals row sums requests, tokens and cost; '
        "its latencies and shares are over all requests. Cost / request is over the priced "
        "requests.</p>"
    )
    content = (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{note}"
    )
    return section("models", "Per model", content)


def plots_html(inputs: Inputs) -> str:
    """The plots in their groups (`report_pictures.PICTURES`), each an `<h3>`."""
    groups: dict[str, list[str]] = {}
    for picture in PICTURES:
        groups.setdefault(picture.group, []).append(picture_html(picture, inputs))
    content = "".join(
        f'<h3>{html.escape(group)}</h3><div class="plots">{"".join(figures)}</div>'
        for group, figures in groups.items()
    )
    return section("plots", "Plots", content)


def tables_html(
    df: pl.DataFrame, inputs: Inputs, *, targets: Sequence[Target], max_rows: int
) -> str:
    folded = [
        details("Every statistic per model", table_html(model_table(df), max_rows)),
        details("Every statistic per session", table_html(stats(df, by="session"), max_rows)),
    ]
    if inputs.candidates:
        whole = cost_on_models(df, inputs.candidates)
        folded.append(details("The whole log on each candidate model", table_html(whole, max_rows)))
    if targets:
        folded.append(details("Re-pricing per model", table_html(reprice(df, targets), max_rows)))
    if inputs.pairs is not None and not inputs.pairs.is_empty():
        folded.append(details("Originals and replays", table_html(compare(inputs.pairs), max_rows)))
    if inputs.agreement is not None and not inputs.agreement.is_empty():
        agreement = agreement_by_target(inputs.agreement)
        folded.append(details("Tool-call agreement per target", table_html(agreement, max_rows)))
    return section("tables", "Full tables", "".join(folded))


def details(summary: str, content: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>{content}</details>"


def table_html(table: pl.DataFrame, max_rows: int = 200) -> str:
    """`table` as an HTML table in human formats (`formats.column_format` for numeric
    columns, text escaped, null as `formats.MISSING`); a note follows when only the first
    `max_rows` rows are shown. In a long table with a `metric` column (`compare.compare`),
    each row's measured values are formatted as that metric (seconds for `latency_ms`)."""
    columns = [_column(table, name) for name in table.columns]
    head = "".join(f"<th>{html.escape(header)}</th>" for header, _ in columns)
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(text)}</td>" for text in _cells(table.columns, columns, row))
        + "</tr>"
        for row in table.head(max_rows).iter_rows()
    )
    note = (
        f'<p class="note">first {max_rows} of {table.height} rows</p>'
        if table.height > max_rows
        else ""
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
        f"</table></div>{note}"
    )


COUNT_COLUMNS = {"pairs", "requests"}


def _cells(
    names: list[str], columns: list[tuple[str, formats.Formatter]], row: tuple[Any, ...]
) -> list[str]:
    metric = row[names.index("metric")] if "metric" in names else None
    as_metric = formats.column_format(metric)[1] if isinstance(metric, str) else None
    return [
        as_metric(value)
        if as_metric is not None and fmt is formats.number and name not in COUNT_COLUMNS
        else fmt(value)
        for name, (_, fmt), value in zip(names, columns, row, strict=True)
    ]


def _column(table: pl.DataFrame, name: str) -> tuple[str, formats.Formatter]:
    if table.schema[name].is_numeric():
        return formats.column_format(name)
    return name.replace("_", " "), formats.text
