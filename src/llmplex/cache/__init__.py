"""Response caching: exact-match, opt-in, tenant-isolated; memory, SQLite or Redis.

See docs/caching.md. ``Client(cache="memory" | "<file>.sqlite" | "redis://…", cache_ttl=…)``;
per call ``cache=False`` (skip), ``cache="refresh"`` (ask the provider, store the answer),
``cache_ttl=`` (this entry's lifetime).
"""

from __future__ import annotations

from ._backends import CacheBackend, CacheStats, MemoryCache, RedisCache, SQLiteCache, open_cache
from ._entry import CachedResponse, decode_entry, encode_entry
from ._key import cache_key, identity_hash
from ._policy import CachePolicy, CacheSettings, parse_cache_setting

__all__ = ["CacheBackend", "CachePolicy", "CacheSettings", "CacheStats", "CachedResponse", "MemoryCache",
           "RedisCache", "SQLiteCache", "cache_key", "decode_entry", "encode_entry", "identity_hash", "open_cache",
           "parse_cache_setting"]
