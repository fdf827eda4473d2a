"""The router: a logical model name -> its deployments, in the order to try them.

``router.order("deepseek-chat")`` returns every deployment of the logical model, best first by
the configured strategy, healthy first: deployments whose circuit is open go last (half-open ones
just before), so the pipeline walks the list as a fallback chain and meets an open circuit only
when nothing healthier is left (it then fails fast with ``CircuitOpenError``).

Strategies (pure functions of the deployments' numbers, :func:`rank`):

- ``priority``: the configured order.
- ``round-robin`` (default): smooth weighted round-robin (nginx's): over any run of calls each
  deployment leads in proportion to its ``weight``, evenly interleaved.
- ``least-in-flight``: fewest attempts in flight in this process first (then fewest started).
- ``lowest-latency``: lowest EWMA latency of successful attempts first; deployments never
  measured come first, so each is tried once.
- ``lowest-cost``: lowest price (configured ``input_price + output_price``, else the catalog's)
  first; deployments with no known price follow the priced ones in configured order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..resilience.breaker import BreakerConfig, BreakerStatus
from ..resilience.guard import Deployment
from ..resilience.policy import PolicyGuard
from ..resilience.state import State
from .config import RouterConfig, Strategy, Target
from .health import DeploymentHealth, HealthBoard

__all__ = ["DeploymentStats", "RouteChoice", "Router", "rank"]

_CIRCUIT_RANK = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """One step of the fallback chain: call ``model`` with ``settings`` as per-request settings;
    ``deployment`` is the key the guard (breaker, limiter) knows it by."""

    name: str
    model: str
    settings: Mapping[str, Any]
    deployment: Deployment


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """One deployment as ``router.stats()`` shows it."""

    name: str
    logical_model: str | None
    deployment: str
    circuit: BreakerStatus
    consecutive_failures: int
    in_flight: int
    successes: int
    failures: int
    latency: float | None
    """EWMA of successful attempts' latency in seconds (``None``: none yet)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a strategy ranks by."""

    weight: float
    health: DeploymentHealth
    price: float | None


def rank(strategy: Strategy, candidates: Sequence[Candidate], current: list[float]) -> list[int]:
    """Indexes of ``candidates`` best first. ``current`` holds the round-robin running weights
    (one per candidate, updated in place)."""
    indexes = range(len(candidates))
    if strategy == "round-robin":
        total = 0.0
        for i, c in enumerate(candidates):
            current[i] += c.weight
            total += c.weight
        first = max(indexes, key=lambda i: (current[i], -i))
        current[first] -= total
        rest = sorted((i for i in indexes if i != first), key=lambda i: (-current[i], i))
        return [first, *rest]
    if strategy == "least-in-flight":
        return sorted(indexes, key=lambda i: (candidates[i].health.in_flight, candidates[i].health.started, i))
    if strategy == "lowest-latency":
        return sorted(indexes, key=lambda i: (candidates[i].health.latency or 0.0, i))
    if strategy == "lowest-cost":
        return sorted(indexes, key=lambda i: (candidates[i].price is None, candidates[i].price or 0.0, i))
    return list(indexes)


class Router:
    """Logical model names -> ordered deployments, with per-deployment health.

    Built by the client from the ``router:`` configuration (``client.router``); ``resolve`` turns
    a configured deployment into the :class:`Deployment` the guard keys its state by.
    """

    def __init__(
        self,
        config: RouterConfig,
        state: State,
        health: HealthBoard,
        resolve: Callable[[Target], Deployment],
        price: Callable[[Deployment], float | None] = lambda d: None,
    ) -> None:
        self.config = config
        self.state = state
        self.health = health
        self._resolve = resolve
        self._price = price
        self._deployments: dict[tuple[str, str], Deployment] = {}
        self._current = {name: [0.0] * len(targets) for name, targets in config.models.items()}
        self.guard: PolicyGuard | None = None
        """The client's breaker + limiter sharing this router's state (set by :func:`build`)."""
        self._lock = threading.Lock()

    @property
    def models(self) -> list[str]:
        """The logical model names."""
        return list(self.config.models)

    def __contains__(self, name: object) -> bool:
        return name in self.config.models

    def deployment(self, logical: str, target: Target) -> Deployment:
        """The guard's key for one configured deployment (resolved once)."""
        key = (logical, target.name)
        found = self._deployments.get(key)
        if found is None:
            found = self._deployments[key] = self._resolve(target)
        return found

    def order(self, name: str) -> list[RouteChoice]:
        """Every deployment of logical model ``name``, in the order to try them.

        >>> [c.model for c in client.router.order("deepseek-chat")]  # doctest: +SKIP
        ['deepseek/deepseek-chat', 'openrouter/deepseek/deepseek-chat']
        """
        targets = self.config.models[name]
        deployments = [self.deployment(name, t) for t in targets]
        candidates = [
            Candidate(t.weight, self.health.get(d.id), t.price if t.price is not None else self._price(d))
            for t, d in zip(targets, deployments, strict=True)
        ]
        with self._lock:
            ranked = rank(self.config.strategy, candidates, self._current[name])
        breaker = self.config.breaker
        if breaker is not None:
            circuits = self.state.breakers([f"cb:{d.id}" for d in deployments], breaker)
            ranked.sort(key=lambda i: _CIRCUIT_RANK[circuits[i].state])  # stable: strategy order within a rank
        return [RouteChoice(targets[i].name, targets[i].model, targets[i].settings, deployments[i]) for i in ranked]

    def stats(self) -> list[DeploymentStats]:
        """Every configured deployment (resolved so far) and every other deployment this client
        called, with circuit state, in-flight count, outcome counts and EWMA latency."""
        rows: list[tuple[str, str | None, Deployment]] = []
        rows += [(name, logical, d) for (logical, name), d in list(self._deployments.items())]
        known = {d.id for _, _, d in rows}
        rows += [(f"{d.provider}/{d.model}", None, d) for d in self.health.seen() if d.id not in known]
        breaker = self.config.breaker or BreakerConfig()
        circuits = self.state.breakers([f"cb:{d.id}" for _, _, d in rows], breaker) if rows else []
        out = []
        for (label, group, d), circuit in zip(rows, circuits, strict=True):
            h = self.health.get(d.id)
            out.append(DeploymentStats(
                label, group, d.id, circuit.state, circuit.consecutive, h.in_flight, h.successes, h.failures,
                h.latency,
            ))
        return out

    def __repr__(self) -> str:
        return f"<Router {len(self.config.models)} model(s) strategy={self.config.strategy!r}>"
