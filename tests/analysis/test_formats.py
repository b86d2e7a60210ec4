"""Human formats: each number as a reader of the report sees it."""

from __future__ import annotations

import math

import pytest

from claude_gw.analysis import formats
from claude_gw.analysis.formats import MISSING, column_format


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(12345, "12,345", id="thousands_separator"),
        pytest.param(1234567.0, "1,234,567", id="float_count"),
        pytest.param(0, "0", id="zero"),
        pytest.param(None, MISSING, id="none"),
    ],
)
def test_counts_carry_thousands_separators(value, expected):
    assert formats.count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1234.5, "$1,234.50", id="cents_from_one_dollar_up"),
        pytest.param(1.0, "$1.00", id="one_dollar"),
        pytest.param(0.268, "$0.268", id="three_significant_digits_below_a_dollar"),
        pytest.param(0.0123456, "$0.0123", id="cents_fraction"),
        pytest.param(0.000456, "$0.000456", id="small_request_cost"),
        pytest.param(0.0, "$0", id="exact_zero"),
        pytest.param(-0.5, "-$0.500", id="negative_sign_before_dollar"),
        pytest.param(None, MISSING, id="unknown_cost"),
        pytest.param(math.nan, MISSING, id="nan"),
    ],
)
def test_dollars_keep_small_costs_readable(value, expected):
    assert formats.usd(value) == expected


@pytest.mark.parametrize(
    ("milliseconds", "expected"),
    [
        pytest.param(12500.0, "12.5 s", id="the_1.25e+04_ms_of_the_old_report"),
        pytest.param(1846.0, "1.85 s", id="seconds_with_two_decimals"),
        pytest.param(27.0, "0.027 s", id="milliseconds_as_three_decimals"),
        pytest.param(123456.0, "123 s", id="over_100_s_whole"),
        pytest.param(1234567.0, "1,235 s", id="thousands_of_seconds"),
        pytest.param(None, MISSING, id="none"),
    ],
)
def test_durations_read_in_seconds(milliseconds, expected):
    assert formats.seconds(milliseconds) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        pytest.param(6 / 61, "9.8%", id="one_decimal"),
        pytest.param(0.0, "0%", id="none_of_them"),
        pytest.param(1.0, "100%", id="all_of_them"),
        pytest.param(None, MISSING, id="undefined_share"),
    ],
)
def test_shares_read_as_percentages(share, expected):
    assert formats.percent(share) == expected


@pytest.mark.parametrize(
    ("name", "value", "header", "expected"),
    [
        pytest.param("p95_latency_ms", 13700.0, "p95 latency (s)", "13.7 s", id="ms_column"),
        pytest.param("cost_per_request", 0.0108, "cost per request", "$0.0108", id="cost"),
        pytest.param("cache_hit_share", 0.5, "cache hit share", "50.0%", id="share"),
        pytest.param("error_rate", 0.25, "error rate", "25.0%", id="rate"),
        pytest.param("ratio", 0.8, "ratio", "0.80×", id="ratio"),
        pytest.param("ratio", 0.02521, "ratio", "0.0252×", id="small_ratio"),
        pytest.param("prompt_tokens", 261362, "prompt tokens", "261,362", id="count"),
        pytest.param("tokens_per_s", 40.91, "tokens per s", "40.9", id="rate_per_second"),
    ],
)
def test_a_statistics_column_is_formatted_by_its_name(name, value, header, expected):
    got_header, fmt = column_format(name)
    assert (got_header, fmt(value)) == (header, expected)
