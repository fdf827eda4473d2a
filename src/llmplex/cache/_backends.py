"""Where cached responses live: in-process LRU, SQLite on disk, or Redis shared by many machines.

Every backend stores opaque, checksummed entries (:mod:`._entry`) under opaque keys (:mod:`._key`)
and never raises from ``get`` / ``set``: a broken store is a miss, logged, and counted in
``stats`` — the call still goes to the provider (RELIABILITY F3, F4).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigurationError
from ._entry import CachedResponse, decode_entry, encode_entry

__all__ = ["CacheBackend", "CacheStats", "MemoryCache", "RedisCache", "SQLiteCache", "open_cache"]

logger = logging.getLogger("llmplex")


@dataclass
class CacheStats:
    """Counters of one backend (read them for dashboards; they only grow)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0
    """Reads or writes that failed (corrupt file, Redis down …) and were treated as misses."""
    bypassed: int = 0
    """Calls that skipped a backend known to be down (Redis during its cool-down)."""


class CacheBackend(Protocol):
    """A store of cached responses. Implementations never raise from get/set."""

    stats: CacheStats
    now: Callable[[], float]
    """The wall clock entries expire by (``time.time``)."""
    blocking: bool
    """Whether ``get`` / ``set`` do I/O (a file, the network): async clients then call them from a
    worker thread rather than on the event loop."""

    def get(self, key: str) -> CachedResponse | None: ...
    def set(self, key: str, entry: CachedResponse) -> None: ...
    def clear(self) -> None: ...


def _count(stats: CacheStats, entry: CachedResponse | None, now: float) -> CachedResponse | None:
    if entry is None or entry.expired(now):
        stats.misses += 1
        return None
    stats.hits += 1
    return entry


class MemoryCache:
    """An in-process LRU bounded by entries and bytes (thread-safe). ``now`` is the wall clock
    entries expire by (a parameter for tests)."""

    blocking = False

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024,
                 now: Callable[[], float] = time.time) -> None:
        self.stats = CacheStats()
        self.now = now
        self._items: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> CachedResponse | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return _count(self.stats, entry, self.now())

    def set(self, key: str, entry: CachedResponse) -> None:
        if len(entry.body) > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old.body) if old else 0
            self._items[key] = entry
            self._bytes += len(entry.body)
            while len(self._items) > self._max_entries or self._bytes > self._max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.body)
            self.stats.stores += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class SQLiteCache:
    """A cache file shared safely by threads and processes (WAL, one row per key, writes atomic).

    A file that is not a usable database is moved aside (``<name>.corrupt-<time>``) with a warning
    and a fresh one is created; a row that fails its checksum is a miss.
    """

    blocking = True

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0, purge_every: int = 256,
                 now: Callable[[], float] = time.time) -> None:
        self.stats = CacheStats()
        self.now = now
        self.path = Path(path)
        self._timeout = timeout
        self._purge_every = purge_every
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connection()  # create (or repair) the file now

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = self._open()
        except sqlite3.DatabaseError:
            with self._lock:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                logger.warning("llmplex cache: %s is not a usable SQLite file; moved to %s", self.path, aside)
                if self.path.exists():
                    self.path.replace(aside)
                conn = self._open()
        self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS llmplex_cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                     "expires REAL)")
        return conn

    def _guard(self, what: str, action: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            return action(self._connection())
        except sqlite3.Error as exc:
            self.stats.errors += 1
            logger.warning("llmplex cache: SQLite %s failed (%s); treated as a miss", what, type(exc).__name__)
            return None

    def get(self, key: str) -> CachedResponse | None:
        row = self._guard("read", lambda c: c.execute(
            "SELECT value FROM llmplex_cache WHERE key = ?", (key,)).fetchone())
        entry = decode_entry(row[0]) if row else None
        if row and entry is None:
            self.stats.errors += 1
            logger.warning("llmplex cache: a damaged entry in %s was ignored", self.path)
        return _count(self.stats, entry, self.now())

    def set(self, key: str, entry: CachedResponse) -> None:
        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT OR REPLACE INTO llmplex_cache (key, value, expires) VALUES (?, ?, ?)",
                         (key, encode_entry(entry), entry.expires_at))
            return True

        if self._guard("write", write):
            self.stats.stores += 1
            if self.stats.stores % self._purge_every == 0:
                self._guard("purge", lambda c: c.execute(
                    "DELETE FROM llmplex_cache WHERE expires IS NOT NULL AND expires < ?", (self.now(),)))

    def clear(self) -> None:
        self._guard("clear", lambda c: c.execute("DELETE FROM llmplex_cache"))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class RedisCache:
    """A cache shared by many processes and machines. Each operation has a short timeout
    (``timeout``, default 100 ms); after a failure the backend is skipped for ``cooldown`` seconds,
    so a slow or dead Redis adds at most one timeout per cool-down to the calls (F4)."""

    blocking = True

    def __init__(self, url: str, *, timeout: float = 0.1, cooldown: float = 5.0, prefix: str = "llmplex:cache:",
                 clock: Callable[[], float] = time.monotonic) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError("a Redis cache needs redis-py: pip install 'llmplex[redis]'") from None
        self.stats = CacheStats()
        self.now: Callable[[], float] = time.time
        self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._prefix = prefix
        self._cooldown = cooldown
        self._clock = clock
        self._down_until = 0.0

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        if self._clock() < self._down_until:
            self.stats.bypassed += 1
            return None
        try:
            return action()
        except self._errors as exc:
            self.stats.errors += 1
            self._down_until = self._clock() + self._cooldown
            logger.warning("llmplex cache: Redis %s failed (%s); bypassed for %.0f s", what, type(exc).__name__,
                           self._cooldown)
            return None

    def get(self, key: str) -> CachedResponse | None:
        raw = self._call("read", lambda: self._client.get(self._prefix + key))
        return _count(self.stats, decode_entry(raw) if isinstance(raw, bytes) else None, self.now())

    def set(self, key: str, entry: CachedResponse) -> None:
        ttl_ms = None if entry.expires_at is None else max(1, int((entry.expires_at - self.now()) * 1000))
        if self._call("write", lambda: self._client.set(self._prefix + key, encode_entry(entry), px=ttl_ms)):
            self.stats.stores += 1

    def clear(self) -> None:
        def scan_delete() -> None:
            for key in self._client.scan_iter(match=self._prefix + "*", count=500):
                self._client.delete(key)

        self._call("clear", scan_delete)


BACKEND_MEMBERS = ("get", "set", "clear", "stats", "now", "blocking")
"""What an object needs to be used as a cache backend (:class:`CacheBackend`)."""


def is_backend(value: Any) -> bool:
    """Whether ``value`` has every member of :class:`CacheBackend`."""
    return all(hasattr(value, name) for name in BACKEND_MEMBERS)


def open_cache(spec: Any) -> CacheBackend:
    """A backend from a setting: ``"memory"``, a ``redis://`` / ``rediss://`` URL, a file path
    (SQLite), or a backend object."""
    if isinstance(spec, str) and spec == "memory":
        return MemoryCache()
    if isinstance(spec, str) and spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(spec)
    if isinstance(spec, (str, os.PathLike)):
        return SQLiteCache(spec)
    if is_backend(spec):
        backend: CacheBackend = spec
        return backend
    raise ConfigurationError(
        f"cache must be 'memory', a SQLite file path, a redis:// URL or a cache backend (with "
        f"{', '.join(BACKEND_MEMBERS)}), not {type(spec).__name__}"
    )
