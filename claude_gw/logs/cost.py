"""The price of one request in USD, from the offline `genai_prices` table.

Contract: `price_usage` never raises and never touches the network. A model the table does not
know is `Price(None, "unpriced")`, never a cost of 0 passed off as free; a known model with no
tokens costs 0.0.

Offline by construction: `genai_prices` only fetches newer prices when someone starts its
`UpdatePrices` background task (off by default); claude_gw never does, so prices come from the
table bundled with the installed package version (`data_snapshot.get_snapshot()` with
`from_auto_update=False`). Upgrade the package to get newer prices.

Token semantics (checked against genai-prices 0.2.3): its `input_tokens` *includes* the cache
reads, exactly like OpenAI's `prompt_tokens`, and `output_tokens` includes reasoning tokens, like
`completion_tokens`; so OpenAI usage maps one to one. Dated ids (`gpt-5-mini-2025-08-07`) match
their model (`gpt-5-mini`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

logger = logging.getLogger("claude_gw.logs.cost")

CostSource = Literal["genai-prices", "config", "unpriced", "none"]
SIMULATED = "simulated"
SIMULATED_SUFFIX = "-simulated"
# claude_gw provider name -> genai-prices provider id. The simulated backend imitates OpenAI.
PRICING_PROVIDER = {"openai": "openai", SIMULATED: "openai"}
BY_NAME_PROVIDERS = frozenset({"anthropic"})  # see find_priced


@dataclass(frozen=True)
class Price:
    """A request's cost in USD (None when unknown) and where the figure came from."""

    cost: float | None
    source: CostSource


UNPRICED = Price(None, "unpriced")
NOT_PRICED = Price(None, "none")  # there was no usage to price (e.g. a rejected request)


def pricing_ref(model: str, provider: str) -> tuple[str, str]:
    """(model, genai-prices provider id) to look up for a request to `model` at `provider`.

    A simulated model is priced as the model it imitates: `gpt-5-mini-simulated` as `gpt-5-mini`.
    """
    if provider == SIMULATED and model.endswith(SIMULATED_SUFFIX):
        model = model[: -len(SIMULATED_SUFFIX)]
    return model, PRICING_PROVIDER.get(provider, provider)


def find_priced(model: str, provider: str) -> tuple[Any, Any] | None:
    """The genai-prices entry for `model` at claude_gw's `provider`, or None.

    Behind an Anthropic-shaped upstream (`--upstream-api anthropic`) any provider's model may
    answer (LiteLLM's and OpenRouter's `/v1/messages` serve OpenAI's models too): a model the
    Anthropic table does not know is priced by its name alone, as its own provider's.
    """
    found = find_model(*pricing_ref(model, provider))
    if found is None and provider in BY_NAME_PROVIDERS:
        found = find_model(model, None)
    return found


@functools.lru_cache(maxsize=1024)
def find_model(model: str, provider_id: str | None) -> tuple[Any, Any] | None:
    """The genai-prices (provider, model) entry for a model reference, or None if unknown.

    Cached because it runs for every request, and a miss in genai-prices scans every model.
    """
    from genai_prices import data_snapshot

    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None


def price_usage(
    model: str,
    *,
    provider: str,
    prompt_tokens: int,
    cached_tokens: int,
    completion_tokens: int,
    at: datetime | None = None,
) -> Price:
    """The price of one request's OpenAI-style usage; never raises.

    `prompt_tokens` includes `cached_tokens` (OpenAI semantics). `at` picks time-dependent
    prices (defaults to now); pass the request's start time to keep callers deterministic.
    """
    try:
        return _price(model, provider, prompt_tokens, cached_tokens, completion_tokens, at)
    except Exception:  # a pricing bug must never cost us the log line
        logger.exception("could not price %s at %s", model, provider)
        return UNPRICED


def search_price(model: str, *, provider: str, searches: int, at: datetime) -> float | None:
    """USD for `searches` web searches run by `model` (genai-prices' `web_searches` price),
    None when the table has the model but no search price, or not the model; never raises."""
    found = find_priced(model, provider)
    if found is None or searches < 1:
        return None
    from genai_prices import Usage

    provider_entry, model_entry = found
    try:
        with_searches = model_entry.calc_price(
            Usage(web_searches=searches), provider_entry, genai_request_timestamp=at
        )
        without = model_entry.calc_price(Usage(), provider_entry, genai_request_timestamp=at)
    except Exception:  # a pricing bug must never cost us the log line
        logger.exception("could not price the searches of %s at %s", model, provider)
        return None
    extra = float(with_searches.total_price - without.total_price)
    return extra if extra > 0 else None


def _price(
    model: str,
    provider: str,
    prompt_tokens: int,
    cached_tokens: int,
    completion_tokens: int,
    at: datetime | None,
) -> Price:
    found = find_priced(model, provider)
    if found is None:
        return UNPRICED
    provider_entry, model_entry = found
    prompt = max(0, int(prompt_tokens))
    counts = (prompt, min(prompt, max(0, int(cached_tokens))), max(0, int(completion_tokens)))
    cost = entry_price(provider_entry, model_entry, at or datetime.now(tz=UTC), *counts)
    return Price(float(cost), "genai-prices")


def entry_price(
    provider_entry: Any, model_entry: Any, at: datetime, prompt: int, cached: int, output: int
) -> Decimal:
    """The cost of the usage at a genai-prices (provider, model): exactly what genai-prices
    computes, from the linear rates when the prices are flat."""
    rates = linear_rates(provider_entry, model_entry, at)
    if rates is None:
        return exact_price(provider_entry, model_entry, at, prompt, cached, output)
    fixed, per_prompt, per_cached, per_output = rates
    return fixed + per_prompt * prompt + per_cached * cached + per_output * output


def exact_price(
    provider_entry: Any, model_entry: Any, at: datetime, prompt: int, cached: int, output: int
) -> Decimal:
    """genai-prices' own calculation (slow: `cost_modes` uses it only for prices that are not
    linear over the day)."""
    from genai_prices import Usage

    usage = Usage(input_tokens=prompt, cache_read_tokens=cached, output_tokens=output)
    return Decimal(
        model_entry.calc_price(usage, provider_entry, genai_request_timestamp=at).total_price
    )


# id(ModelPrice) -> (that ModelPrice, its rates or None); the ModelPrice is kept so its id stays.
_RATES: dict[int, tuple[Any, tuple[Decimal, Decimal, Decimal, Decimal] | None]] = {}


def linear_rates(
    provider_entry: Any, model_entry: Any, at: datetime
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """(per request, per prompt token, per cached token, per completion token) in USD for the
    prices in force at `at`, or None when they are tiered (not linear in the counts).

    With flat prices the cost is linear in (prompt, cached, completion): the rates are read off
    genai-prices' own calculation at four points, once per set of prices, and every other
    request is priced from them exactly (Decimal), in a fraction of the calculation's time.
    """
    from genai_prices.types import TieredPrices

    prices = model_entry.get_prices(at)
    known = _RATES.get(id(prices))
    if known is not None and known[0] is prices:
        return known[1]
    rates = None
    if not any(isinstance(value, TieredPrices) for value in vars(prices).values()):
        point = functools.partial(exact_price, provider_entry, model_entry, at)
        fixed = point(0, 0, 0)
        prompt = point(1, 0, 0) - fixed
        rates = (fixed, prompt, point(1, 1, 0) - fixed - prompt, point(0, 0, 1) - fixed)
    _RATES[id(prices)] = (prices, rates)
    return rates


Rates = tuple[Decimal, Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class DayPrices:
    """How to price a model's requests of one UTC day: `entry` is the genai-prices
    (provider, model), None when no model of the reference is known (unpriced); `rates` are
    the day's linear rates (see `linear_rates`), None when the prices are tiered or change
    within a day, in which case each request is priced by `exact_price`."""

    entry: tuple[Any, Any] | None
    rates: Rates | None = None


@functools.lru_cache(maxsize=4096)  # a (model, provider, day) is looked up once per block
def day_prices(models: tuple[str | None, ...], provider: str | None, day: date) -> DayPrices:
    """The prices for a request of `day` at `provider`, as the first of `models` that the
    table knows (claude_gw prices the model that answered, else the one requested)."""
    for model in models:
        if not model:
            continue
        found = find_priced(model, provider) if provider else find_model(model, None)
        if found is not None:
            return DayPrices(found, _day_rates(*found, day))
    return DayPrices(None)


def _day_rates(provider_entry: Any, model_entry: Any, day: date) -> Rates | None:
    """The linear rates in force all day long, or None (tiered, or time-of-day prices)."""
    from genai_prices.types import TimeOfDateConstraint

    conditional = model_entry.prices if isinstance(model_entry.prices, list) else []
    if any(isinstance(price.constraint, TimeOfDateConstraint) for price in conditional):
        return None
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return linear_rates(provider_entry, model_entry, at)
