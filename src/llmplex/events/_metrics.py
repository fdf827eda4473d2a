"""Built-in metrics: counts, errors by type, tokens, cost, latency and time-to-first-token
percentiles, per provider and model, in bounded memory.

Recorded inline once per call (a lock and a few additions: ~2 µs here), not through the
bus, so ``client.metrics()`` is exact the moment a call returns. Percentiles come from a
log-bucket sketch (the DDSketch idea): every value lands in the bucket ``ceil(log_γ(x))`` with
``γ = (1 + α) / (1 - α)``, so any quantile is known within ``α`` = 1 % relative error, sketches
merge by adding counts (per-provider and total figures are merges of the per-model ones), and
memory is bounded by the range of values (1 µs to 1 day: under 1,000 buckets), not by the number
of calls.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Metrics", "MetricsSnapshot", "Percentiles", "QuantileSketch", "Stats", "TokenCounts"]

_ALPHA = 0.01
_GAMMA = (1 + _ALPHA) / (1 - _ALPHA)
_INV_LOG_GAMMA = 1 / math.log(_GAMMA)
_log = math.log
_ceil = math.ceil
_MIN_VALUE = 1e-6
_MAX_VALUE = 86_400.0


class QuantileSketch:
    """Quantiles within 1 % relative error in bounded memory; mergeable.

    >>> s = QuantileSketch()
    >>> for ms in range(1, 101):
    ...     s.add(ms / 1000)
    >>> round(s.quantile(0.5), 3), round(s.quantile(0.99), 3)
    (0.05, 0.099)
    """

    __slots__ = ("buckets", "count", "max", "sum")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        """Record one value (seconds; clamped to [1 µs, 1 day])."""
        self.count += 1
        self.sum += value
        if value > self.max:
            self.max = value
        key = _ceil(_log(_MIN_VALUE if value < _MIN_VALUE else min(value, _MAX_VALUE)) * _INV_LOG_GAMMA)
        buckets = self.buckets
        buckets[key] = buckets.get(key, 0) + 1

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s values to this sketch."""
        self.count += other.count
        self.sum += other.sum
        self.max = max(self.max, other.max)
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0 ≤ q ≤ 1), or ``None`` with no values."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))  # nearest rank, 1-based
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                return min(2 * _GAMMA**key / (_GAMMA + 1), self.max)
        return self.max

    def copy(self) -> QuantileSketch:
        out = QuantileSketch()
        out.merge(self)
        return out


@dataclass(frozen=True)
class Percentiles:
    """Latency figures in seconds (``None`` with no samples)."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None
    max: float | None

    @classmethod
    def of(cls, sketch: QuantileSketch) -> Percentiles:
        mean = sketch.sum / sketch.count if sketch.count else None
        return cls(sketch.count, sketch.quantile(0.5), sketch.quantile(0.95), sketch.quantile(0.99), mean,
                   sketch.max if sketch.count else None)


@dataclass(frozen=True)
class TokenCounts:
    """Tokens summed over successful calls (cached ⊂ input, reasoning ⊂ output)."""

    input: int = 0
    output: int = 0
    cached: int = 0
    reasoning: int = 0


@dataclass(frozen=True)
class Stats:
    """Figures for one provider/model, one provider, or everything."""

    calls: int
    """Calls finished (succeeded or failed)."""
    errors: int
    errors_by_type: dict[str, int]
    """Failed calls by error class name (``"cancelled"`` for cancelled calls and abandoned streams)."""
    retries: int
    tokens: TokenCounts
    cost: float | None
    """USD summed over the calls whose cost was known; ``None`` when none was."""
    cost_unknown: int
    """Successful calls whose cost was not known (not included in ``cost``)."""
    latency: Percentiles
    """Seconds from the start of the call to the full response (successful calls)."""
    ttft: Percentiles
    """Seconds to the first output chunk (successful streams)."""
    cache_hits: int = 0
    """Calls answered by the response cache (counted in ``calls``; their cost is zero and their
    tokens and latency are not added: nothing was spent and no provider was timed)."""
    cache_misses: int = 0
    """Calls that asked the response cache and went to the provider (``cache="refresh"`` included)."""


@dataclass(frozen=True)
class MetricsSnapshot(Stats):
    """What ``client.metrics()`` returns: totals, plus the same per provider and per
    ``provider/model``."""

    by_provider: dict[str, Stats] = field(default_factory=dict)
    by_model: dict[str, Stats] = field(default_factory=dict)


class _Counters:
    __slots__ = ("cache_hits", "cache_misses", "cost", "cost_known", "cost_unknown", "errors", "errors_by_type",
                 "latency", "ok", "retries", "tokens", "ttft")

    def __init__(self) -> None:
        self.ok = 0
        self.errors = 0
        self.errors_by_type: dict[str, int] = {}
        self.retries = 0
        self.tokens = [0, 0, 0, 0]
        self.cost = 0.0
        self.cost_known = 0
        self.cost_unknown = 0
        self.latency = QuantileSketch()
        self.ttft = QuantileSketch()
        self.cache_hits = 0
        self.cache_misses = 0

    def merge(self, other: _Counters) -> None:
        self.ok += other.ok
        self.errors += other.errors
        for name, n in other.errors_by_type.items():
            self.errors_by_type[name] = self.errors_by_type.get(name, 0) + n
        self.retries += other.retries
        self.tokens = [a + b for a, b in zip(self.tokens, other.tokens, strict=True)]
        self.cost += other.cost
        self.cost_known += other.cost_known
        self.cost_unknown += other.cost_unknown
        self.latency.merge(other.latency)
        self.ttft.merge(other.ttft)
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses

    def stats(self) -> Stats:
        return Stats(
            calls=self.ok + self.errors, errors=self.errors, errors_by_type=dict(self.errors_by_type),
            retries=self.retries, tokens=TokenCounts(*self.tokens),
            cost=self.cost if self.cost_known else None, cost_unknown=self.cost_unknown,
            latency=Percentiles.of(self.latency), ttft=Percentiles.of(self.ttft),
            cache_hits=self.cache_hits, cache_misses=self.cache_misses,
        )


class Metrics:
    """Live metrics of a client or a session. Call it for a snapshot; ``reset()`` starts over.

    >>> import llmplex
    >>> client = llmplex.Client()
    >>> client.metrics().calls
    0
    >>> client.metrics.reset()
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[tuple[str, str], _Counters] = {}

    def _counters(self, provider: str, model: str) -> _Counters:
        key = (provider, model)
        counters = self._by_model.get(key)
        if counters is None:
            counters = self._by_model[key] = _Counters()
        return counters

    def record_success(self, provider: str, model: str, latency: float, ttft: float | None, retries: int,
                       tokens: tuple[int, int, int, int] | None, cost: float | None, cached: bool = False) -> None:
        """Count one successful call (``cached``: answered by the response cache)."""
        with self._lock:
            c = self._counters(provider, model)
            c.ok += 1
            if cached:
                c.cache_hits += 1
                c.cost_known += 1
                return
            c.retries += retries
            c.latency.add(latency)
            if ttft is not None:
                c.ttft.add(ttft)
            if tokens is not None:
                t = c.tokens
                t[0] += tokens[0]
                t[1] += tokens[1]
                t[2] += tokens[2]
                t[3] += tokens[3]
            if cost is None:
                c.cost_unknown += 1
            else:
                c.cost += cost
                c.cost_known += 1

    def record_cache_miss(self, provider: str, model: str) -> None:
        """Count one call the response cache could not answer."""
        with self._lock:
            self._counters(provider, model).cache_misses += 1

    def record_failure(self, provider: str, model: str, error_type: str, retries: int) -> None:
        """Count one failed or cancelled call."""
        with self._lock:
            c = self._counters(provider, model)
            c.errors += 1
            c.retries += retries
            c.errors_by_type[error_type] = c.errors_by_type.get(error_type, 0) + 1

    def __call__(self, *, reset: bool = False) -> MetricsSnapshot:
        """A snapshot; with ``reset=True`` the counters start over atomically (for periodic export)."""
        with self._lock:
            by_model = {key: _copy(c) for key, c in self._by_model.items()}
            if reset:
                self._by_model = {}
        total = _Counters()
        providers: dict[str, _Counters] = {}
        for (provider, _), counters in by_model.items():
            total.merge(counters)
            providers.setdefault(provider, _Counters()).merge(counters)
        base = total.stats()
        return MetricsSnapshot(
            **{name: getattr(base, name) for name in Stats.__dataclass_fields__},
            by_provider={name: c.stats() for name, c in sorted(providers.items())},
            by_model={f"{p}/{m}": c.stats() for (p, m), c in sorted(by_model.items())},
        )

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._by_model = {}

    def __repr__(self) -> str:
        s = self()
        return f"<Metrics calls={s.calls} errors={s.errors} models={len(s.by_model)}>"


def _copy(counters: _Counters) -> _Counters:
    out = _Counters()
    out.merge(counters)
    return out


def usage_tokens(usage: Any) -> tuple[int, int, int, int] | None:
    """(input, output, cached, reasoning) from an OpenAI-shaped usage object, or ``None``."""
    if usage is None:
        return None
    try:  # CompletionUsage: plain attribute reads
        prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
        details, out_details = usage.prompt_tokens_details, usage.completion_tokens_details
    except AttributeError:  # embeddings usage has no completion side
        prompt, completion = getattr(usage, "prompt_tokens", 0) or 0, 0
        details = out_details = None
    cached = (details.cached_tokens or 0) if details is not None else 0
    reasoning = (out_details.reasoning_tokens or 0) if out_details is not None else 0
    return prompt, completion, cached, reasoning
