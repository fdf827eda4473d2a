"""Routing: logical model names over several deployments, with health and strategies.

>>> client = llmplex.Client(router={"models": {"deepseek-chat": [  # doctest: +SKIP
...     "deepseek/deepseek-chat", "openrouter/deepseek/deepseek-chat"]}})
>>> [c.model for c in client.router.order("deepseek-chat")]  # doctest: +SKIP
['deepseek/deepseek-chat', 'openrouter/deepseek/deepseek-chat']

:func:`build` makes the pieces a client holds: the state backend, the guard (breaker + limiter
per deployment) and the router sharing them.
"""

from __future__ import annotations

from collections.abc import Callable

from ..resilience.guard import Deployment
from ..resilience.policy import PolicyGuard
from ..resilience.state import MemoryState, State
from .config import STRATEGIES, RouterConfig, StateConfig, Strategy, Target, parse_router
from .health import DeploymentHealth, HealthBoard, deployment_for
from .router import DeploymentStats, RouteChoice, Router, rank

__all__ = [
    "STRATEGIES",
    "DeploymentHealth",
    "DeploymentStats",
    "HealthBoard",
    "RouteChoice",
    "Router",
    "RouterConfig",
    "StateConfig",
    "Strategy",
    "Target",
    "build",
    "deployment_for",
    "make_state",
    "parse_router",
    "rank",
]


def make_state(config: StateConfig) -> State:
    """The state backend a configuration names: Redis when it has a ``url``, else memory."""
    if config.url is None:
        return MemoryState()
    from ..resilience.state.redis_state import RedisState

    return RedisState(config.url, namespace=config.namespace, on_error=config.on_error, timeout=config.timeout)


def build(
    config: RouterConfig,
    resolve: Callable[[Target], Deployment],
    *,
    state: State | None = None,
    price: Callable[[Deployment], float | None] = lambda d: None,
) -> tuple[Router, PolicyGuard]:
    """The router and the guard of one client, sharing one state backend and health board."""
    state = state if state is not None else make_state(config.state)
    health = HealthBoard(config.latency_alpha)
    guard = PolicyGuard(state, config.breaker, config.limits, observer=health)

    def resolve_with_limits(target: Target) -> Deployment:
        found = resolve(target)
        limits = target.limits or config.limits.get(target.name)
        if limits is not None:
            guard.set_limits(found.id, limits)
        return found

    router = Router(config, state, health, resolve_with_limits, price)
    router.guard = guard
    return router, guard
