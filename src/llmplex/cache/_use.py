"""How one call uses the response cache: the key of its request, a lookup before the first
attempt, a store after a complete success — nothing else.

The drivers ask :meth:`CacheUse.lookup` once per model of a call (after image downloads and
credential refresh, before the guard: a hit takes no rate-limit slot and ignores an open circuit)
and :meth:`CacheUse.store` after a 2xx response parsed well (a whole body) or a stream read to its
terminal event (the recorded bytes). Errors, responses that fail to parse and streams that break or
are abandoned are never stored (RELIABILITY F2). A hit is replayed through the adapter's normal
parse or stream path, so everything downstream (tools, structured output, events) is unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from .._http import HttpRequest, HttpResponse
from ._entry import CachedResponse
from ._key import cache_key, identity_hash

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ._backends import CacheBackend

__all__ = ["CacheMode", "CacheUse", "StreamRecorder", "cached_headers", "cached_response", "mark_cached"]

CacheMode = Literal["use", "refresh"]

MAX_STREAM_BYTES = 16 * 1024 * 1024
"""A stream longer than this is not recorded (and so not cached)."""


class CacheUse:
    """The cache as seen by one model of one call (a fresh object per call: it remembers the key).

    ``worker`` (an async client's one cache thread, for a backend that does I/O) takes the writes
    of :meth:`store` instead of the event loop, and the async drivers read through it too, so a
    hung Redis never stalls the loop. One thread keeps reads and writes in order: a call made
    after another returned reads after that call's write. Sync clients have no worker.
    """

    __slots__ = ("backend", "key", "mode", "ttl", "worker")

    def __init__(self, backend: CacheBackend, ttl: float | None, mode: CacheMode,
                 worker: Executor | None = None) -> None:
        self.backend = backend
        self.ttl = ttl
        self.mode: CacheMode = mode
        self.worker = worker
        self.key: str | None = None

    def copy(self) -> CacheUse:
        """The same use for another model of the call (its own key)."""
        return CacheUse(self.backend, self.ttl, self.mode, self.worker)

    def prepare(self, provider: str, request: HttpRequest, secrets: list[str], base_url: str) -> bool:
        """Compute the key of ``request``; whether the cache should be read (not in ``refresh`` mode)."""
        self.key = cache_key(provider, request, identity_hash(secrets, base_url))
        return self.mode != "refresh"

    def read(self) -> CachedResponse | None:
        """The stored response under the key :meth:`prepare` computed, or ``None``."""
        return self.backend.get(self.key) if self.key is not None else None

    def store(self, content_type: str | None, body: bytes) -> None:
        """Keep a complete successful response under the key of the last lookup."""
        if self.key is None:
            return
        expires = None if self.ttl is None else self.backend.now() + self.ttl
        entry = CachedResponse(content_type or "application/json", body, expires)
        if self.worker is not None:
            # Not awaited: the caller has its answer at once; the backend never raises, and the
            # worker runs the next read of this cache after this write.
            self.worker.submit(self.backend.set, self.key, entry)
        else:
            self.backend.set(self.key, entry)

    def recorder(self, content_type: str | None) -> StreamRecorder:
        """A recorder for a stream's bytes that stores them once the stream ended well."""
        return StreamRecorder(self, content_type)


class StreamRecorder:
    """Collects a stream's raw bytes as the stream processor reads them; :meth:`complete` (called
    when the terminal event was seen) stores them. A stream that breaks never reaches it."""

    __slots__ = ("_content_type", "_parts", "_size", "_use")

    def __init__(self, use: CacheUse, content_type: str | None) -> None:
        self._use = use
        self._content_type = content_type
        self._parts: list[bytes] | None = []
        self._size = 0

    def add(self, data: bytes) -> None:
        parts = self._parts
        if parts is None:
            return
        self._size += len(data)
        if self._size > MAX_STREAM_BYTES:
            self._parts = None  # too long to keep: not cached
            return
        parts.append(data)

    def complete(self) -> None:
        if self._parts is not None:
            self._use.store(self._content_type, b"".join(self._parts))
            self._parts = None


def cached_headers(entry: CachedResponse) -> dict[str, str]:
    """The headers a response replayed from the cache shows."""
    return {"content-type": entry.content_type, "x-llmplex-cache": "hit"}


def cached_response(entry: CachedResponse) -> HttpResponse:
    """A stored entry as the HTTP response the adapter parses."""
    return HttpResponse(200, cached_headers(entry), entry.body)


def mark_cached(provider: str, model: str, result: Any) -> None:
    """Flag a result replayed from the cache: ``cached=True`` and a cost of zero (nothing was billed)."""
    if hasattr(result, "cached"):
        from ..catalog import Cost, Source

        result.cached = True
        result.cost = Cost(provider, model, Decimal(0), (), Source("llmplex:cache", note=_CACHE_NOTE))


_CACHE_NOTE = "served from the response cache: nothing was billed"
