"""Where the stateful policies keep their state: the few atomic operations they need.

Two backends implement :class:`State`:

- :class:`MemoryState` (the default): in this process, thread-safe, on a monotonic clock that
  tests can replace.
- :class:`RedisState` (``pip install llmplex[redis]``): shared by every process that names the
  same Redis and namespace; each operation is one Lua script timed by Redis's ``TIME``, so the
  processes' own clocks do not matter. When Redis is unreachable it decides from in-process state
  (or admits / refuses rate-limited calls outright, as configured) and tries Redis again a second
  later.

Keys are chosen by the policies (``cb:<deployment id>``, ``rl:req:<id>``, ``rl:tok:<id>``);
backends add their namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..breaker import BreakerConfig, BreakerState, Transition
from ..limiter import Bucket
from .memory import MemoryState

if TYPE_CHECKING:
    from .redis_state import RedisState

__all__ = ["MemoryState", "RedisState", "State"]


class State(Protocol):
    """The atomic operations behind the breaker, the limiter and the retry budget."""

    def take(self, buckets: Sequence[Bucket], max_wait: float) -> tuple[bool, float]:
        """Admit one request against every bucket at once (all or nothing): ``(True, wait)`` with
        the slot reserved ``wait`` seconds from now (``wait <= max_wait``), or ``(False,
        retry_after)`` with nothing charged."""
        ...

    def adjust(self, bucket: Bucket, delta: float = 0.0, at_least: float = 0.0) -> None:
        """Charge ``delta`` more units to a bucket (refund when negative), and make sure its
        next free slot is at least ``at_least`` seconds away (a provider said so)."""
        ...

    def breaker_admit(self, key: str, cfg: BreakerConfig) -> float | None:
        """``None`` to let a call through; else seconds until the circuit lets one through."""
        ...

    def breaker_record(self, key: str, kind: str, cfg: BreakerConfig) -> Transition | None:
        """Count one outcome (``success``/``failure``/``ignored``/``cancelled``); returns
        ``"opened"`` / ``"closed"`` when it changed the circuit."""
        ...

    def budget_request(self, key: str, ratio: float, window: float, min_concurrent: int) -> None:
        """Count a first attempt in the retry budget's window (``resilience.budget.SharedRetryBudget``)."""
        ...

    def budget_acquire(self, key: str, ratio: float, window: float, min_concurrent: int) -> bool:
        """Grant a retry when fewer than ``min_concurrent`` are under way or the window's retries
        stay within ``ratio`` of its first attempts (counting it when granted)."""
        ...

    def budget_release(self, key: str) -> None:
        """A granted retry is over."""
        ...

    def breakers(self, keys: Sequence[str], cfg: BreakerConfig) -> list[BreakerState]:
        """Copies of breakers' counters, each ``state`` as a caller would meet it now."""
        ...


def __getattr__(name: str) -> Any:
    if name == "RedisState":
        from .redis_state import RedisState

        return RedisState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
