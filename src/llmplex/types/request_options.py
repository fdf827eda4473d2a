"""Per-request overrides accepted by every call (``api_key``, ``base_url``, ``timeout`` …)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict

__all__ = ["RequestOptions", "TimeoutParam"]

TimeoutParam = float | tuple[float, float] | None
"""Seconds for the whole read, or ``(connect, read)``; ``None`` for no read timeout."""


class RequestOptions(TypedDict, total=False):
    """Overrides for one call; they beat every other configuration layer."""

    api_key: str
    base_url: str
    timeout: TimeoutParam
    max_retries: int
    extra_headers: Mapping[str, str]
    """Sent as HTTP headers (merged over the configured ones)."""
    extra_query: Mapping[str, str]
    """Added to the URL's query string."""
    extra_body: Mapping[str, Any]
    """Merged into the JSON body: the way to reach provider-specific fields."""
    drop_unsupported: bool
    """Drop parameters the provider cannot honour instead of raising (each drop is logged)."""
    max_image_bytes: int
    """Largest image downloaded to inline an ``http(s)`` image URL, for providers that take only
    bytes (Gemini, Bedrock, Ollama); 0 turns downloading off. Default 20 MiB."""
