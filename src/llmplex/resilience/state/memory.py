"""In-process state: dictionaries under one lock, on a monotonic clock."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence

from .. import breaker
from ..breaker import BreakerConfig, BreakerState, Transition
from ..budget import LocalRetryBudget
from ..limiter import Bucket, adjusted, take

__all__ = ["MemoryState"]


class MemoryState:
    """The default state backend: this process only, thread-safe.

    ``clock`` returns seconds on a monotonic scale (``time.monotonic`` by default; tests pass a
    fake). Wall-clock jumps change nothing. Entries exist per key the policies use (a few per
    deployment), so memory stays bounded by the number of deployments.

    >>> state = MemoryState()
    >>> state.take([Bucket("rl:req:x", interval=1.0, burst=2, cost=1)], max_wait=0.0)
    (True, 0.0)
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tats: dict[str, float] = {}
        self._breakers: dict[str, BreakerState] = {}
        self._budgets: dict[tuple[float, float, int], LocalRetryBudget] = {}
        self._lock = threading.Lock()

    # -- retry budget (one in-process LocalRetryBudget per rule) ---------------------------------------
    def _budget(self, ratio: float, window: float, min_concurrent: int) -> LocalRetryBudget:
        rule = (ratio, window, min_concurrent)
        with self._lock:
            found = self._budgets.get(rule)
            if found is None:
                found = self._budgets[rule] = LocalRetryBudget(ratio=ratio, window=window,
                                                               min_concurrent=min_concurrent, clock=self.clock)
            return found

    def budget_request(self, key: str, ratio: float, window: float, min_concurrent: int) -> None:
        self._budget(ratio, window, min_concurrent).request(key)

    def budget_acquire(self, key: str, ratio: float, window: float, min_concurrent: int) -> bool:
        budget = self._budget(ratio, window, min_concurrent)
        return budget.acquire_retry(key)

    def budget_release(self, key: str) -> None:
        with self._lock:
            budgets = list(self._budgets.values())
        for budget in budgets:
            budget.release_retry(key)

    def take(self, buckets: Sequence[Bucket], max_wait: float) -> tuple[bool, float]:
        with self._lock:
            now = self.clock()
            tats = [self._tats.get(b.key, now) for b in buckets]
            admitted, seconds, moved = take(tats, now, buckets, max_wait)
            if admitted:
                for b, tat in zip(buckets, moved, strict=True):
                    self._tats[b.key] = tat
            return admitted, seconds

    def adjust(self, bucket: Bucket, delta: float = 0.0, at_least: float = 0.0) -> None:
        with self._lock:
            now = self.clock()
            tat = self._tats.get(bucket.key, now)
            self._tats[bucket.key] = adjusted(tat, now, delta * bucket.interval, at_least)

    def breaker_admit(self, key: str, cfg: BreakerConfig) -> float | None:
        with self._lock:
            found = self._breakers.get(key)
            if found is None or found.state == "closed":
                return None  # the hot path: one dict lookup
            return breaker.admit(found, self.clock(), cfg)

    def breaker_record(self, key: str, kind: str, cfg: BreakerConfig) -> Transition | None:
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                found = self._breakers[key] = BreakerState()
            return breaker.record(found, kind, self.clock(), cfg)

    def breakers(self, keys: Sequence[str], cfg: BreakerConfig) -> list[BreakerState]:
        with self._lock:
            now = self.clock()
            out = []
            for key in keys:
                copy = dataclasses.replace(self._breakers.get(key) or BreakerState())
                copy.state = breaker.current(copy, now, cfg)
                out.append(copy)
            return out

    def __repr__(self) -> str:
        return f"<MemoryState {len(self._breakers)} breaker(s), {len(self._tats)} bucket(s)>"
