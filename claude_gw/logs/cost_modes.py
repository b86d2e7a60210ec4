"""Cost modes: which figure a loaded log's `cost` column holds, and where each one came from.

Every row has `logged_cost` (the log's own figure, as written), `cost` and `cost_source`:

| cost_source | cost | the row |
|---|---|---|
| logged | `logged_cost` | the log's own figure is used (see the modes) |
| computed | from the row's tokens | priced with genai-prices (below) |
| unpriced | null, never 0 | something to price, but no known price (model, or token counts) |
| none | 0.0 | nothing to price: a count_tokens call, or a failed request (below) |

A failed request (`error_type` set, or status >= 400) whose log has no non-zero cost has
nothing to price: providers do not bill failed requests, and Kong logs 0 for them even with
costs configured (`../shared/fixtures/kong/README.md`, lines 5 and 8).

Modes, like ccusage's:

- `auto` (the default): `logged` when the log's cost is non-zero, or when the row is claude_gw's
  own record and was priced when it was written (its 0.0 is a price; Kong's 0 only says that no
  `input_cost`/`output_cost` was configured); else `computed`; else `unpriced`.
- `calculate`: `computed` (or `unpriced`) for every row that has something to price.
- `logged`: the log's figure as written: `logged`, or `unpriced` when the log has no figure.

Computed costs are exactly what `claude_gw.logs.cost.price_usage` gives for the row (cached
input priced as cache reads, the prices in force on the request's day; the model that answered,
else the one requested; a simulated model as the model it imitates), but vectorised: the prices
are looked up once per (model, provider, day), and the rows are priced by polars in exact decimal
arithmetic, rounded once to the nearest float as `float(Decimal)` does. Only tiered or
time-of-day prices are computed row by row. A row needs both a prompt and a completion count;
a missing cached count is 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

import polars as pl

from claude_gw.logs.cost import DayPrices, day_prices, exact_price
from claude_gw.logs.schema import COST_SOURCES

CostMode = Literal["auto", "calculate", "logged"]
COST_MODES: tuple[str, ...] = get_args(CostMode)
GATEWAY_SHAPE = "claude_gw-1"  # a claude_gw record: its cost was priced when it was written

DECIMAL = pl.Decimal(38, 18)  # exact for every genai-prices rate per token (checked per rate)
RATE_COLUMNS = ("_fixed", "_per_prompt", "_per_cached", "_per_output")
KEY_COLUMNS = ("_model", "_fallback", "_provider", "_day")


def check_cost_mode(mode: str) -> None:
    """Raise ValueError unless `mode` is one of COST_MODES."""
    if mode not in COST_MODES:
        raise ValueError(f"cost must be one of {', '.join(COST_MODES)}, not {mode!r}")


def with_cost_mode(frame: Any, mode: CostMode = "auto") -> Any:
    """A loaded log (polars or pandas; same engine out) with `cost` and `cost_source` resolved
    by `mode` from its other columns (see the module docstring). Raises ValueError for an
    unknown mode."""
    check_cost_mode(mode)
    if isinstance(frame, pl.DataFrame):
        return resolve_costs(frame, mode)
    from claude_gw.logs.schema import to_pandas, to_polars

    return to_pandas(resolve_costs(to_polars(frame), mode))


def resolve_costs(frame: pl.DataFrame, mode: CostMode) -> pl.DataFrame:
    """`frame` (polars, the log schema) with `cost` and `cost_source` set by `mode`."""
    logged = pl.col("logged_cost")
    if mode == "logged":
        source = pl.when(logged.is_not_null()).then(pl.lit("logged")).otherwise(pl.lit("unpriced"))
        return frame.with_columns(cost=logged, cost_source=_as_source(source))
    failed = pl.col("error_type").is_not_null() | (pl.col("status") >= 400).fill_null(False)
    nothing = (pl.col("endpoint") == "count_tokens").fill_null(False) | (
        failed & (logged.fill_null(0) == 0)
    )
    trusted = logged.is_not_null() & ((logged != 0) | (pl.col("shape") == GATEWAY_SHAPE))
    if mode == "calculate":
        trusted = pl.lit(False)
    use_logged = (~nothing & trusted).fill_null(False)
    computed = token_costs(frame, where=~nothing & ~use_logged)
    source = (
        pl.when(nothing)
        .then(pl.lit("none"))
        .when(use_logged)
        .then(pl.lit("logged"))
        .when(computed.is_not_null())
        .then(pl.lit("computed"))
        .otherwise(pl.lit("unpriced"))
    )
    cost = pl.when(nothing).then(pl.lit(0.0)).when(use_logged).then(logged).otherwise(computed)
    return frame.with_columns(cost=cost, cost_source=_as_source(source))


def _as_source(source: pl.Expr) -> pl.Expr:
    return source.cast(pl.Enum(COST_SOURCES))


def token_costs(
    frame: pl.DataFrame,
    *,
    model: str | None = None,
    provider: str | None = None,
    where: pl.Expr | None = None,
) -> pl.Series:
    """Per-row cost in USD (Float64, named `cost`) of `frame`'s token counts: on the row's own
    model and provider, or on `model` at `provider` when given. Null for a row without a
    prompt or completion count, a row whose model is unknown to genai-prices, and a row
    where `where` (a Boolean expression over `frame`) is false.

    Two passes over the rows: the distinct pricing keys, then one plan that joins their
    rates and prices every row."""
    work = _usage(frame.lazy(), model, provider, where)
    keys = work.filter("_ok").select(KEY_COLUMNS).unique().collect()
    lookups = {key: day_prices(key[:2], key[2], key[3]) for key in keys.iter_rows()}
    table = _rate_table(lookups)
    joined = work.join(
        table.lazy(), on=list(KEY_COLUMNS), how="left", nulls_equal=True, maintain_order="left"
    )
    exact = pl.col("_ok") & pl.col("_exact").fill_null(False)
    priced = joined.select(_linear_cost(), exact.alias("_exact")).collect()
    costs = priced["cost"]
    if priced["_exact"].any():
        rows = joined.with_row_index("_row").filter(exact).collect()
        costs = costs.scatter(rows["_row"], _exact_costs(rows, lookups))
    return costs


def _usage(
    frame: pl.LazyFrame, model: str | None, provider: str | None, where: pl.Expr | None
) -> pl.LazyFrame:
    """The pricing key and clamped token counts of every row (as `price_usage` clamps them)."""
    prompt = pl.col("prompt_tokens").clip(lower_bound=0)
    if model is None:
        names = [pl.col("response_model"), pl.col("request_model"), pl.col("provider")]
    else:
        names = [pl.lit(model), pl.lit(None, pl.String()), pl.lit(provider, pl.String())]
    today = datetime.now(tz=UTC).date()
    cached = pl.col("cached_tokens").fill_null(0).clip(lower_bound=0)
    ok = pl.col("prompt_tokens").is_not_null() & pl.col("completion_tokens").is_not_null()
    if where is not None:
        ok = ok & where.fill_null(False)
    return frame.select(
        names[0].cast(pl.String()).alias("_model"),
        names[1].cast(pl.String()).alias("_fallback"),
        names[2].cast(pl.String()).alias("_provider"),
        pl.col("time").dt.date().fill_null(today).alias("_day"),
        pl.col("time").alias("_time"),
        prompt.alias("_prompt"),
        pl.min_horizontal(prompt, cached).alias("_cached"),
        pl.col("completion_tokens").clip(lower_bound=0).alias("_output"),
        ok.alias("_ok"),
    )


def _rate_table(lookups: dict[tuple[Any, ...], DayPrices]) -> pl.DataFrame:
    """One row per pricing key: its four rates (null when unpriced or priced row by row) and
    `_exact` (priced row by row)."""
    rows = []
    for key, prices in lookups.items():
        rates = prices.rates if prices.rates and all(map(_fits, prices.rates)) else None
        exact = prices.entry is not None and rates is None
        rows.append((*key, *(rates or (None,) * 4), exact))
    schema: dict[str, Any] = {"_model": pl.String(), "_fallback": pl.String()}
    schema |= {"_provider": pl.String(), "_day": pl.Date()}
    schema |= {name: DECIMAL for name in RATE_COLUMNS} | {"_exact": pl.Boolean()}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _fits(rate: Decimal) -> bool:
    """Whether `rate` is exact at the decimal scale used for linear pricing."""
    exponent = rate.as_tuple().exponent
    return isinstance(exponent, int) and (exponent >= -18 or rate == round(rate, 18))


def _linear_cost() -> pl.Expr:
    fixed, per_prompt, per_cached, per_output = (pl.col(name) for name in RATE_COLUMNS)
    exact = (
        fixed
        + per_prompt * pl.col("_prompt")
        + per_cached * pl.col("_cached")
        + per_output * pl.col("_output")
    )
    # Decimal -> text -> float rounds once, to the nearest float, like float(Decimal).
    return pl.when("_ok").then(exact).cast(pl.String()).cast(pl.Float64()).alias("cost")


def _exact_costs(rows: pl.DataFrame, lookups: dict[tuple[Any, ...], DayPrices]) -> pl.Series:
    """genai-prices' own calculation, row by row, for prices that are not linear all day."""
    costs = []
    for row in rows.iter_rows(named=True):
        prices = lookups[tuple(row[name] for name in KEY_COLUMNS)]
        assert prices.entry is not None
        at = row["_time"] or datetime.combine(row["_day"], datetime.min.time(), tzinfo=UTC)
        counts = (row["_prompt"], row["_cached"], row["_output"])
        costs.append(float(exact_price(*prices.entry, at, *counts)))
    return pl.Series("cost", costs, dtype=pl.Float64())
