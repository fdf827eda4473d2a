"""The unified requests handed to adapters, and the resolved settings of one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._types import Secret

__all__ = ["CallSettings", "ChatRequest", "CompletionRequest", "EmbeddingRequest", "Timeout"]


@dataclass(frozen=True, slots=True)
class Timeout:
    """Timeouts in seconds (``None``: no limit).

    ``connect``: opening the connection; ``read``: the longest wait for the next bytes of a
    response; for streams also ``first_token``: from sending the request to the first chunk
    (headers included: it fires even when the server never answers), and ``idle``: the longest
    gap between two chunks (keep-alive comments do not count as chunks).

    >>> Timeout(connect=2, read=30, first_token=10, idle=15)
    Timeout(connect=2, read=30, first_token=10, idle=15)
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    first_token: float | None = 60.0
    idle: float | None = 60.0

    @classmethod
    def from_param(cls, value: object) -> Timeout:
        """Accept ``Timeout``, seconds (for all four), ``(connect, read)``, a mapping of some of
        ``connect`` / ``read`` / ``first_token`` / ``idle``, or ``None`` (no limit at all)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(float(value), float(value), float(value), float(value))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            connect, read = (None if v is None else float(v) for v in value)
            return cls(connect, read)
        if isinstance(value, Mapping) and value and set(value) <= set(cls.__dataclass_fields__):
            return cls(**{k: None if v is None else float(v) for k, v in value.items()})
        raise TypeError(
            f"timeout must be seconds, (connect, read), a mapping of connect/read/first_token/idle "
            f"or None, not {value!r}"
        )


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
    deadline: float | None = None
    """Seconds for the whole call (every attempt, retry wait and fallback); ``None``: no deadline."""
    fallbacks: tuple[str, ...] = ()
    """Models tried in order when this one fails (see ``resilience.fallback``)."""
    context_check: bool = True
    """Refuse, before sending, a chat prompt that cannot fit the model's context window (when the
    catalog knows it): ``ContextWindowExceededError``. See ``llmplex._call_tokens``."""
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
