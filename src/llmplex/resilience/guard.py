"""The seam between the drivers and the stateful policies (circuit breaker, rate limiter, retry
budget, router health): a `Guard` is asked before each attempt and told how it went.

The drivers (``_pipeline.py``) know nothing of breakers or buckets: they call ``admit`` and sleep
for the delay it returns (a rate limiter that waits) or raise what it raises (``CircuitOpenError``,
a limiter that refuses), then ``record`` the outcome. Policies keep their state behind the state
interface (``resilience.state``: in-process memory, or Redis shared by many processes).

`NO_GUARD` admits everything and records nothing: what a call without policies gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["NO_GUARD", "Deployment", "Guard", "Outcome"]


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a model is served: provider, the provider's model id, and a stable id for state
    keys (provider, model and a hash of the credential's identity and base URL — never the key)."""

    provider: str
    model: str
    id: str


OutcomeKind = Literal["success", "failure", "ignored", "cancelled"]
"""``failure`` counts against the deployment (5xx, 408/409/429, connection errors, timeouts);
``ignored`` does not (other 4xx: the caller's fault, RELIABILITY D4); ``cancelled`` is the client
giving up (never counts)."""


@dataclass(slots=True)
class Outcome:
    """How one attempt went, for the policies to learn from."""

    kind: OutcomeKind
    latency: float = 0.0
    """Seconds from sending to the full response (streams: to the first byte)."""
    status: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers (``x-ratelimit-remaining-*``, ``anthropic-ratelimit-*`` feed the limiter)."""
    estimated_tokens: int = 0
    """What was passed to ``admit(estimated_tokens=...)`` for this attempt: the limiter charges
    the difference to the actual usage (``prompt_tokens + completion_tokens``) when that is known."""


class Guard(Protocol):
    """What the drivers ask before and tell after every attempt."""

    def admit(self, deployment: Deployment, *, estimated_tokens: int = 0) -> float:
        """Seconds to wait before sending (0.0: go now). Raises ``CircuitOpenError`` when the
        deployment's circuit is open, ``RateLimitError`` when a limiter refuses without waiting."""
        ...

    def record(self, deployment: Deployment, outcome: Outcome) -> Literal["opened", "closed"] | None:
        """Learn from one finished attempt. Never raises. Returns ``"opened"`` / ``"closed"`` when
        the outcome changed the deployment's circuit (the call reports it as an event)."""
        ...


class _NoGuard:
    __slots__ = ()

    def admit(self, deployment: Deployment, *, estimated_tokens: int = 0) -> float:
        return 0.0

    def record(self, deployment: Deployment, outcome: Outcome) -> Literal["opened", "closed"] | None:
        return None


NO_GUARD: Guard = _NoGuard()
