"""The retry budget (Envoy's shape, RELIABILITY §3 and A10): per deployment, retries may add at
most ``ratio`` of the first attempts seen over the last ``window`` seconds, except that up to
``min_concurrent`` retries may always be under way (waiting or sending) — so a lone caller keeps
its retries and an outage does not multiply the load on a provider.

Pure policy with an injected clock. The counts live in the process (`LocalRetryBudget`); the
`RetryBudget` protocol is the seam a shared backend (Redis) can implement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["LocalRetryBudget", "RetryBudget"]


class RetryBudget(Protocol):
    """What the drivers tell and ask about retries, per deployment id."""

    def request(self, key: str) -> None:
        """A first attempt went out to the deployment."""
        ...

    def acquire_retry(self, key: str) -> bool:
        """May a retry be made now? ``True`` counts it (release it with `release_retry`)."""
        ...

    def release_retry(self, key: str) -> None:
        """A retry granted by `acquire_retry` is over (answered, failed or cancelled)."""
        ...


class _Window:
    """Counts of first attempts and retries in one-second buckets over the window."""

    __slots__ = ("buckets", "in_flight")

    def __init__(self) -> None:
        self.buckets: dict[int, list[int]] = {}
        self.in_flight = 0

    def add(self, second: int, slot: int, oldest: int) -> None:
        bucket = self.buckets.get(second)
        if bucket is None:
            for old in [s for s in self.buckets if s < oldest]:
                del self.buckets[old]
            bucket = self.buckets[second] = [0, 0]
        bucket[slot] += 1

    def totals(self, oldest: int) -> tuple[int, int]:
        requests = retries = 0
        for second, (req, ret) in self.buckets.items():
            if second >= oldest:
                requests += req
                retries += ret
        return requests, retries


class LocalRetryBudget:
    """An in-process `RetryBudget`: 20 % over 10 s with 3 concurrent retries always allowed.

    >>> now = [0.0]
    >>> budget = LocalRetryBudget(ratio=0.2, window=10, min_concurrent=0, clock=lambda: now[0])
    >>> for _ in range(10):
    ...     budget.request("openai/gpt-4o")
    >>> [budget.acquire_retry("openai/gpt-4o") for _ in range(3)]
    [True, True, False]
    """

    def __init__(self, *, ratio: float = 0.2, window: float = 10.0, min_concurrent: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ratio < 0 or window <= 0 or min_concurrent < 0:
            raise ValueError("ratio and min_concurrent must be >= 0 and window > 0")
        self.ratio = ratio
        self.window = window
        self.min_concurrent = min_concurrent
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _now(self) -> tuple[int, int]:
        second = int(self.clock())
        return second, second - int(self.window) + 1

    def _window(self, key: str) -> _Window:
        found = self._windows.get(key)
        if found is None:
            found = self._windows[key] = _Window()
        return found

    def request(self, key: str) -> None:
        """A first attempt went out to the deployment."""
        second, oldest = self._now()
        with self._lock:
            self._window(key).add(second, 0, oldest)

    def acquire_retry(self, key: str) -> bool:
        """Grant a retry when fewer than ``min_concurrent`` are under way, or when the window's
        retries stay within ``ratio`` of its first attempts."""
        second, oldest = self._now()
        with self._lock:
            window = self._window(key)
            if window.in_flight >= self.min_concurrent:
                requests, retries = window.totals(oldest)
                if retries + 1 > self.ratio * requests:
                    return False
            window.in_flight += 1
            window.add(second, 1, oldest)
            return True

    def release_retry(self, key: str) -> None:
        """A granted retry is over."""
        with self._lock:
            window = self._windows.get(key)
            if window is not None and window.in_flight > 0:
                window.in_flight -= 1

    def stats(self, key: str) -> tuple[int, int, int]:
        """(first attempts, retries) in the current window and retries under way, for one deployment."""
        _, oldest = self._now()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                return 0, 0, 0
            return (*window.totals(oldest), window.in_flight)


class BudgetState(Protocol):
    """The three atomic operations a shared retry budget needs (``MemoryState``, ``RedisState``)."""

    def budget_request(self, key: str, ratio: float, window: float, min_concurrent: int) -> None: ...
    def budget_acquire(self, key: str, ratio: float, window: float, min_concurrent: int) -> bool: ...
    def budget_release(self, key: str) -> None: ...


class SharedRetryBudget:
    """A `RetryBudget` kept in a state backend, so every process using the same Redis shares one
    budget per deployment (an outage seen by many replicas is not multiplied by their number).
    Same rule and defaults as :class:`LocalRetryBudget`; while Redis is unreachable the state
    decides from its in-process copy."""

    def __init__(self, state: BudgetState, *, ratio: float = 0.2, window: float = 10.0,
                 min_concurrent: int = 3) -> None:
        if ratio < 0 or window <= 0 or min_concurrent < 0:
            raise ValueError("ratio and min_concurrent must be >= 0 and window > 0")
        self.state = state
        self.ratio = ratio
        self.window = window
        self.min_concurrent = min_concurrent

    def request(self, key: str) -> None:
        self.state.budget_request("budget:" + key, self.ratio, self.window, self.min_concurrent)

    def acquire_retry(self, key: str) -> bool:
        return self.state.budget_acquire("budget:" + key, self.ratio, self.window, self.min_concurrent)

    def release_retry(self, key: str) -> None:
        self.state.budget_release("budget:" + key)
