"""Deadlines: one overall deadline for a call (every attempt, retry wait and fallback), and the
stream timer (time to the first chunk, idle gap between chunks). Pure: the clock is injected;
the drivers and the transport ask how long they may wait and act on the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .._requests import Timeout
from ..errors import APITimeoutError, DeadlineExceededError, LLMError

__all__ = ["Deadline", "StreamTimer"]

Clock = Callable[[], float]


class Deadline:
    """A point on the monotonic clock by which a whole call must be over (``seconds=None``: never).

    >>> now = [0.0]
    >>> d = Deadline(10.0, clock=lambda: now[0])
    >>> now[0] = 7.5
    >>> d.remaining(), d.allows(3.0), d.cap(Timeout(5.0, 600.0)).read
    (2.5, False, 2.5)
    """

    __slots__ = ("_at", "clock", "seconds")

    def __init__(self, seconds: float | None, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or ``None`` without a deadline."""
        return None if self._at is None else max(self._at - self.clock(), 0.0)

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time to do something."""
        return self._at is None or self.clock() + wait < self._at

    def cap(self, timeout: Timeout) -> Timeout:
        """The attempt's timeouts, none longer than the time left."""
        left = self.remaining()
        if left is None:
            return timeout
        return Timeout(*(left if t is None else min(t, left) for t in
                         (timeout.connect, timeout.read, timeout.first_token, timeout.idle)))

    def exceeded(self, attempts: int, last: LLMError | None) -> DeadlineExceededError:
        """The error to raise when the deadline cut the call short."""
        made = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        why = f"; last error: {last.message}" if last is not None else ""
        return DeadlineExceededError(f"the call's deadline of {self.seconds:g} s passed{made}{why}")


class StreamTimer:
    """How long a stream may wait for its next chunk: ``first_token`` from the request until the
    first chunk, then ``idle`` between chunks, each also capped by ``read`` and the deadline.

    The gap is counted from when the reader starts waiting, so a consumer that is slow between
    chunks does not trip it; bytes that make no chunk (keep-alive comments) do not reset it.
    """

    __slots__ = ("_chunks", "_deadline", "_timeout", "_waiting_since", "clock")

    def __init__(self, timeout: Timeout, deadline: Deadline | None = None, *, started: float | None = None,
                 clock: Clock = time.monotonic) -> None:
        self._timeout = timeout
        self._deadline = deadline
        self.clock = clock
        self._waiting_since: float | None = clock() if started is None else started
        self._chunks = 0

    def chunk(self) -> None:
        """A chunk was produced: the next gap starts when the reader waits again."""
        self._chunks += 1
        self._waiting_since = None

    def _limit(self) -> float | None:
        return self._timeout.first_token if self._chunks == 0 else self._timeout.idle

    def read_limit(self) -> float | None:
        """Seconds the next network read may block (``None``: no limit; ``0``: already late)."""
        now = self.clock()
        if self._waiting_since is None:
            self._waiting_since = now
        limits = [t for t in (self._timeout.read,) if t is not None]
        gap = self._limit()
        if gap is not None:
            limits.append(max(gap - (now - self._waiting_since), 0.0))
        if self._deadline is not None and (left := self._deadline.remaining()) is not None:
            limits.append(left)
        return min(limits) if limits else None

    def explain(self, error: APITimeoutError) -> APITimeoutError:
        """Name the limit that a read timeout hit (first token, idle gap or the deadline)."""
        if self._deadline is not None and self._deadline.remaining() == 0.0:
            return self._deadline.exceeded(0, error)
        gap, since = self._limit(), self._waiting_since
        if gap is not None and since is not None and self.clock() - since >= gap:
            what = ("no first chunk within the first_token timeout" if self._chunks == 0
                    else "no chunk within the idle timeout")
            return APITimeoutError(f"{what} of {gap:g} s; the connection was closed")
        return error
