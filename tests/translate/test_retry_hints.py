"""Retry hints in every spelling an upstream uses -> the client's `retry-after`."""

import pytest

from claude_gw.translate.errors import upstream_http_error
from claude_gw.translate.retry_hints import retry_headers

RATE_LIMITED = b'{"error": {"message": "Rate limit reached", "type": "requests"}}'


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({"retry-after": "3"}, {"retry-after": "3"}, id="seconds"),
        pytest.param({"retry-after": "0.3"}, {"retry-after": "0.3"}, id="fraction_as_given"),
        pytest.param(
            {"retry-after-ms": "1500"},
            {"retry-after": "2", "retry-after-ms": "1500"},
            id="milliseconds_only_also_give_seconds",
        ),
        pytest.param(
            {"retry-after": "1", "retry-after-ms": "250"},
            {"retry-after": "1", "retry-after-ms": "250"},
            id="both_kept",
        ),
        # LiteLLM's proxy 1.108.7: its 429 carries only the prefixed header
        pytest.param({"llm_provider-retry-after": "7"}, {"retry-after": "7"}, id="litellm"),
        pytest.param(
            {"llm_provider-retry-after-ms": "20"},
            {"retry-after": "1", "retry-after-ms": "20"},
            id="litellm_milliseconds",
        ),
        pytest.param(
            {"retry-after": "4", "llm_provider-retry-after": "9"},
            {"retry-after": "4"},
            id="own_header_wins",
        ),
        pytest.param(
            {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
            {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
            id="http_date_as_given",
        ),
        pytest.param({"retry-after": "soon"}, {}, id="garbage_dropped"),
        pytest.param({"retry-after": "-1"}, {}, id="negative_dropped"),
        pytest.param(
            {"retry-after": "nan", "llm_provider-retry-after": "5"},
            {"retry-after": "5"},
            id="unusable_first_spelling_falls_through",
        ),
        pytest.param({"x-ratelimit-reset-requests": "1s"}, {}, id="no_hint"),
    ],
)
def test_retry_headers(given, expected):
    assert retry_headers(given) == expected


def test_a_litellm_429_tells_the_client_when_to_retry():
    error = upstream_http_error(
        429, RATE_LIMITED, {"llm_provider-retry-after": "12"}, upstream="litellm"
    )
    assert error.http_status == 429
    assert error.headers == {"retry-after": "12"}


def test_a_503_passes_its_retry_hint_on():
    error = upstream_http_error(503, b"busy", {"retry-after-ms": "800"}, upstream="vllm")
    assert error.error_type == "overloaded_error"
    assert error.headers == {"retry-after": "1", "retry-after-ms": "800"}
