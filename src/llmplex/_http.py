"""Plain descriptions of an HTTP exchange, shared by adapters and the transport.

Adapters build :class:`HttpRequest` and read :class:`HttpResponse`; only ``transport.py`` turns
them into network traffic. Nothing here imports an HTTP library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CREDENTIAL_HEADERS", "HttpRequest", "HttpResponse", "StreamFormat"]

# Headers that carry credentials; never printed, never sent across origins.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "x-goog-api-key", "proxy-authorization", "cookie",
     "x-amz-security-token"}
)

StreamFormat = Literal["sse", "ndjson", "aws-eventstream", "sse-or-json-array"]
"""``sse-or-json-array``: SSE, or one JSON array streamed element by element when the response
content type is JSON (Gemini ``streamGenerateContent``)."""


def _redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: ("***" if k.lower() in CREDENTIAL_HEADERS else v) for k, v in headers.items()}


@dataclass(slots=True)  # treat as immutable; not frozen because it is built on every call
class HttpRequest:
    """One request to send. ``body`` is already-encoded bytes (JSON for every provider so far).

    ``stream`` names the framing of a streamed response body; ``None`` means read it whole.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    stream: StreamFormat | None = None

    def __repr__(self) -> str:
        return (
            f"HttpRequest(method={self.method!r}, url={self.url!r}, "
            f"headers={_redacted_headers(self.headers)!r}, body=<{len(self.body or b'')} bytes>, "
            f"stream={self.stream!r})"
        )


@dataclass(slots=True)  # treat as immutable; not frozen because it is built on every call
class HttpResponse:
    """A received response: status, lower-cased headers and the whole body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """Header value by lower-case name, or ``None``."""
        return self.headers.get(name)
