"""Cache keys: one request, one key; two requests that could be answered differently, two keys.

The key is computed from the request as it goes on the wire — provider, method, URL, the JSON body
with its keys sorted (so argument order does not matter), and a hash of the credential's identity
(every secret of the call and its base URL): tenants never share entries (RELIABILITY F1). The key
is a SHA-256 hex digest; no secret, prompt or parameter can be read back from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._http import HttpRequest

__all__ = ["cache_key", "identity_hash"]

_VERSION = b"llmplex-cache-v1"
_VOLATILE_QUERY = frozenset({"key", "api_key", "token", "sig", "signature"})


def identity_hash(secrets: Iterable[str], base_url: str) -> str:
    """A digest of who is asking: the call's secrets and where they go (never stored as such)."""
    digest = hashlib.sha256(b"llmplex-identity\0" + base_url.encode())
    for secret in sorted(secrets):
        digest.update(b"\0" + hashlib.sha256(secret.encode()).digest())
    return digest.hexdigest()


def _canonical_body(body: bytes | None) -> bytes:
    if not body:
        return b""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return body  # not JSON: the bytes themselves


def _canonical_url(url: str) -> str:
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _VOLATILE_QUERY)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, urlencode(query), ""))


def cache_key(provider: str, request: HttpRequest, identity: str) -> str:
    """The cache key of one built request (see the module doc)."""
    digest = hashlib.sha256(_VERSION)
    for piece in (provider.encode(), request.method.encode(), _canonical_url(request.url).encode(),
                  (request.stream or "").encode(), identity.encode(), _canonical_body(request.body)):
        digest.update(len(piece).to_bytes(8, "big") + piece)
    return digest.hexdigest()
