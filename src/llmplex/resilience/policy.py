"""`PolicyGuard`: the circuit breaker and the rate limiter of each deployment behind the `Guard`
seam, with their state in a :class:`~llmplex.resilience.state.State` (memory or Redis).

``admit`` asks the breaker first (an open circuit fails fast: ``CircuitOpenError``, no limiter
slot taken), then the limiter (a delay to sleep, or ``RateLimitError``). ``record`` feeds the
breaker, corrects the token charge by the actual usage, lets the provider's rate-limit headers
tighten the buckets, and tells an observer (the router's health board) how the attempt went.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Protocol

from ..errors import CircuitOpenError, RateLimitError
from .breaker import BreakerConfig, Transition
from .guard import Deployment, Outcome
from .limiter import Bucket, LimiterConfig, floor_for, parse_rate_headers
from .state import State

__all__ = ["GuardObserver", "PolicyGuard"]

log = logging.getLogger("llmplex.guard")


class GuardObserver(Protocol):
    """Told when an attempt was admitted and when it finished (the router's health board)."""

    def started(self, deployment: Deployment) -> None: ...

    def finished(self, deployment: Deployment, outcome: Outcome) -> None: ...


class PolicyGuard:
    """Breaker + limiter per deployment.

    ``breaker``: the breaker settings for every deployment (``None``: no breaker). ``limits``:
    rate limits by deployment id, ``"provider/model"`` or ``"provider"`` (first match wins).

    >>> from llmplex.resilience.state import MemoryState
    >>> guard = PolicyGuard(MemoryState(), BreakerConfig(), {"groq": LimiterConfig(rpm=30)})
    >>> guard.admit(Deployment("groq", "llama-3.3-70b-versatile", "groq/llama@1"))
    0.0
    """

    def __init__(
        self,
        state: State,
        breaker: BreakerConfig | None = BreakerConfig(),  # noqa: B008 - frozen, shared safely
        limits: Mapping[str, LimiterConfig] | None = None,
        observer: GuardObserver | None = None,
    ) -> None:
        self.state = state
        self.breaker = breaker
        self.limits = dict(limits or {})
        self.observer = observer
        self._limits_cache: dict[str, LimiterConfig | None] = {}

    def set_limits(self, key: str, limits: LimiterConfig | None) -> None:
        """Set (or with ``None`` remove) the limits for a deployment id, model or provider."""
        if limits is None:
            self.limits.pop(key, None)
        else:
            self.limits[key] = limits
        self._limits_cache.clear()

    def limits_for(self, deployment: Deployment) -> LimiterConfig | None:
        """The rate limits that apply to a deployment, if any."""
        try:
            return self._limits_cache[deployment.id]
        except KeyError:
            pass
        found = None
        for key in (deployment.id, f"{deployment.provider}/{deployment.model}", deployment.provider):
            if key in self.limits:
                found = self.limits[key]
                break
        self._limits_cache[deployment.id] = found
        return found

    def limits_tokens(self, deployment: Deployment) -> bool:
        """Whether a tokens-per-minute limit applies to the deployment (the drivers count the
        prompt only then)."""
        limits = self.limits_for(deployment)
        return limits is not None and limits.tpm is not None

    def admit(self, deployment: Deployment, *, estimated_tokens: int = 0) -> float:
        """Seconds to wait before sending; raises ``CircuitOpenError`` or ``RateLimitError``."""
        if self.breaker is not None:
            retry_after = self.state.breaker_admit(f"cb:{deployment.id}", self.breaker)
            if retry_after is not None:
                raise CircuitOpenError(
                    f"circuit open for {deployment.provider}/{deployment.model} after repeated failures; "
                    f"next probe in {retry_after:.1f}s",
                    provider=deployment.provider, model=deployment.model, code="circuit_open",
                    retry_after=retry_after, should_retry=False,
                )
        delay = 0.0
        limits = self.limits_for(deployment)
        if limits is not None:
            buckets = _buckets(limits, deployment, estimated_tokens)
            max_wait = limits.max_wait if limits.wait else 0.0
            admitted, delay = self.state.take(buckets, max_wait) if buckets else (True, 0.0)
            if not admitted:
                if self.breaker is not None:  # give back a half-open probe slot
                    self.state.breaker_record(f"cb:{deployment.id}", "cancelled", self.breaker)
                raise RateLimitError(
                    f"client-side rate limit for {deployment.provider}/{deployment.model}: "
                    f"next slot in {delay:.2f}s",
                    provider=deployment.provider, model=deployment.model, code="client_rate_limit",
                    retry_after=delay, should_retry=False,
                )
        if self.observer is not None:
            self.observer.started(deployment)
        return delay

    def record(self, deployment: Deployment, outcome: Outcome) -> Transition | None:
        """Learn from one attempt; never raises (a failing state backend is logged). Returns
        ``"opened"`` / ``"closed"`` when the outcome changed the deployment's circuit."""
        changed = None
        try:
            if self.breaker is not None:
                changed = self.state.breaker_record(f"cb:{deployment.id}", outcome.kind, self.breaker)
            limits = self.limits_for(deployment)
            if limits is not None:
                self._learn(limits, deployment, outcome)
        except Exception:  # the seam promises never to raise from record
            log.warning("could not record the outcome for %s", deployment.id, exc_info=True)
        finally:
            if self.observer is not None:
                self.observer.finished(deployment, outcome)
        return changed

    def _learn(self, limits: LimiterConfig, deployment: Deployment, outcome: Outcome) -> None:
        hint = parse_rate_headers(outcome.headers, time.time()) if outcome.headers else None
        requests = limits.request_bucket(f"rl:req:{deployment.id}")
        if requests is not None and hint:
            at_least = floor_for(requests, hint.requests_remaining, hint.requests_reset)
            if at_least > 0:
                self.state.adjust(requests, 0.0, at_least)
        tokens = limits.token_bucket(f"rl:tok:{deployment.id}", 0)
        if tokens is None:
            return
        delta = 0.0
        if outcome.prompt_tokens is not None:
            delta = outcome.prompt_tokens + (outcome.completion_tokens or 0) - outcome.estimated_tokens
        at_least = floor_for(tokens, hint.tokens_remaining, hint.tokens_reset) if hint else 0.0
        if delta or at_least > 0:
            self.state.adjust(tokens, delta, at_least)

    def __repr__(self) -> str:
        return f"<PolicyGuard state={self.state!r} breaker={self.breaker is not None} limits={len(self.limits)}>"


def _buckets(limits: LimiterConfig, deployment: Deployment, tokens: int) -> list[Bucket]:
    found = [
        limits.request_bucket(f"rl:req:{deployment.id}"),
        limits.token_bucket(f"rl:tok:{deployment.id}", tokens) if tokens > 0 else None,
    ]
    return [b for b in found if b is not None]
