"""When to retry, and how long to wait: pure functions of the error, the attempt and the headers.

Defaults (RELIABILITY.md §"Defaults we adopt", 1): ``max_retries=2``; retry 408, 409, 429, 500,
502, 503, 504, 529 and connection errors/timeouts; ``x-should-retry`` overrides the status;
a quota 429 (``QuotaExceededError``) is never retried; ``retry-after-ms`` then ``retry-after``
(seconds or HTTP date) are honoured up to 60 s — above that the call fails at once with
``retry_after`` set; otherwise back off ``min(0.5 * 2**attempt, 8)`` seconds reduced by up to
25 % of random jitter (the openai/anthropic SDK formula).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from ..errors import APIConnectionError, LLMError, QuotaExceededError, StreamInterruptedError

__all__ = ["MAX_RETRY_AFTER", "RETRYABLE_STATUSES", "backoff", "parse_retry_after", "retry_delay"]

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date).

    Hostile or unparseable values give ``None`` (then the caller backs off); never raises.

    >>> parse_retry_after({"retry-after-ms": "1500", "retry-after": "10"}, 0.0)
    1.5
    """
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        delta = when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None
    return max(delta, 0.0) if math.isfinite(delta) else None


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except (ValueError, AttributeError):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff for retry number ``attempt`` (0-based), with jitter:
    ``min(0.5 * 2**attempt, 8) * (1 - 0.25 * rand())``, so within [75 %, 100 %] of the base."""
    base = min(INITIAL_BACKOFF * 2.0 ** min(attempt, 10), MAX_BACKOFF)
    return base * (1.0 - 0.25 * rand())


def is_retryable(error: LLMError) -> bool:
    """Whether an error may succeed on another attempt (ignoring how many were made)."""
    if isinstance(error, (QuotaExceededError, StreamInterruptedError)):
        return False
    if error.should_retry is not None:
        return error.should_retry
    if isinstance(error, APIConnectionError):
        return True
    return error.status_code in RETRYABLE_STATUSES


def retry_delay(
    error: LLMError, attempt: int, max_retries: int, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` to give up and raise ``error``."""
    if attempt >= max_retries or not is_retryable(error):
        return None
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
    return backoff(attempt, rand)
