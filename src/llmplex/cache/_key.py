"""Cache keys: one request, one key; two requests that could be answered differently, two keys.

The key is computed from the request as it goes on the wire — provider, method, URL, the JSON body
with its keys sorted (so argument order does not matter), the headers (API version and beta
headers change answers; credential headers tell tenants apart) except those that change on every
attempt, and a hash of the credential's identity (every secret of the call and its base URL, for
secrets that travel elsewhere than a header): tenants never share entries (RELIABILITY F1). The key
is a SHA-256 hex digest; no secret, prompt or parameter can be read back from it.

Headers left out: ``Idempotency-Key`` and ``x-llmplex-retry-count`` (new per call / attempt),
``User-Agent``, ``Content-Length``, and the parts of an AWS SigV4 signature that change with the
clock (``X-Amz-Date``, the payload hash, the signature): of ``Authorization`` only the access key
id, region and service stay. An OAuth bearer token (Vertex AI through google-auth) is part of the
key as it is, so its entries last as long as the token (about an hour).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._http import HttpRequest

__all__ = ["cache_key", "identity_hash"]

_VERSION = b"llmplex-cache-v1"
_VOLATILE_QUERY = frozenset({"key", "api_key", "token", "sig", "signature"})
_VOLATILE_HEADERS = frozenset({"idempotency-key", "x-llmplex-retry-count", "user-agent", "content-length",
                               "x-amz-date", "x-amz-content-sha256"})
_SIGV4 = "aws4-hmac-sha256 "


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


def _canonical_headers(headers: Mapping[str, str]) -> bytes:
    kept = []
    for name, value in headers.items():
        lower = name.lower()
        if lower in _VOLATILE_HEADERS:
            continue
        if lower == "authorization" and value.lower().startswith(_SIGV4):
            # "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, ..."
            scope = value[len(_SIGV4):].split(",", 1)[0].removeprefix("Credential=").split("/")
            value = "/".join(scope[:1] + scope[2:4])
        kept.append(f"{lower}\0{value}")
    return "\n".join(sorted(kept)).encode()


def cache_key(provider: str, request: HttpRequest, identity: str) -> str:
    """The cache key of one built request (see the module doc)."""
    digest = hashlib.sha256(_VERSION)
    for piece in (provider.encode(), request.method.encode(), _canonical_url(request.url).encode(),
                  (request.stream or "").encode(), identity.encode(), _canonical_headers(request.headers),
                  _canonical_body(request.body)):
        digest.update(len(piece).to_bytes(8, "big") + piece)
    return digest.hexdigest()
