"""The unified requests handed to adapters, and the resolved settings of one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._types import Secret

__all__ = ["CallSettings", "ChatRequest", "CompletionRequest", "EmbeddingRequest", "Timeout"]


@dataclass(frozen=True, slots=True)
class Timeout:
    """Connect and read timeouts in seconds (read: the longest wait for the next bytes)."""

    connect: float | None = 5.0
    read: float | None = 600.0

    @classmethod
    def from_param(cls, value: object) -> Timeout:
        """Accept ``Timeout``, seconds (for both), ``(connect, read)`` or ``None`` (no limit)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(float(value), float(value))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(*(None if v is None else float(v) for v in value))
        raise TypeError(f"timeout must be seconds, (connect, read) or None, not {value!r}")


DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""20 MiB, the largest image downloaded to inline it (Gemini's whole-request inline limit)."""


@dataclass(frozen=True, slots=True)
class CallSettings:
    """Every setting one call needs, resolved from all configuration layers.

    ``options`` holds provider-specific settings (``api_version`` for Azure, ``app_name`` for
    OpenRouter …); adapters read the ones they know.
    """

    provider: str
    base_url: str
    api_key: Secret | None = None
    timeout: Timeout = field(default_factory=Timeout)
    max_retries: int = 2
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_query: Mapping[str, str] = field(default_factory=dict)
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    drop_unsupported: bool = False
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    """Largest image downloaded to inline an image URL for providers that take only bytes; 0: never."""
    options: Mapping[str, Any] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """The secret values of this call, for redaction."""
        found = [self.api_key.reveal()] if self.api_key else []
        found += [v.reveal() for v in self.options.values() if isinstance(v, Secret)]
        return found


@dataclass(slots=True)  # treat as immutable; not frozen because it is built on every call
class ChatRequest:
    """A chat call: the provider's model id, the messages and the OpenAI parameters given."""

    model: str
    messages: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any]
    stream: bool = False


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """A legacy text completion call."""

    model: str
    prompt: Any
    params: Mapping[str, Any]
    stream: bool = False


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """An embeddings call."""

    model: str
    input: Any
    params: Mapping[str, Any]
