"""Response caching: exact-match, opt-in, tenant-isolated; memory, SQLite or Redis."""

from __future__ import annotations

from ._backends import CacheBackend, CacheStats, MemoryCache, RedisCache, SQLiteCache, open_cache
from ._entry import CachedResponse, decode_entry, encode_entry
from ._key import cache_key, identity_hash

__all__ = ["CacheBackend", "CacheStats", "CachedResponse", "MemoryCache", "RedisCache", "SQLiteCache", "cache_key",
           "decode_entry", "encode_entry", "identity_hash", "open_cache"]
