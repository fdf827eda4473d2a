"""Run as a separate process by the shared-state tests: one replica of a client's guard.

``python -m tests.resilience._worker limit URL NAMESPACE ATTEMPTS SKEW``: waits for the key
``<namespace>:go``, then asks the shared limiter ATTEMPTS times as fast as it can and prints how
many were admitted. The process's clocks (``time.time`` and the state's monotonic clock) are
skewed by SKEW seconds.

``python -m tests.resilience._worker trip URL NAMESPACE``: records five failures for one
deployment and prints the wall time right after the last.
"""

from __future__ import annotations

import sys
import time

from llmplex import RateLimitError
from llmplex.resilience.breaker import BreakerConfig
from llmplex.resilience.guard import Deployment, Outcome
from llmplex.resilience.limiter import LimiterConfig
from llmplex.resilience.policy import PolicyGuard
from llmplex.resilience.state.redis_state import RedisState

DEP = Deployment("openai", "gpt-4o", "openai/gpt-4o@shared")


def limit(url: str, namespace: str, attempts: int, skew: float) -> None:
    real_time, real_monotonic = time.time, time.monotonic
    time.time = lambda: real_time() + skew  # type: ignore[assignment]
    state = RedisState(url, namespace=namespace, clock=lambda: real_monotonic() + skew)
    guard = PolicyGuard(state, None, {"openai": LimiterConfig(rpm=100, burst=100, wait=False)})
    for _ in range(100_000):  # wait for the start signal (bounded)
        if state.redis.exists(f"{namespace}:go"):
            break
    admitted = 0
    for _ in range(attempts):
        try:
            guard.admit(DEP)
            admitted += 1
        except RateLimitError:
            pass
    print(admitted, state.stats()["redis_errors"])


def trip(url: str, namespace: str) -> None:
    guard = PolicyGuard(RedisState(url, namespace=namespace), BreakerConfig(open_for=60))
    for _ in range(5):
        guard.admit(DEP)
        guard.record(DEP, Outcome("failure", status=503))
    print(repr(time.time()))


if __name__ == "__main__":
    if sys.argv[1] == "limit":
        limit(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        trip(sys.argv[2], sys.argv[3])
