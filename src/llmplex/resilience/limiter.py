"""Client-side rate limits per deployment: requests and tokens per minute, by GCRA.

The generic cell rate algorithm keeps one number per bucket, the theoretical arrival time (TAT):
a request of ``cost`` units is admitted when ``max(TAT, now) + cost * interval - burst * interval
<= now``, and then moves TAT on by ``cost * interval`` (``interval = 60 / per_minute``). So at
most ``burst`` units go at once and ``per_minute`` a minute after that, with no timer and no
queue. It is the same arithmetic in memory and in one Redis Lua script; clocks are monotonic
(memory) or Redis's own ``TIME`` (shared), never the wall clock.

A limiter that *waits* reserves the slot and tells the driver how long to sleep (up to
``max_wait``); one that *raises* refuses with :class:`~llmplex.errors.RateLimitError` carrying
``retry_after``. Tokens are charged by estimate at admission and corrected by the usage the
provider reports; the provider's own rate-limit headers (``x-ratelimit-remaining-*``,
``anthropic-ratelimit-*``) can only make the limiter stricter, never looser.

>>> take([0.0], 0.0, [Bucket("k", interval=6.0, burst=10, cost=1)], max_wait=0.0)
(True, 0.0, [6.0])
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Bucket", "LimiterConfig", "RateHint", "parse_rate_headers", "take"]


EPSILON = 1e-6
"""Seconds of rounding forgiven (Redis stores times to the microsecond)."""


@dataclass(frozen=True, slots=True)
class LimiterConfig:
    """Limits of one deployment. ``None`` disables a limit.

    ``burst`` defaults to a sixth of ``rpm`` (ten seconds' worth, at least 1); ``token_burst`` to
    the whole ``tpm`` (prompt sizes vary too much for less). ``wait=True`` sleeps until a slot is
    free when that takes at most ``max_wait`` seconds; otherwise (or beyond that) the call raises
    ``RateLimitError`` with ``retry_after``.
    """

    rpm: float | None = None
    tpm: float | None = None
    burst: float | None = None
    token_burst: float | None = None
    wait: bool = True
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "burst", "token_burst"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"rate limit {name} must be a number > 0, got {value!r}")
        if self.max_wait < 0:
            raise ValueError("rate limit max_wait must be >= 0")

    def request_bucket(self, key: str) -> Bucket | None:
        """The requests bucket (cost 1 per request), when ``rpm`` is set."""
        if self.rpm is None:
            return None
        burst = self.burst if self.burst is not None else max(1.0, math.ceil(self.rpm / 6))
        return Bucket(key, 60.0 / self.rpm, burst, 1.0)

    def token_bucket(self, key: str, tokens: float) -> Bucket | None:
        """The tokens bucket charged ``tokens``, when ``tpm`` is set."""
        if self.tpm is None:
            return None
        burst = self.token_burst if self.token_burst is not None else self.tpm
        return Bucket(key, 60.0 / self.tpm, burst, float(tokens))


@dataclass(frozen=True, slots=True)
class Bucket:
    """One GCRA bucket: ``interval`` seconds per unit, ``burst`` units at once, ``cost`` units
    asked. A cost above the burst is charged as the burst (it waits for a full bucket)."""

    key: str
    interval: float
    burst: float
    cost: float


def take(
    tats: Sequence[float], now: float, buckets: Sequence[Bucket], max_wait: float
) -> tuple[bool, float, list[float]]:
    """All-or-nothing admission over several buckets with their current TATs.

    Returns ``(admitted, seconds, new_tats)``: admitted after waiting ``seconds`` (the slot is
    reserved in ``new_tats``), or refused with ``seconds`` as the time to retry (``new_tats``
    unchanged)."""
    wait = 0.0
    moved: list[float] = []
    for tat, b in zip(tats, buckets, strict=True):
        cost = min(b.cost, b.burst)
        new_tat = max(tat, now) + cost * b.interval
        wait = max(wait, new_tat - b.burst * b.interval - now)
        moved.append(new_tat)
    if wait <= max_wait + EPSILON:
        return True, max(wait, 0.0) if wait > EPSILON else 0.0, moved
    return False, wait, list(tats)


def adjusted(tat: float, now: float, delta: float, at_least: float) -> float:
    """A TAT after charging ``delta`` seconds more (or refunding, when negative; never into the
    past), and pushed to at least ``now + at_least``."""
    return max(max(tat, now) + delta, now, now + at_least)


@dataclass(frozen=True, slots=True)
class RateHint:
    """What a provider's rate-limit headers say: remaining requests/tokens and seconds to reset."""

    requests_remaining: int | None = None
    requests_reset: float | None = None
    tokens_remaining: int | None = None
    tokens_reset: float | None = None

    def __bool__(self) -> bool:
        return self.requests_remaining is not None or self.tokens_remaining is not None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _reset_seconds(raw: str | None, wall_now: float) -> float | None:
    """``1s``, ``6m0s``, ``20ms``, ``0.5`` (OpenAI, Groq …) or an RFC 3339 time (Anthropic)."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(float(raw), 0.0) if math.isfinite(float(raw)) else None
    except ValueError:
        pass
    parts = _DURATION.findall(raw)
    if parts and "".join(n + u for n, u in parts) == raw:
        return sum(float(n) * _UNIT[u] for n, u in parts)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - wall_now, 0.0)


def _count(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(float(raw.strip()))
    except (ValueError, OverflowError):
        return None
    return value if value >= 0 else None


def parse_rate_headers(headers: Mapping[str, str], wall_now: float) -> RateHint:
    """Read the OpenAI-style (``x-ratelimit-remaining-requests`` …) and Anthropic
    (``anthropic-ratelimit-requests-remaining`` …) headers; unparseable values are ignored.

    >>> parse_rate_headers({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s"}, 0)
    RateHint(requests_remaining=0, requests_reset=90.0, tokens_remaining=None, tokens_reset=None)
    """
    get = headers.get
    if get("x-ratelimit-remaining-requests") is not None or get("x-ratelimit-remaining-tokens") is not None:
        return RateHint(
            _count(get("x-ratelimit-remaining-requests")),
            _reset_seconds(get("x-ratelimit-reset-requests"), wall_now),
            _count(get("x-ratelimit-remaining-tokens")),
            _reset_seconds(get("x-ratelimit-reset-tokens"), wall_now),
        )
    return RateHint(
        _count(get("anthropic-ratelimit-requests-remaining")),
        _reset_seconds(get("anthropic-ratelimit-requests-reset"), wall_now),
        _count(get("anthropic-ratelimit-tokens-remaining")),
        _reset_seconds(get("anthropic-ratelimit-tokens-reset"), wall_now),
    )


def floor_for(bucket: Bucket, remaining: int | None, reset: float | None) -> float:
    """How far ahead of now the bucket's TAT must be so that no more than ``remaining`` units
    go before the provider's window resets (0.0: the headers ask nothing of this bucket)."""
    if remaining is None:
        return 0.0
    if remaining == 0 and reset is not None:
        return reset + (bucket.burst - 1) * bucket.interval
    return max(bucket.burst - remaining, 0.0) * bucket.interval
