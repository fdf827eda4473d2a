"""The ``router:`` section of ``llmplex.yaml`` (or ``Client(router={...})``), checked and typed.

::

    router:
      strategy: round-robin       # priority | round-robin | least-in-flight | lowest-latency | lowest-cost
      breaker: {failures: 5, failure_rate: 0.5, min_calls: 20, window: 60, open_for: 30,
                probes: 1, probe_timeout: 60}            # or: breaker: false
      limits:                     # by "provider", "provider/model" or a deployment name
        groq: {rpm: 30, tpm: 6000}
        openai/gpt-4o: {rpm: 500, wait: false}
      state: {url: "redis://127.0.0.1:6379/0", namespace: llmplex, on_error: local, timeout: 0.1}
      models:
        deepseek-chat:            # a logical model name
          - {model: deepseek/deepseek-chat, weight: 2}
          - {model: openrouter/deepseek/deepseek-chat, rpm: 60, input_price: 0.27, output_price: 1.1}
          - {model: together/deepseek-ai/DeepSeek-V3, api_key: "...", name: together-v3}

A deployment entry takes ``model`` (``provider/model``), optional ``name``, ``weight``, limits
(``rpm``, ``tpm``, ``burst``, ``token_burst``, ``wait``, ``max_wait``), prices in USD per million
tokens (``input_price``, ``output_price``) and any per-request setting (``api_key``, ``base_url``,
``timeout``, ``extra_headers`` …, or a provider option such as ``api_version``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ConfigurationError
from ..resilience.breaker import BreakerConfig
from ..resilience.limiter import LimiterConfig

__all__ = ["STRATEGIES", "RouterConfig", "StateConfig", "Strategy", "Target", "parse_router"]

Strategy = Literal["priority", "round-robin", "least-in-flight", "lowest-latency", "lowest-cost"]
STRATEGIES: tuple[Strategy, ...] = ("priority", "round-robin", "least-in-flight", "lowest-latency", "lowest-cost")

_LIMIT_KEYS = frozenset(f.name for f in dataclasses.fields(LimiterConfig))
_TARGET_KEYS = frozenset({"model", "name", "weight", "input_price", "output_price"})


@dataclass(frozen=True, slots=True)
class Target:
    """One deployment of a logical model, as configured."""

    model: str
    """``provider/model`` as any call would name it."""
    name: str = ""
    """Shown in ``router.stats()``; defaults to ``model`` (``model#2`` … for repeats)."""
    weight: float = 1.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Per-request settings for this deployment (``api_key``, ``base_url``, ``timeout`` …)."""
    limits: LimiterConfig | None = None
    price: float | None = None
    """USD per million tokens, input + output (``None``: ask the catalog)."""


@dataclass(frozen=True, slots=True)
class StateConfig:
    """Where breaker and limiter state lives: in the process (no ``url``) or in Redis."""

    url: str | None = None
    namespace: str = "llmplex"
    on_error: Literal["local", "open", "closed"] = "local"
    timeout: float = 0.1


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """The checked ``router:`` section."""

    strategy: Strategy = "round-robin"
    models: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
    breaker: BreakerConfig | None = BreakerConfig()  # noqa: RUF009 - frozen, shared safely
    limits: Mapping[str, LimiterConfig] = field(default_factory=dict)
    state: StateConfig = StateConfig()
    latency_alpha: float = 0.2


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _build(cls: Any, data: Mapping[str, Any], where: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _target(entry: Any, where: str, setting_keys: frozenset[str]) -> Target:
    if isinstance(entry, str):
        entry = {"model": entry}
    data = dict(_mapping(entry, where))
    model = data.pop("model", None)
    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"{where} needs model: provider/model")
    limits = {k: data.pop(k) for k in list(data) if k in _LIMIT_KEYS}
    prices = [data.pop(k, None) for k in ("input_price", "output_price")]
    name = str(data.pop("name", "") or "")
    weight = data.pop("weight", 1)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
        raise ConfigurationError(f"{where}: weight must be a number > 0, got {weight!r}")
    from ..config import normalise_setting

    unknown = sorted(set(data) - setting_keys)
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    settings = {k: normalise_setting(k, v, where) for k, v in data.items()}
    price = None if prices[0] is None else float(prices[0]) + float(prices[1] or 0.0)
    return Target(model, name, float(weight), settings, _build(LimiterConfig, limits, where) if limits else None, price)


def parse_router(data: Any, where: str, setting_keys: frozenset[str]) -> RouterConfig:
    """Check a ``router:`` mapping; ``setting_keys`` are the per-request settings a deployment may
    override. Errors name ``where`` (the file or ``Client(...)``) and the offending key."""
    if isinstance(data, RouterConfig):
        return data
    data = dict(_mapping(data, f"{where}: router"))
    strategy = data.pop("strategy", "round-robin")
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"{where}: router.strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    models: dict[str, tuple[Target, ...]] = {}
    for logical, entries in _mapping(data.pop("models", {}), f"{where}: router.models").items():
        if not isinstance(entries, (list, tuple)) or not entries:
            raise ConfigurationError(f"{where}: router.models.{logical} must be a non-empty list of deployments")
        targets = [_target(e, f"{where}: router.models.{logical}[{i}]", setting_keys) for i, e in enumerate(entries)]
        models[str(logical)] = _named(targets)
    breaker_data = data.pop("breaker", {})
    at = f"{where}: router.breaker"
    breaker = None if breaker_data is False else _build(BreakerConfig, _mapping(breaker_data, at), at)
    limits = {
        str(k): _build(LimiterConfig, _mapping(v, f"{where}: router.limits.{k}"), f"{where}: router.limits.{k}")
        for k, v in _mapping(data.pop("limits", {}), f"{where}: router.limits").items()
    }
    state = _build(StateConfig, _mapping(data.pop("state", {}), f"{where}: router.state"), f"{where}: router.state")
    if state.on_error not in ("local", "open", "closed"):
        raise ConfigurationError(f"{where}: router.state.on_error must be local, open or closed")
    alpha = data.pop("latency_alpha", 0.2)
    if data:
        raise ConfigurationError(
            f"{where}: router: unknown setting(s) {', '.join(sorted(data))}; "
            f"known: strategy, models, breaker, limits, state, latency_alpha"
        )
    return RouterConfig(strategy, models, breaker, limits, state, float(alpha))


def _named(targets: list[Target]) -> tuple[Target, ...]:
    seen: dict[str, int] = {}
    out = []
    for t in targets:
        base = t.name or t.model
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}#{seen[base]}"
        out.append(dataclasses.replace(t, name=name))
    return tuple(out)
