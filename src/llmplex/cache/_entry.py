"""What a cache stores: the provider's raw successful response, replayed through the normal parse
path (so every provider, ``parse()`` and structured output work unchanged on a hit)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

__all__ = ["CachedResponse", "decode_entry", "encode_entry"]

_MAGIC = b"LLMPLEXC1"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored 2xx response: its content type, the body bytes (a whole stream for streamed
    requests) and when it expires (epoch seconds; None: never)."""

    content_type: str
    body: bytes
    expires_at: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now if now is not None else time.time()) >= self.expires_at


def encode_entry(entry: CachedResponse) -> bytes:
    """``MAGIC | sha256 | header-json \\n body``: a torn or foreign value fails the checksum (F3)."""
    header = json.dumps({"ct": entry.content_type, "exp": entry.expires_at}, separators=(",", ":")).encode()
    payload = header + b"\n" + entry.body
    return _MAGIC + hashlib.sha256(payload).digest() + payload


def decode_entry(raw: bytes) -> CachedResponse | None:
    """The entry, or None for anything that is not a complete, intact entry."""
    if not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + 32:
        return None
    digest, payload = raw[len(_MAGIC):len(_MAGIC) + 32], raw[len(_MAGIC) + 32:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    header, sep, body = payload.partition(b"\n")
    if not sep:
        return None
    try:
        meta = json.loads(header)
        return CachedResponse(str(meta["ct"]), body, None if meta["exp"] is None else float(meta["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
