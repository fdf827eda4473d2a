"""Layered configuration, resolved to one frozen :class:`CallSettings` per call.

Precedence, lowest to highest::

    defaults < environment < YAML file < runtime (llmplex.config) < client constructor < per-request

Within a layer, a provider's own value beats the global one. Settings (global or per provider):
``api_key`` (per provider only), ``base_url`` (per provider only), ``timeout``, ``max_retries``,
``extra_headers``, ``extra_query``, ``extra_body``, ``drop_unsupported``, ``deadline`` (seconds for a
whole call, retries and fallbacks included), ``fallbacks`` (models tried when a call fails),
``context_check`` (refuse a prompt too long for the model's window before sending), plus each provider's
options (``api_version``, ``app_name`` …). Global only: ``default_provider``, ``router`` (logical
models, routing strategy, circuit breaker, rate limits and shared state: ``llmplex.routing.config``),
and ``catalog`` (model entries laid over the shipped catalog, ``{provider: {model: {context_window,
max_output_tokens, capabilities, prices}}}``; see docs/cost.md) and ``cache`` (the response cache:
a backend, or ``{backend, ttl, by_default}``; see docs/caching.md).

Environment: each provider's key variable (``OPENAI_API_KEY``, ``GROQ_API_KEY`` …) and base-URL
variable, ``LLMPLEX_<PROVIDER>_API_KEY`` / ``_BASE_URL``, ``LLMPLEX_TIMEOUT``,
``LLMPLEX_MAX_RETRIES``, ``LLMPLEX_DEADLINE``, ``LLMPLEX_DEFAULT_PROVIDER``. YAML: the file named by ``LLMPLEX_CONFIG``,
else ``./llmplex.yaml``::

    timeout: 30
    providers:
      openai: {api_key: sk-..., organization: org-...}
      local: {type: openai_compatible, base_url: http://localhost:1234/v1}   # an alias

Runtime: ``llmplex.config.set("groq.api_key", "gsk_...")``, ``llmplex.config.update({...})``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._requests import DEFAULT_MAX_IMAGE_BYTES, CallSettings, Timeout
from ._types import Secret
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .cache import CacheSettings
    from .providers.base import ProviderSpec
    from .routing.config import RouterConfig

__all__ = ["Config", "ConfigLayers", "SettingSource", "config", "load_yaml"]

_COMMON = (
    "timeout", "max_retries", "extra_headers", "extra_query", "extra_body", "drop_unsupported", "max_image_bytes",
    "deadline", "fallbacks", "context_check",
)
_PROVIDER_ONLY = ("api_key", "base_url", "type")
_GLOBAL_ONLY = ("default_provider", "router", "catalog", "cache")
_MERGED = frozenset({"extra_headers", "extra_query", "extra_body"})
_DEFAULTS: dict[str, Any] = {
    "timeout": Timeout(), "max_retries": 2, "drop_unsupported": False, "max_image_bytes": DEFAULT_MAX_IMAGE_BYTES,
    "context_check": True,
}

Values = dict[tuple[str | None, str], Any]  # (provider or None for global, key) -> value


def _is_secret_name(key: str) -> bool:
    return key == "api_key" or key.endswith(("_token", "_secret", "_key"))


def normalise_setting(key: str, value: Any, where: str) -> Any:
    """Check one setting's value and convert it (secrets to ``Secret``, timeouts to ``Timeout``)."""
    if key == "timeout":  # None means "no limit" here, not "unset"
        try:
            return Timeout.from_param(value)
        except TypeError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    if value is None:
        return None
    structured = _STRUCTURED.get(key)
    if structured is not None:
        return structured(value, where)
    if _is_secret_name(key) and not isinstance(value, Secret):
        return _secret(key, value, where)
    if key in ("max_retries", "max_image_bytes") and (
        not isinstance(value, int) or isinstance(value, bool) or value < 0
    ):
        raise ConfigurationError(f"{where}: {key} must be an integer >= 0, got {value!r}")
    if key == "deadline" and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < float("inf")
    ):
        raise ConfigurationError(f"{where}: deadline must be a number of seconds > 0, got {value!r}")
    if key == "context_check" and not isinstance(value, bool):
        raise ConfigurationError(f"{where}: context_check must be true or false, got {value!r}")
    if key in _MERGED and not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: {key} must be a mapping, got {type(value).__name__}")
    return value


def _secret(key: str, value: Any, where: str) -> Secret:
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: {key} must be a string")
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        # it goes in an HTTP header: say so now, not as a confusing connection error later
        raise ConfigurationError(
            f"{where}: {key} contains spaces, control or non-ASCII characters (an ellipsis from a "
            f"truncated copy?); credentials are plain ASCII: copy it again in full"
        )
    return Secret(value)


def _router(value: Any, where: str) -> Any:
    from .routing.config import parse_router

    return parse_router(value, where, _deployment_setting_keys())


def _catalog(value: Any, where: str) -> Any:
    from .catalog._data import validate_overrides

    problems = validate_overrides(value, where)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return value


def _cache(value: Any, where: str) -> Any:
    from .cache import parse_cache_setting

    return parse_cache_setting(value, where)


def _deployment_setting_keys() -> frozenset[str]:
    """Settings a router deployment may set for itself: the common ones, key, URL and every
    provider's own options."""
    from .registry import builtin_specs

    options = {name for spec in builtin_specs().values() for name in spec.options}
    return frozenset({*_COMMON, "api_key", "base_url", *options})


def _model_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, str) and m for m in value):
        raise ConfigurationError(f"{where}: fallbacks must be a list of model names, got {value!r}")
    return tuple(value)


_STRUCTURED: dict[str, Callable[[Any, str], Any]] = {
    "router": _router, "fallbacks": _model_list, "catalog": _catalog, "cache": _cache,
}
"""Settings with a structure of their own, checked by their own parser."""


def flatten(data: Mapping[str, Any], where: str, known: Callable[[str], set[str] | None]) -> Values:
    """Check and flatten the nested settings shape (YAML, ``update``, constructor)."""
    out: Values = {}
    for key, value in data.items():
        if key == "providers":
            if not isinstance(value, Mapping):
                raise ConfigurationError(f"{where}: 'providers' must be a mapping of provider -> settings")
            for provider, settings in value.items():
                if not isinstance(settings, Mapping):
                    raise ConfigurationError(f"{where}: providers.{provider} must be a mapping")
                allowed = known(str(settings.get("type", provider)))
                for pkey, pvalue in settings.items():
                    _check_key(pkey, allowed, f"{where}: providers.{provider}")
                    out[(str(provider), pkey)] = normalise_setting(pkey, pvalue, f"{where}: providers.{provider}")
            continue
        _check_key(key, {*_COMMON, *_GLOBAL_ONLY}, where)
        out[(None, key)] = normalise_setting(key, value, where)
    return out


def _check_key(key: str, allowed: set[str] | None, where: str) -> None:
    if allowed is None or key in allowed:
        return
    import difflib  # only on the error path

    hint = difflib.get_close_matches(key, sorted(allowed), n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ConfigurationError(f"{where}: unknown setting {key!r}{suggestion} Known: {', '.join(sorted(allowed))}")


def provider_keys(spec: ProviderSpec | None) -> set[str] | None:
    """The settings a provider accepts (``None`` when the provider is unknown: not checked)."""
    if spec is None:
        return None
    return {*_COMMON, *_PROVIDER_ONLY, *spec.options}


def environment_layer(specs: Mapping[str, ProviderSpec], env: Mapping[str, str]) -> Values:
    """Settings read from environment variables."""
    out: Values = {}
    for spec in specs.values():
        prefix = f"LLMPLEX_{spec.name.upper()}_"
        for key, names in (
            ("api_key", (f"{prefix}API_KEY", *spec.api_key_env)),
            ("base_url", (f"{prefix}BASE_URL", *spec.base_url_env)),
            *spec.option_env.items(),
        ):
            for name in names:
                if env.get(name):
                    out[(spec.name, key)] = normalise_setting(key, env[name], f"${name}")
                    break
    for key in ("timeout", "max_retries", "max_image_bytes", "deadline", "default_provider"):
        raw = env.get(f"LLMPLEX_{key.upper()}")
        if raw:
            out[(None, key)] = normalise_setting(key, _coerce_env(key, raw), f"$LLMPLEX_{key.upper()}")
    return out


def _coerce_env(key: str, raw: str) -> Any:
    try:
        if key in ("timeout", "deadline"):
            return float(raw)
        if key in ("max_retries", "max_image_bytes"):
            return int(raw)
    except ValueError:
        raise ConfigurationError(f"$LLMPLEX_{key.upper()} must be a number, got {raw!r}") from None
    return raw


def load_yaml(path: Path) -> Mapping[str, Any]:
    """Read a YAML settings file; errors name the file."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"config file {path} must hold a mapping at the top level")
    return data


def find_config_file(env: Mapping[str, str]) -> Path | None:
    """``$LLMPLEX_CONFIG`` (must exist), else ``./llmplex.yaml`` when present."""
    named = env.get("LLMPLEX_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"LLMPLEX_CONFIG names {named!r}, which is not a file")
        return path
    local = Path("llmplex.yaml")
    return local if local.is_file() else None


class Config:
    """The process-wide runtime layer: ``llmplex.config``.

    >>> import llmplex
    >>> llmplex.config.set("timeout", 30)
    >>> llmplex.config.set("openrouter.app_name", "my-app")
    >>> llmplex.config.unset("timeout"); llmplex.config.unset("openrouter.app_name")
    """

    def __init__(self) -> None:
        self._values: Values = {}
        self._lock = threading.Lock()
        self.version = 0

    def set(self, key: str, value: Any) -> None:
        """Set ``"setting"`` or ``"provider.setting"``."""
        provider, _, name = key.rpartition(".")
        if provider:
            data: Mapping[str, Any] = {"providers": {provider: {name: value}}}
        else:
            data = {name: value}
        self.update(data)

    def unset(self, key: str) -> None:
        """Remove a runtime setting (lower layers apply again)."""
        provider, _, name = key.rpartition(".")
        with self._lock:
            self._values.pop((provider or None, name), None)
            self.version += 1

    def update(self, data: Mapping[str, Any]) -> None:
        """Merge settings of the YAML shape."""
        from .registry import builtin_specs

        specs = builtin_specs()
        values = flatten(data, "llmplex.config", lambda p: provider_keys(specs.get(p)))
        with self._lock:
            self._values.update(values)
            self.version += 1

    def clear(self) -> None:
        """Remove every runtime setting."""
        with self._lock:
            self._values.clear()
            self.version += 1

    def snapshot(self) -> Values:
        """A copy of the runtime values."""
        with self._lock:
            return dict(self._values)

    def __repr__(self) -> str:
        return f"<llmplex.Config {len(self._values)} runtime setting(s)>"


config = Config()
"""The runtime configuration layer shared by every client in the process."""


@dataclass(frozen=True, slots=True)
class SettingSource:
    """One effective setting and the layer it came from (secrets shown as ``***``)."""

    name: str
    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.name:<18} {self.value:<40} {self.source}"


class ConfigLayers:
    """The layers of one client, resolving ``CallSettings`` per provider (cached)."""

    def __init__(
        self,
        specs: Mapping[str, ProviderSpec],
        constructor: Values,
        runtime: Config,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self._specs = specs
        self._runtime = runtime
        path = config_file if config_file is not None else find_config_file(env)
        yaml_values = (
            flatten(load_yaml(path), str(path), lambda p: provider_keys(specs.get(p))) if path else {}
        )
        self._fixed: list[tuple[str, Values]] = [
            ("constructor", constructor),
            (f"file {path}" if path else "file", yaml_values),
            ("environment", environment_layer(specs, env)),
        ]
        self._cache: dict[str, CallSettings] = {}
        self._cache_version = -1
        self._catalog: tuple[int, dict[str, dict[str, Any]]] = (-1, {})
        self._lock = threading.Lock()

    def aliases(self) -> dict[str, str]:
        """Providers defined in configuration with ``type: <builtin>``."""
        found: dict[str, str] = {}
        for _, values in self._layers():
            for (provider, key), value in values.items():
                if provider and key == "type":
                    found.setdefault(provider, str(value))
        return found

    def _layers(self) -> list[tuple[str, Values]]:
        return [self._fixed[0], ("runtime (llmplex.config)", self._runtime.snapshot()), *self._fixed[1:]]

    def lookup(self, provider: str, key: str) -> tuple[Any, str]:
        """(value, source) of one setting for a provider, highest layer first."""
        for source, values in self._layers():
            for scope in (provider, None):
                if (scope, key) in values and values[(scope, key)] is not None:
                    return values[(scope, key)], source
        return _DEFAULTS.get(key), "default"

    def _merged(self, provider: str, key: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _, values in reversed(self._layers()):
            for scope in (None, provider):
                value = values.get((scope, key))
                if value:
                    merged.update(value)
        return merged

    def router(self) -> RouterConfig:
        """The ``router:`` section of the highest layer that has one (checked), or the defaults."""
        from .routing.config import RouterConfig

        value, _ = self.lookup("", "router")
        return value if isinstance(value, RouterConfig) else RouterConfig()

    def cache(self) -> CacheSettings | None:
        """The ``cache:`` setting of the highest layer that has one (checked), or ``None`` (off)."""
        value, _ = self.lookup("", "cache")
        return value  # type: ignore[no-any-return]

    def catalog(self) -> dict[str, dict[str, Any]]:
        """The configured catalog entries, ``{provider: {model: entry}}``: every layer's
        ``catalog`` section merged, a higher layer's entry for a model replacing a lower one's
        (merged again only when the runtime layer changed: every call's pricing asks). Read only."""
        version, merged = self._catalog
        if version == self._runtime.version:
            return merged
        merged = {}
        for _, values in reversed(self._layers()):
            for provider, models in (values.get((None, "catalog")) or {}).items():
                merged.setdefault(provider, {}).update(models)
        self._catalog = (self._runtime.version, merged)
        return merged

    def default_provider(self) -> str | None:
        """The configured provider for bare model names."""
        value, _ = self.lookup("", "default_provider")
        return str(value) if value else None

    def settings(self, provider: str, spec: ProviderSpec) -> CallSettings:
        """The resolved settings for one provider (cached until the runtime layer changes)."""
        if self._cache_version != self._runtime.version:
            with self._lock:
                self._cache.clear()
                self._cache_version = self._runtime.version
        found = self._cache.get(provider)
        if found is None:
            found = self._resolve(provider, spec)
            self._cache[provider] = found
        return found

    def _resolve(self, provider: str, spec: ProviderSpec) -> CallSettings:
        base_url, _ = self.lookup(provider, "base_url")
        api_key, _ = self.lookup(provider, "api_key")
        return CallSettings(
            provider=provider,
            base_url=str(base_url or spec.base_url),
            api_key=api_key,
            timeout=self.lookup(provider, "timeout")[0],
            max_retries=self.lookup(provider, "max_retries")[0],
            extra_headers=self._merged(provider, "extra_headers"),
            extra_query=self._merged(provider, "extra_query"),
            extra_body=self._merged(provider, "extra_body"),
            drop_unsupported=bool(self.lookup(provider, "drop_unsupported")[0]),
            max_image_bytes=self.lookup(provider, "max_image_bytes")[0],
            deadline=self.lookup(provider, "deadline")[0],
            fallbacks=self.lookup(provider, "fallbacks")[0] or (),
            context_check=self.lookup(provider, "context_check")[0],
            options={name: v for name in spec.options if (v := self.lookup(provider, name)[0]) is not None},
        )

    def describe(self, provider: str, spec: ProviderSpec) -> list[SettingSource]:
        """Every effective setting of a provider with its source; secrets redacted."""
        rows: list[SettingSource] = []
        for key in ("api_key", "base_url", *_COMMON, *spec.options):
            value, source = self.lookup(provider, key)
            if key == "base_url" and value is None:
                value, source = spec.base_url or None, "built-in"
            rows.append(SettingSource(key, _shown(key, value), source if value is not None else "-"))
        return rows


def _shown(key: str, value: Any) -> str:
    """A setting's value for display: secrets and credential headers as ``***``."""
    from ._http import CREDENTIAL_HEADERS
    from ._redact import redact_known_shapes

    if isinstance(value, Secret):
        return "***" if value else "(empty)"
    if isinstance(value, Timeout):
        return (f"connect={value.connect}s read={value.read}s first_token={value.first_token}s "
                f"idle={value.idle}s")
    if value is None:
        return "(not set)"
    if key == "extra_headers" and isinstance(value, Mapping):
        value = {k: "***" if k.lower() in CREDENTIAL_HEADERS else v for k, v in value.items()}
    return redact_known_shapes(value if isinstance(value, str) else repr(value))
