"""What this process has seen of each deployment: in flight, outcomes, latency (EWMA).

The board is the :class:`~llmplex.resilience.policy.GuardObserver` of a client's guard: every
admitted attempt starts here and every recorded one finishes here. It is per process on purpose:
in-flight counts of a process that died would never come down in shared state, and latencies are
what this process measures from where it runs. Breaker states, which must agree across processes,
live in the client's :class:`~llmplex.resilience.state.State`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from dataclasses import dataclass

from .._types import Secret
from ..resilience.guard import Deployment, Outcome

__all__ = ["DeploymentHealth", "HealthBoard", "deployment_for"]


def deployment_for(provider: str, model: str, base_url: str, api_key: Secret | None) -> Deployment:
    """The deployment a call goes to. Its id names provider and model and ends in a hash of the
    base URL and of the key's hash, so two keys or regions of one model are two deployments and
    the key itself never appears in a state key, a log or ``stats()``.

    >>> deployment_for("groq", "llama-3.3-70b-versatile", "https://api.groq.com/openai/v1", None).id
    'groq/llama-3.3-70b-versatile@4851d7f37a'
    """
    return _deployment(provider, model, base_url, api_key.reveal() if api_key else "")


@functools.lru_cache(maxsize=1024)
def _deployment(provider: str, model: str, base_url: str, key: str) -> Deployment:
    """Cached: built for every call (and every fallback of it), the same few values each time."""
    secret = hashlib.sha256(key.encode()).hexdigest() if key else ""
    digest = hashlib.sha256(f"{base_url}\0{secret}".encode()).hexdigest()[:10]
    return Deployment(provider, model, f"{provider}/{model}@{digest}")


@dataclass(slots=True)
class DeploymentHealth:
    """Counters of one deployment in this process."""

    in_flight: int = 0
    started: int = 0
    successes: int = 0
    failures: int = 0
    latency: float | None = None
    """Exponentially weighted moving average of successful attempts' latency, seconds."""


class HealthBoard:
    """Per-deployment health, fed by the guard; ``alpha`` weighs the newest latency."""

    def __init__(self, alpha: float = 0.2) -> None:
        self.alpha = alpha
        self._health: dict[str, DeploymentHealth] = {}
        self._deployments: dict[str, Deployment] = {}
        self._lock = threading.Lock()

    def started(self, deployment: Deployment) -> None:
        with self._lock:
            health = self._health.get(deployment.id)
            if health is None:
                health = self._health[deployment.id] = DeploymentHealth()
                self._deployments[deployment.id] = deployment
            health.in_flight += 1
            health.started += 1

    def finished(self, deployment: Deployment, outcome: Outcome) -> None:
        with self._lock:
            health = self._health.get(deployment.id)
            if health is None:
                return
            health.in_flight = max(health.in_flight - 1, 0)
            if outcome.kind == "success":
                health.successes += 1
                previous = health.latency
                value = outcome.latency
                health.latency = value if previous is None else previous + self.alpha * (value - previous)
            elif outcome.kind == "failure":
                health.failures += 1

    def get(self, deployment_id: str) -> DeploymentHealth:
        """A copy of one deployment's counters (zeros when never used)."""
        with self._lock:
            found = self._health.get(deployment_id)
            return dataclasses.replace(found) if found is not None else DeploymentHealth()

    def seen(self) -> list[Deployment]:
        """Every deployment an attempt went to, in first-use order."""
        with self._lock:
            return list(self._deployments.values())
