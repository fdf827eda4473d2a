"""The pure retry policy: RELIABILITY rows A2–A6 and A9 without sockets or clocks."""

from __future__ import annotations

import email.utils

import pytest

from llmplex.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    LLMError,
    QuotaExceededError,
    RateLimitError,
    StreamInterruptedError,
    status_error_class,
)
from llmplex.resilience.retry import backoff, parse_retry_after, retry_delay

NOW = 1_700_000_000.0


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "10"}, 1.5),  # A2: ms wins
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": " 3 "}, 3.0),
        ({"retry-after": ""}, None),
        ({"retry-after": "-10"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "1e35"}, 1e35),
        ({"retry-after": "abc"}, None),
        ({"retry-after": "Zun, 29 Sep 2023 10:00:00 GMT"}, 0.0),  # weekday ignored; a past date
        ({"retry-after": "Fri, 29 Sep 100000 10:00:00 GMT"}, None),
        ({"retry-after": "Fri, 29 Sep 0000 10:00:00 GMT"}, 0.0),  # read as 2000: past
        ({"retry-after": http_date(20)}, 20.0),
        ({"retry-after": http_date(-20)}, 0.0),
        ({"retry-after-ms": "nan", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "-5", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({}, None),
    ],
)
def test_hostile_retry_after_values_never_raise(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, NOW) == expected


STATUSES = [400, 401, 403, 404, 413, 422, 408, 409, 429, 500, 502, 503, 504, 529]
RETRYABLE = {408, 409, 429, 500, 502, 503, 504, 529}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("should_retry", [None, True, False])
def test_status_matrix(status: int, should_retry: bool | None) -> None:
    error = status_error_class(status)("x", status_code=status, should_retry=should_retry)
    attempts = 1
    while retry_delay(error, attempts - 1, max_retries=2, rand=lambda: 0.0) is not None:
        attempts += 1
    expected_retry = should_retry if should_retry is not None else status in RETRYABLE
    assert attempts == (3 if expected_retry else 1)


def test_retry_after_above_cap_is_not_retried() -> None:
    error = RateLimitError("slow", status_code=429, retry_after=61)
    assert retry_delay(error, 0, 2) is None
    assert retry_delay(RateLimitError("slow", status_code=429, retry_after=60), 0, 2) == 60


def test_quota_and_stream_interruptions_are_never_retried() -> None:
    assert retry_delay(QuotaExceededError("no money", status_code=429), 0, 5) is None
    assert retry_delay(StreamInterruptedError("cut"), 0, 5) is None
    assert retry_delay(BadRequestError("bad", status_code=400), 0, 5) is None


def test_connection_errors_and_timeouts_are_retried() -> None:
    assert retry_delay(APIConnectionError("reset"), 0, 2) is not None
    assert retry_delay(APITimeoutError("slow"), 1, 2) is not None
    assert retry_delay(APITimeoutError("slow"), 2, 2) is None


@pytest.mark.parametrize("attempt", range(7))
def test_backoff_bounds(attempt: int) -> None:
    import random

    rng = random.Random(attempt)
    base = min(0.5 * 2**attempt, 8.0)
    samples = [backoff(attempt, rng.random) for _ in range(10_000)]
    assert min(samples) >= 0.75 * base
    assert max(samples) <= base


def test_plain_llm_error_without_status_is_not_retried() -> None:
    assert retry_delay(LLMError("odd"), 0, 2) is None


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("", 0.5), ("-10", 0.5), ("0", 0.0), ("inf", 0.5), ("nan", 0.5), ("1e35", None), ("abc", 0.5),
     ("Fri, 29 Sep 100000 10:00:00 GMT", 0.5), ("2", 2.0), ("60", 60.0), ("61", None), (http_date(20), 20.0),
     (http_date(-20), 0.0)],
)
def test_hostile_retry_after_gives_the_documented_delay(retry_after: str, expected: float | None) -> None:
    """RELIABILITY A3: a value the parser refuses falls back to backoff (0.5 s for the first
    retry without jitter); one above the 60 s cap is not retried; none raises."""
    error = RateLimitError("slow", status_code=429, retry_after=parse_retry_after({"retry-after": retry_after}, NOW))
    assert retry_delay(error, 0, 2, rand=lambda: 0.0) == expected
