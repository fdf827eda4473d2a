"""A client's cache setting: where entries live, how long they last, and whether calls use it
unless they say otherwise; and, per call, what ``cache=`` / ``cache_ttl=`` ask for.

Set in code (``Client(cache="memory", cache_ttl=600)``) or in llmplex.yaml::

    cache:
      backend: ~/.cache/llmplex/responses.sqlite   # "memory", a SQLite path or a redis:// URL
      ttl: 3600                                     # seconds; leave out for "until evicted"
      by_default: true                              # false: only calls that pass cache=True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError, InvalidRequestError
from ._backends import BACKEND_MEMBERS, CacheBackend, is_backend, open_cache
from ._use import CacheUse

__all__ = ["CachePolicy", "CacheSettings", "parse_cache_setting"]


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The ``cache`` setting as configured (the backend not opened yet)."""

    backend: Any
    """``"memory"``, a SQLite file path, a ``redis://`` URL or a backend object."""
    ttl: float | None = None
    by_default: bool = True


def _ttl(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigurationError(f"{where}: cache ttl must be a number of seconds > 0, got {value!r}")
    return float(value)


def parse_cache_setting(value: Any, where: str) -> CacheSettings | None:
    """Check the ``cache`` setting: a backend spec, or ``{backend, ttl, by_default}``; ``False``
    turns caching off."""
    if value is False or value is None:
        return None
    if isinstance(value, CacheSettings):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"backend", "ttl", "by_default"}
        if unknown or "backend" not in value:
            raise ConfigurationError(
                f"{where}: cache takes backend (required), ttl and by_default; got {sorted(value)}"
            )
        by_default = value.get("by_default", True)
        if not isinstance(by_default, bool):
            raise ConfigurationError(f"{where}: cache by_default must be true or false, got {by_default!r}")
        return CacheSettings(_backend_spec(value["backend"], where), _ttl(value.get("ttl"), where), by_default)
    return CacheSettings(_backend_spec(value, where))


def _backend_spec(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return os.path.expanduser(value) if value != "memory" and "://" not in value else value
    if isinstance(value, os.PathLike) or is_backend(value):
        return value
    raise ConfigurationError(
        f"{where}: cache must be 'memory', a SQLite file path, a redis:// URL or a cache backend "
        f"(llmplex.cache.MemoryCache …, or your own with {', '.join(BACKEND_MEMBERS)}), "
        f"not {type(value).__name__}"
    )


class CachePolicy:
    """A client's opened cache and its defaults. ``threaded`` (async clients): a backend that does
    I/O gets one worker thread, which every call of the client reads and writes it through."""

    __slots__ = ("backend", "by_default", "ttl", "worker")

    def __init__(self, settings: CacheSettings, *, threaded: bool = False) -> None:
        self.backend: CacheBackend = open_cache(settings.backend)
        self.ttl = settings.ttl
        self.by_default = settings.by_default
        self.worker = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmplex-cache")
                       if threaded and self.backend.blocking else None)

    def for_call(self, option: Any, ttl: Any) -> CacheUse | None:
        """The cache use of one call from its ``cache=`` / ``cache_ttl=`` (``None``: not cached)."""
        if option is None:
            option = self.by_default
        if option is False:
            return None
        return CacheUse(self.backend, self.ttl if ttl is None else ttl, "refresh" if option == "refresh" else "use",
                        self.worker)


def check_call_options(option: Any, ttl: Any) -> None:
    """Refuse a malformed ``cache=`` / ``cache_ttl=`` of one call."""
    if option is not None and option not in (True, False, "refresh"):
        raise InvalidRequestError(f"cache= takes True, False or 'refresh', got {option!r}")
    if ttl is not None:
        try:
            _ttl(ttl, "cache_ttl=")
        except ConfigurationError as exc:
            raise InvalidRequestError(exc.message) from None
