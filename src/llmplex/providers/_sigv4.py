"""AWS Signature Version 4 request signing: pure functions of the request, the credentials and a time.

The algorithm (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):

1. canonical request: method, URI-encoded path, sorted encoded query, sorted lower-cased headers with
   trimmed values, the signed header names, and the SHA-256 of the body, one per line;
2. string to sign: ``AWS4-HMAC-SHA256``, the ``x-amz-date`` time, the scope
   ``<date>/<region>/<service>/aws4_request`` and the SHA-256 of the canonical request;
3. signing key: HMAC-SHA256 chained over date, region, service and ``aws4_request``, starting from
   ``"AWS4" + secret``;
4. ``Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=…, Signature=<hex>``.

A session token (temporary credentials) is sent and signed as ``x-amz-security-token``. Checked in
``tests/providers/test_sigv4.py`` against AWS's published test-suite vectors. Nothing here reads a clock:
the caller passes the time, so every retry is signed afresh with its own.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = [
    "ALGORITHM",
    "UNSIGNED_HEADERS",
    "amz_date",
    "authorization",
    "canonical_request",
    "sign_headers",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_HEADERS = frozenset({"user-agent", "expect", "x-amzn-trace-id", "authorization", "content-length"})
"""Headers left out of the signature: proxies and HTTP libraries may change or add them."""


def amz_date(when: datetime.datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC.

    >>> amz_date(datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc))
    '20150830T123600Z'
    """
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(
    method: str, url: str, headers: Mapping[str, str], payload_hash: str
) -> tuple[str, str]:
    """(canonical request, signed header names) for the headers given, all of which are signed.

    The path of ``url`` is encoded once more (``%3A`` becomes ``%253A``), as every service but S3
    expects: the path on the wire is already encoded.
    """
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe="/-_.~")
    canonical: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower().strip()
        trimmed = " ".join(str(value).split())
        canonical[key] = f"{canonical[key]},{trimmed}" if key in canonical else trimmed
    names = sorted(canonical)
    signed = ";".join(names)
    lines = "".join(f"{n}:{canonical[n]}\n" for n in names)
    return f"{method.upper()}\n{path}\n{_canonical_query(parts.query)}\n{lines}\n{signed}\n{payload_hash}", signed


def string_to_sign(date_time: str, scope: str, creq: str) -> str:
    """The string the signature is computed over."""
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date_time}\n{scope}\n{digest}"


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The key derived for one day, region and service."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def authorization(access_key_id: str, scope: str, signed: str, signature: str) -> str:
    """The ``Authorization`` header value."""
    return f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    region: str,
    service: str,
    when: datetime.datetime,
) -> dict[str, str]:
    """The headers to add to a request so that AWS accepts it: ``x-amz-date``,
    ``x-amz-security-token`` (with a session token) and ``authorization``.

    Signed: ``host`` (from the URL), those three, and every header in ``headers`` but
    :data:`UNSIGNED_HEADERS`.
    """
    date_time = amz_date(when)
    added = {"x-amz-date": date_time}
    if session_token:
        added["x-amz-security-token"] = session_token
    to_sign = {k.lower(): v for k, v in headers.items() if k.lower() not in UNSIGNED_HEADERS}
    to_sign.setdefault("host", _host(url))
    to_sign.update(added)
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    creq, signed = canonical_request(method, url, to_sign, payload_hash)
    scope = f"{date_time[:8]}/{region}/{service}/aws4_request"
    key = signing_key(secret_access_key, date_time[:8], region, service)
    signature = hmac.new(key, string_to_sign(date_time, scope, creq).encode("utf-8"), hashlib.sha256).hexdigest()
    added["authorization"] = authorization(access_key_id, scope, signed, signature)
    return added


def _host(url: str) -> str:
    """The ``Host`` header an HTTP client sends for ``url`` (default ports left out)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (parts.scheme, port) in (("https", 443), ("http", 80)):
        return host
    return f"{host}:{port}"
