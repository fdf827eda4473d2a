"""Per-request overrides accepted by every call (``api_key``, ``base_url``, ``timeout`` …)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from typing_extensions import TypedDict

from .._requests import Timeout

__all__ = ["RequestOptions", "TimeoutParam"]

TimeoutParam: TypeAlias = float | tuple[float, float] | Mapping[str, float | None] | Timeout | None
"""Seconds (connect, read, stream first token and idle gap alike), ``(connect, read)``, a mapping
or :class:`~llmplex.Timeout` naming some of ``connect`` / ``read`` / ``first_token`` / ``idle``;
``None`` for no limit."""


class RequestOptions(TypedDict, total=False):
    """Overrides for one call; they beat every other configuration layer."""

    api_key: str
    base_url: str
    timeout: TimeoutParam
    max_retries: int
    deadline: float | None
    """Seconds for the whole call: every attempt, retry wait and fallback (and a stream's chunks)."""
    fallbacks: Sequence[str]
    """Models tried in order when the model fails (after its retries), overflows its context
    window or has an open circuit: ``["openai/gpt-4o", "groq/llama-3.3-70b-versatile"]``."""
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
    cache: bool | Literal["refresh"]
    """The response cache for this call (the client needs ``cache=``): ``True`` use it, ``False``
    skip it, ``"refresh"`` ask the provider and store the new answer. Default: the client's."""
    cache_ttl: float
    """Seconds this call's cache entry lives (default: the client's ``cache_ttl``)."""
    context_check: bool
    """Before sending, refuse a prompt that cannot fit the model's context window (when the catalog
    knows it) with ``ContextWindowExceededError``; ``False`` sends it anyway. Default ``True``."""
