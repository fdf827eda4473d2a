"""The circuit breaker of one deployment, as transitions of plain data (no clock, no I/O).

States and transitions (RELIABILITY.md §"Defaults we adopt", 4)::

    CLOSED --(5 consecutive failures, or >= 50 % failed of >= 20 calls in the window)--> OPEN
    OPEN --(open_for seconds elapsed; next admit)--> HALF_OPEN
    HALF_OPEN --(every probe succeeded)--> CLOSED
    HALF_OPEN --(a probe failed)--> OPEN

Half-open admits at most ``probes`` calls at a time. A probe that neither succeeds nor fails
within ``probe_timeout`` (it hangs) gives its slot to the next caller, so the breaker is never
stuck half-open. Only ``failure`` outcomes count (5xx, 408/409/429, connection errors, timeouts);
``ignored`` (other 4xx: the caller's fault) and ``cancelled`` (the caller gave up) never do.

The failure rate is measured over a sliding window of ``window`` seconds, approximated by two
fixed windows (the previous one weighted by how much of it still overlaps), which needs four
counters whatever the traffic: the same arithmetic runs in Python (:class:`~llmplex.resilience.
state.MemoryState`) and in Lua (:class:`~llmplex.resilience.state.RedisState`).

>>> cfg = BreakerConfig(failures=2, open_for=30.0)
>>> s = BreakerState()
>>> record(s, "failure", 0.0, cfg), record(s, "failure", 1.0, cfg), s.state
(None, 'opened', 'open')
>>> admit(s, 10.0, cfg)   # seconds until a probe may go
21.0
>>> admit(s, 31.0, cfg) is None, s.state   # the probe
(True, 'half_open')
>>> record(s, "success", 32.0, cfg), s.state
('closed', 'closed')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["BreakerConfig", "BreakerState", "BreakerStatus", "Transition", "admit", "current", "record"]

BreakerStatus = Literal["closed", "open", "half_open"]
Transition = Literal["opened", "closed"]
"""What an outcome did to a circuit (``CircuitOpened`` / ``CircuitClosed`` events)."""


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a deployment's circuit opens and how it recovers (defaults: RELIABILITY.md)."""

    failures: int = 5
    """Consecutive failures that open the circuit."""
    failure_rate: float = 0.5
    """Share of failed calls in the window that opens it, once ``min_calls`` calls were seen."""
    min_calls: int = 20
    window: float = 60.0
    """Seconds over which the failure rate is measured."""
    open_for: float = 30.0
    """Seconds an open circuit rejects calls before it lets a probe through."""
    probes: int = 1
    """Calls admitted at once while half-open; all must succeed to close the circuit."""
    probe_timeout: float = 60.0
    """Seconds after which a probe that has not finished counts as lost and its slot is reused."""

    def __post_init__(self) -> None:
        if self.failures < 1 or self.min_calls < 1 or self.probes < 1:
            raise ValueError("breaker failures, min_calls and probes must be >= 1")
        if not 0.0 < self.failure_rate <= 1.0:
            raise ValueError(f"breaker failure_rate must be in (0, 1], got {self.failure_rate}")
        if self.window <= 0 or self.open_for < 0 or self.probe_timeout <= 0:
            raise ValueError("breaker window and probe_timeout must be > 0, open_for >= 0")


@dataclass(slots=True)
class BreakerState:
    """The counters of one breaker. Mutated in place by :func:`admit` and :func:`record`."""

    state: BreakerStatus = "closed"
    consecutive: int = 0
    window_start: float = float("-inf")
    calls: int = 0
    failed: int = 0
    prev_calls: int = 0
    prev_failed: int = 0
    opened_at: float = 0.0
    probes: int = 0
    """Probes in flight (half-open)."""
    probe_deadline: float = 0.0
    successes: int = 0
    """Probes that succeeded since the circuit went half-open."""


def admit(s: BreakerState, now: float, cfg: BreakerConfig) -> float | None:
    """``None`` when a call may go now; else the seconds after which one may (reject it)."""
    if s.state == "closed":
        return None
    if s.state == "open":
        reopen_at = s.opened_at + cfg.open_for
        if now < reopen_at:
            return reopen_at - now
        s.state, s.probes, s.successes = "half_open", 0, 0
    if s.probes < cfg.probes:
        s.probes += 1
        s.probe_deadline = now + cfg.probe_timeout
        return None
    if now >= s.probe_deadline:  # the probes in flight hung: this caller becomes the probe
        s.probes = 1
        s.probe_deadline = now + cfg.probe_timeout
        return None
    return s.probe_deadline - now


def record(s: BreakerState, kind: str, now: float, cfg: BreakerConfig) -> Transition | None:
    """Learn from one finished call (``success``, ``failure``, ``ignored`` or ``cancelled``);
    returns ``"opened"`` or ``"closed"`` when this outcome changed the circuit."""
    if s.state == "open":
        return None  # late answers of calls admitted before the circuit opened
    if s.state == "half_open":
        if kind == "failure":
            _open(s, now)
            return "opened"
        s.probes = max(s.probes - 1, 0)  # every other outcome frees its probe slot
        if kind == "success":
            s.successes += 1
            if s.successes >= cfg.probes:
                _close(s)
                return "closed"
        return None
    if kind not in ("success", "failure"):
        return None
    _roll(s, now, cfg.window)
    s.calls += 1
    if kind == "failure":
        s.failed += 1
        s.consecutive += 1
    else:
        s.consecutive = 0
    if s.consecutive >= cfg.failures or _rate_tripped(s, now, cfg):
        _open(s, now)
        return "opened"
    return None


def current(s: BreakerState, now: float, cfg: BreakerConfig) -> BreakerStatus:
    """The state a caller would meet now (an open circuit past ``open_for`` is half-open)."""
    if s.state == "open" and now >= s.opened_at + cfg.open_for:
        return "half_open"
    return s.state


def _roll(s: BreakerState, now: float, window: float) -> None:
    elapsed = now - s.window_start
    if elapsed < window:
        return
    if elapsed < 2 * window:
        s.prev_calls, s.prev_failed = s.calls, s.failed
        s.window_start += window
    else:
        s.prev_calls = s.prev_failed = 0
        s.window_start = now
    s.calls = s.failed = 0


def _rate_tripped(s: BreakerState, now: float, cfg: BreakerConfig) -> bool:
    weight = max(0.0, 1.0 - (now - s.window_start) / cfg.window)
    calls = s.calls + s.prev_calls * weight
    if calls < cfg.min_calls:
        return False
    return (s.failed + s.prev_failed * weight) >= cfg.failure_rate * calls


def _open(s: BreakerState, now: float) -> None:
    s.state, s.opened_at, s.probes, s.successes = "open", now, 0, 0


def _close(s: BreakerState) -> None:
    s.state = "closed"
    s.consecutive = s.calls = s.failed = s.prev_calls = s.prev_failed = 0
    s.probes = s.successes = 0
    s.window_start = float("-inf")
