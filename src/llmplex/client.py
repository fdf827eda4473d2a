"""``Client`` and ``AsyncClient``: configuration, one connection pool, resource namespaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._calls import CallFactory
from ._types import NOT_GIVEN, NotGiven
from .config import ConfigLayers, SettingSource, Values, config, flatten, provider_keys
from .errors import ConfigurationError
from .events import Metrics, Session
from .registry import Registry, builtin_specs
from .resilience.budget import LocalRetryBudget, RetryBudget, SharedRetryBudget
from .resilience.guard import NO_GUARD, Guard
from .resilience.spend import Budget, as_budget
from .resources.chat import AsyncChat, Chat
from .resources.completions import AsyncCompletions, Completions
from .resources.embeddings import AsyncEmbeddings, Embeddings
from .transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from .cache import CacheBackend, CachePolicy, CacheSettings
    from .resilience.state import State
    from .routing import Router, RouterConfig

__all__ = ["AsyncClient", "Client"]


def _cache_setting(cache: Any, ttl: float | None) -> dict[str, Any]:
    """The ``cache`` setting from ``Client(cache=..., cache_ttl=...)`` (empty when not given)."""
    if cache is None:
        if ttl is not None:
            raise ConfigurationError("cache_ttl= needs cache=... (\"memory\", a SQLite file path or a redis:// URL)")
        return {}
    if ttl is None:
        return {"cache": cache}
    if isinstance(cache, Mapping):
        return {"cache": {**cache, "ttl": ttl}}
    return {"cache": {"backend": cache, "ttl": ttl}}


def _cache_policy(settings: CacheSettings | None, threaded: bool) -> CachePolicy | None:
    if settings is None:
        return None
    from .cache import CachePolicy

    return CachePolicy(settings, threaded=threaded)


class _BaseClient:
    _event_loop_io = False
    """Whether calls run on an event loop (the async client): blocking cache I/O then goes to a thread."""

    def __init__(
        self,
        *,
        provider: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | tuple[float, float] | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        fallbacks: Sequence[str] | NotGiven = NOT_GIVEN,
        context_check: bool | NotGiven = NOT_GIVEN,
        guard: Guard = NO_GUARD,
        retry_budget: RetryBudget | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        router: Mapping[str, Any] | RouterConfig | None = None,
        state: State | None = None,
        catalog: Mapping[str, Mapping[str, Any]] | None = None,
        cache: Any = None,
        cache_ttl: float | None = None,
        budget: Budget | float | None = None,
    ) -> None:
        specs = builtin_specs()
        if (api_key is not None or base_url is not None) and provider is None:
            raise ConfigurationError(
                "api_key= and base_url= on the client belong to one provider: also pass provider= "
                "(e.g. Client(provider='openai_compatible', base_url=...)), or use providers={...}"
            )
        given = {"timeout": timeout, "max_retries": max_retries, "deadline": deadline, "fallbacks": fallbacks,
                 "context_check": context_check}
        data: dict[str, Any] = {k: v for k, v in given.items() if not isinstance(v, NotGiven)}
        if default_headers:
            data["extra_headers"] = dict(default_headers)
        per_provider = {name: dict(values) for name, values in (providers or {}).items()}
        if provider is not None:
            own = per_provider.setdefault(provider, {})
            if api_key is not None:
                own["api_key"] = api_key
            if base_url is not None:
                own["base_url"] = base_url
        if per_provider:
            data["providers"] = per_provider
        if router is not None:
            data["router"] = router
        if catalog is not None:
            data["catalog"] = catalog
        data.update(_cache_setting(cache, cache_ttl))
        constructor: Values = flatten(data, "Client(...)", lambda p: provider_keys(specs.get(p)))
        self._layers = ConfigLayers(
            specs, constructor, config, env=env,
            config_file=Path(config_file) if config_file is not None else None,
        )
        registry = Registry(aliases=self._layers.aliases())
        if provider is not None:
            registry.spec(provider)  # unknown provider: fail now, naming the known ones
        retries = LocalRetryBudget() if isinstance(retry_budget, NotGiven) else retry_budget
        self.metrics = Metrics()
        """This client's calls: ``client.metrics()`` is a snapshot (counts, errors by type, tokens, cost,
        latency and time-to-first-token percentiles, per provider and model); ``client.metrics.reset()``."""
        self._calls = CallFactory(registry, self._layers, provider, guard, retries, self.metrics)
        self.budget: Budget | None = as_budget(budget, "client")
        """The spend limit of this client's calls (``budget=``): ``client.budget.spent``, ``.remaining``,
        ``.reset()``; ``None`` when none was given. See docs/cost.md#budgets."""
        self._calls.spend_budget = self.budget
        from .catalog import model_price
        from .routing import build

        # Redis (when configured) is not contacted here: redis-py connects on the first command.
        self._router, policy_guard = build(
            self._layers.router(), self._calls.resolve_target, state=state,
            price=lambda d: model_price(d.provider, d.model),
        )
        if guard is NO_GUARD:  # a guard given explicitly wins over the router's breaker + limiter
            self._calls.guard = policy_guard
        self._calls.router = self._router
        self._calls.cache = _cache_policy(self._layers.cache(), threaded=self._event_loop_io)
        shared = getattr(policy_guard, "state", None)
        if isinstance(retry_budget, NotGiven) and shared is not None and hasattr(shared, "redis"):
            self._calls.budget = SharedRetryBudget(shared)  # Redis: one budget for every process

    @property
    def router(self) -> Router:
        """Logical models, their deployments and health: ``client.router.order(name)``,
        ``client.router.stats()`` (from the ``router:`` configuration, or ``router=``)."""
        return self._router

    @property
    def cache(self) -> CacheBackend | None:
        """The response cache's backend (``cache.stats``, ``cache.clear()``), or ``None`` when the
        client has no cache (see docs/caching.md)."""
        policy = self._calls.cache
        return policy.backend if policy is not None else None

    def session(self, name: str, *, capacity: int | None = None, budget: Budget | float | None = None) -> Session:
        """A unit of work: ``with client.session("checkout-flow") as s:`` (or ``async with``) counts
        the calls made inside it in ``s.metrics()`` and sends their events to ``s.subscribe(...)``
        subscribers too (see docs/observability.md). ``budget`` (USD or a :class:`~llmplex.Budget`)
        limits what the calls inside it may spend, on top of the client's budget (docs/cost.md)."""
        return Session(name, capacity=capacity, budget=budget)

    def describe_settings(self, provider: str) -> list[SettingSource]:
        """Every effective setting for ``provider`` and the layer it came from (keys redacted).

        >>> for row in llmplex.Client().describe_settings("openai"):  # doctest: +SKIP
        ...     print(row)
        """
        spec = self._calls.registry.spec(provider)
        return self._layers.describe(provider, spec)

    def catalog_overrides(self) -> dict[str, dict[str, Any]]:
        """This client's configured catalog entries (``catalog:`` of every layer), to pass as
        ``overrides=`` to ``llmplex.catalog.model_info`` / ``cost_of``.

        >>> llmplex.catalog.cost_of("openai", "gpt-4o", usage, overrides=client.catalog_overrides())  # doctest: +SKIP
        """
        return {provider: dict(models) for provider, models in self._layers.catalog().items()}  # a copy

    def __repr__(self) -> str:
        default = self._calls.default_provider
        return f"<{type(self).__name__} default_provider={default!r}>"


class Client(_BaseClient):
    """Synchronous client for every provider.

    >>> import llmplex
    >>> client = llmplex.Client()  # keys from the environment / llmplex.yaml
    >>> r = client.chat.completions.create(  # doctest: +SKIP
    ...     model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])

    Keyword arguments: ``provider`` (the default for bare model names, and the provider
    ``api_key`` / ``base_url`` belong to), ``timeout`` (seconds, ``(connect, read)`` or
    :class:`~llmplex.Timeout` with stream ``first_token`` / ``idle``), ``max_retries``,
    ``deadline`` (seconds for a whole call, retries and fallbacks included), ``fallbacks``
    (models tried in order when a call fails), ``retry_budget`` (default: 20 % of recent traffic per
    deployment, at least 3 concurrent retries; ``None``: off), ``default_headers``, ``providers``
    (``{"groq": {"api_key": ...}, ...}``), ``config_file``, ``max_keepalive``, ``router`` (logical
    models, strategy, circuit breaker, rate limits: the ``router:`` section of llmplex.yaml),
    ``state`` (a ``MemoryState`` or ``RedisState`` to keep breaker and limiter state in, instead of
    the one ``router.state`` names), ``guard`` (replaces the router's breaker + limiter: asked
    before every attempt), ``cache`` (the response cache: ``"memory"``, a SQLite file path, a
    ``redis://`` URL, a backend, or ``{"backend": ..., "ttl": ..., "by_default": False}``),
    ``cache_ttl`` (seconds an entry lives; see docs/caching.md) and ``budget`` (a spend limit in
    USD, or a :class:`~llmplex.Budget`: a call that would exceed it raises ``BudgetExceededError``
    before it is sent; docs/cost.md#budgets).
    """

    def __init__(self, *, max_keepalive: int = 20, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._transport = SyncTransport(max_keepalive=max_keepalive)

    @cached_property
    def chat(self) -> Chat:
        """``client.chat.completions.create(...)``."""
        return Chat(self)

    @cached_property
    def completions(self) -> Completions:
        """``client.completions.create(...)`` (legacy text completions)."""
        return Completions(self)

    @cached_property
    def embeddings(self) -> Embeddings:
        """``client.embeddings.create(...)``."""
        return Embeddings(self)

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_BaseClient):
    """Asynchronous client for every provider; the same arguments as :class:`Client`.

    >>> async with llmplex.AsyncClient() as client:  # doctest: +SKIP
    ...     r = await client.chat.completions.create(model="groq/llama-3.3-70b-versatile", messages=m)
    """

    _event_loop_io = True

    def __init__(self, *, max_connections: int = 100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._transport = AsyncTransport(max_connections=max_connections)

    @cached_property
    def chat(self) -> AsyncChat:
        """``await client.chat.completions.create(...)``."""
        return AsyncChat(self)

    @cached_property
    def completions(self) -> AsyncCompletions:
        """``await client.completions.create(...)`` (legacy text completions)."""
        return AsyncCompletions(self)

    @cached_property
    def embeddings(self) -> AsyncEmbeddings:
        """``await client.embeddings.create(...)``."""
        return AsyncEmbeddings(self)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
