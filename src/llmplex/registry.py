"""Model names to routes: ``"provider/model"`` -> (provider row, the provider's model id).

The first segment names the provider when it is a known provider or a configured alias; the rest
is the provider's model id, slashes included (``openrouter/anthropic/claude-3.5-sonnet``). A bare
name goes to the default provider when one is configured, else to the provider the catalog
knows it by (``gpt-4o`` -> openai). Adapters are imported on first use;
third-party providers register a ``ProviderSpec`` (or a list of them) under the
``llmplex.providers`` entry-point group.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .providers.base import Adapter, ProviderSpec

__all__ = ["Registry", "Route", "builtin_specs"]

_ENTRY_POINT_GROUP = "llmplex.providers"


@dataclass(frozen=True, slots=True)
class Route:
    """Where one call goes. ``provider`` is the name settings are looked up under (an alias keeps
    its own name); ``spec`` is the provider row; ``model`` the provider's model id."""

    provider: str
    spec: ProviderSpec
    model: str


def builtin_specs() -> dict[str, ProviderSpec]:
    """Every provider row shipped with llmplex."""
    from .providers.compatible import COMPATIBLE_PROVIDERS
    from .providers.mock import MOCK_SPEC
    from .providers.native import NATIVE_PROVIDERS

    return {spec.name: spec for spec in (*COMPATIBLE_PROVIDERS, *NATIVE_PROVIDERS, MOCK_SPEC)}


class Registry:
    """Provider rows, aliases and adapter instances of one client."""

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self._specs = builtin_specs()
        self._aliases = dict(aliases or {})
        self._adapters: dict[str, Adapter] = {}
        self._plugins_loaded = False
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str | None], Route] = {}

    @property
    def names(self) -> list[str]:
        """Known provider names and aliases, sorted."""
        return sorted({*self._specs, *self._aliases})

    def add(self, spec: ProviderSpec) -> None:
        """Register (or replace) a provider row."""
        self._specs[spec.name] = spec
        self._routes.clear()

    def spec(self, provider: str) -> ProviderSpec:
        """The row of a provider or alias; ``ConfigurationError`` if unknown."""
        found = self._lookup(provider)
        if found is None:
            raise self._unknown(provider)
        return found

    def _lookup(self, provider: str) -> ProviderSpec | None:
        name = self._aliases.get(provider, provider)
        spec = self._specs.get(name)
        if spec is None and not self._plugins_loaded:
            self._load_plugins()
            spec = self._specs.get(name)
        return spec

    def resolve(self, model: str, default_provider: str | None = None) -> Route:
        """Split ``"provider/model"``; resolve a bare name through the catalog or the default."""
        key = (model, default_provider)
        route = self._routes.get(key)
        if route is None:
            route = self._resolve(model, default_provider)
            if len(self._routes) < 4096:
                self._routes[key] = route
        return route

    def _resolve(self, model: str, default_provider: str | None) -> Route:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(
                f"model must be a non-empty string like 'openai/gpt-4o-mini', got {model!r}"
            )
        head, sep, rest = model.partition("/")
        if sep and rest:
            spec = self._lookup(head)
            if spec is not None:
                return Route(head, spec, rest)
        if default_provider:
            # A provider the user named beats the catalog's guess: Client(provider="openai_compatible")
            # with model="mistral-7b-instruct" must reach the local server, not Mistral's cloud.
            return Route(default_provider, self.spec(default_provider), model)
        from .catalog import provider_for_model

        guessed = provider_for_model(model)
        if guessed is not None and self._lookup(guessed) is not None:
            return Route(guessed, self.spec(guessed), model)
        raise ConfigurationError(
            f"cannot tell which provider serves {model!r}: write it as 'provider/model'. "
            f"Known providers: {', '.join(self.names)}"
        )

    def _unknown(self, provider: str) -> ConfigurationError:
        return ConfigurationError(
            f"unknown provider {provider!r}. Known providers: {', '.join(self.names)}"
        )

    def adapter(self, route: Route) -> Adapter:
        """The adapter instance for a route's provider row (imported and built once)."""
        adapter = self._adapters.get(route.spec.name)
        if adapter is None:
            with self._lock:
                adapter = self._adapters.get(route.spec.name)
                if adapter is None:
                    adapter = _build_adapter(route.spec)
                    self._adapters[route.spec.name] = adapter
        return adapter

    def _load_plugins(self) -> None:
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=_ENTRY_POINT_GROUP):
            try:
                loaded: Any = ep.load()
            except Exception as exc:  # a broken plugin must not break the built-ins
                import logging

                logging.getLogger("llmplex").warning("llmplex: provider plugin %r failed: %s", ep.name, exc)
                continue
            specs: Iterable[Any] = loaded if isinstance(loaded, (list, tuple)) else [loaded]
            for spec in specs:
                if isinstance(spec, ProviderSpec):
                    self._specs.setdefault(spec.name, spec)


def _build_adapter(spec: ProviderSpec) -> Adapter:
    module_name, _, class_name = spec.adapter.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"the adapter {spec.adapter!r} of provider {spec.name!r} cannot be loaded: {exc}"
        ) from None
    adapter: Adapter = cls(spec)
    return adapter
