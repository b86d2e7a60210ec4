"""Numbers as a reader wants to see them: thousands separators, dollars with a precision that
keeps small costs readable, milliseconds as seconds, shares as percentages. Every function
takes a number or None and returns text; None (and NaN) is `MISSING`.

`column_format(name)` picks the header and formatter of a statistics column from its name
(`p50_latency_ms` -> "p50 latency (s)" in seconds, `cost*` in dollars, `*_share` and
`*_rate` in percent, counts with separators), so any table of `claude_gw.analysis` renders
without a per-table list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MISSING = "–"
Formatter = Callable[[Any], str]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value: Any) -> str:
    """A whole number with thousands separators: 12345 -> "12,345"."""
    if _missing(value):
        return MISSING
    return f"{round(value):,}"


def usd(value: Any) -> str:
    """Dollars: two decimals from $1 up ("$1,234.50"), three significant digits below
    ("$0.0123", "$0.000456"), "$0" for exactly zero; a negative sign goes before the $."""
    if _missing(value):
        return MISSING
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == 0:
        return "$0"
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    decimals = 2 - math.floor(math.log10(amount))
    return f"{sign}${amount:.{decimals}f}"


def seconds(milliseconds: Any) -> str:
    """A duration given in milliseconds, in seconds with three significant digits from 1 s
    up ("12.5 s", "1,234 s") and three decimals below ("0.027 s"); under half a millisecond
    reads "0.000 s"."""
    if _missing(milliseconds):
        return MISSING
    value = milliseconds / 1000
    if abs(value) >= 100:
        return f"{value:,.0f} s"
    if abs(value) >= 10:
        return f"{value:.1f} s"
    if abs(value) >= 1:
        return f"{value:.2f} s"
    return f"{value:.3f} s"


def percent(share: Any) -> str:
    """A share (0.1234) as a percentage with one decimal ("12.3%"); 0 and 1 read "0%" and
    "100%"."""
    if _missing(share):
        return MISSING
    if share in (0, 1):
        return f"{share * 100:.0f}%"
    return f"{share * 100:.1f}%"


def ratio(value: Any) -> str:
    """A multiplier with two decimals from 0.1 up (0.8 -> "0.80×"), three significant
    digits below (0.0252 -> "0.0252×"), so a small ratio never reads 0.02."""
    if _missing(value):
        return MISSING
    if abs(value) >= 0.1 or value == 0:
        return f"{value:,.2f}×"
    return f"{value:.3g}×"


def number(value: Any) -> str:
    """Any other number: whole numbers with separators, else three significant digits
    (thousands separated from 1,000 up)."""
    if _missing(value):
        return MISSING
    if isinstance(value, int) or float(value).is_integer():
        return count(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def text(value: Any) -> str:
    """Anything else as `str`, None as `MISSING`."""
    return MISSING if value is None else str(value)


def column_format(name: str) -> tuple[str, Formatter]:
    """(header, formatter) of a statistics column, chosen from its name (module docstring)."""
    label = name.replace("_", " ")
    if name.endswith("_ms"):
        return f"{label.removesuffix(' ms')} (s)", seconds
    if "cost" in name:
        return label, usd
    if name.endswith(("_share", "_rate")):
        return label, percent
    if name == "ratio":
        return label, ratio
    return label, number
