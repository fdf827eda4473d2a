"""Sessions: events, metrics and cost scoped to one unit of work.

A session is entered with ``with`` (or ``async with``); every call made inside it — in this thread
or task, and in tasks it starts (``contextvars``) — is counted in ``s.metrics()`` and its events go
to the session's subscribers as well as to the process-wide ones. Sessions nest: a call counts in
every enclosing session. When the session ends, its subscriptions are closed (what was queued is
still delivered) and its metrics stay readable. A session's ``budget`` limits what the calls made
inside it may spend (``resilience.spend``); it stops applying when the session ends.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from ._bus import Bus, Subscription
from ._metrics import Metrics
from ._types import Event

if TYPE_CHECKING:
    from ..resilience.spend import Budget

__all__ = ["Session", "active_sessions", "session"]

_ACTIVE: ContextVar[tuple[Session, ...]] = ContextVar("llmplex_sessions", default=())


def active_sessions() -> tuple[Session, ...]:
    """The sessions the current context is in, innermost first."""
    return _ACTIVE.get()


class Session:
    """One unit of work.

    >>> import llmplex
    >>> client = llmplex.Client()
    >>> with client.session("checkout-flow") as s:
    ...     pass  # calls made here are counted in s.metrics()
    >>> s.metrics().calls
    0
    """

    def __init__(self, name: str, *, capacity: int | None = None, budget: Budget | float | None = None) -> None:
        self.name = name
        self.bus = Bus() if capacity is None else Bus(capacity)
        self.metrics = Metrics()
        self.budget: Budget | None = None
        """What the calls inside the session may spend (``budget=``; docs/cost.md#budgets), or ``None``."""
        if budget is not None:
            from ..resilience.spend import as_budget

            self.budget = as_budget(budget, name)
        self._tokens: list[Token[tuple[Session, ...]]] = []

    def subscribe(self, fn: Any, *types: type[Event], capacity: int | None = None) -> Subscription:
        """Like ``llmplex.events.subscribe``, for this session's calls only."""
        return self.bus.subscribe(fn, *types, capacity=capacity)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the session's sync subscribers handled what was queued."""
        return self.bus.flush(timeout)

    async def aflush(self) -> None:
        """Wait until every subscriber of the session handled what was queued."""
        await self.bus.aflush()

    def __enter__(self) -> Session:
        self._tokens.append(_ACTIVE.set((self, *_ACTIVE.get())))
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._tokens.pop())
        self.bus.close()

    async def __aenter__(self) -> Session:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def __repr__(self) -> str:
        return f"<Session {self.name!r}>"


def session(name: str, *, capacity: int | None = None, budget: Budget | float | None = None) -> Session:
    """A new :class:`Session` (``with llmplex.session("name", budget=0.20) as s: ...``)."""
    return Session(name, capacity=capacity, budget=budget)
