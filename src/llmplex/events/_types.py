"""The typed events of one call, in the order a call can emit them.

Every event carries who (``provider``, ``model``, ``deployment``), which call (``call_id``, the
correlation id shared by all events of one call), which try (``attempt``, 0-based), what
(``operation``: ``chat``, ``text_completion`` or ``embeddings``), when (``time``: wall clock,
``elapsed``: seconds since the call started) and the innermost active session's name.

::

    RequestStarted ─┬─ AttemptStarted ─ [RetryScheduled ─ AttemptStarted]* ─┬─ Finished
                    ├─ CacheHit | CacheMiss                                 └─ Failed
                    ├─ FallbackTaken, CircuitOpened, CircuitClosed
                    └─ (streams) FirstToken ─ ChunkReceived* (opt-in)

Events are plain slotted dataclasses: building one costs about a microsecond, and it is only
built when someone listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALL_EVENTS",
    "AttemptStarted",
    "CacheHit",
    "CacheMiss",
    "ChunkReceived",
    "CircuitClosed",
    "CircuitOpened",
    "Event",
    "Failed",
    "FallbackTaken",
    "Finished",
    "FirstToken",
    "RequestStarted",
    "RetryScheduled",
]


@dataclass(slots=True)  # not frozen (frozen init costs ~4x); positional init: 3x faster than keyword-only
class Event:
    """What every event says about its call."""

    call_id: str
    """The correlation id: the same for every event of one call (``"<process>-<n>"``)."""
    provider: str
    model: str
    deployment: str
    """Where the call is served: ``provider/model`` until a router names deployments."""
    operation: str
    """``chat``, ``text_completion`` or ``embeddings`` (the OpenTelemetry GenAI operation names)."""
    attempt: int
    """0 for the first try, 1 for the first retry …"""
    time: float
    """Wall-clock time of the event (``time.time()``)."""
    elapsed: float
    """Seconds since the call started (monotonic clock)."""
    session: str | None
    """The name of the innermost active session, or ``None``."""


@dataclass(slots=True)
class RequestStarted(Event):
    """A call was made (before any image download, credential refresh or attempt)."""

    stream: bool


@dataclass(slots=True)
class AttemptStarted(Event):
    """One try is about to be sent."""


@dataclass(slots=True)
class RetryScheduled(Event):
    """The attempt failed with a retryable error; the next one starts after ``delay`` seconds."""

    error: Exception
    delay: float


@dataclass(slots=True)
class FallbackTaken(Event):
    """The call moved from this event's deployment to another one."""

    to_provider: str
    to_model: str
    to_deployment: str
    error: Exception | None = None


@dataclass(slots=True)
class CircuitOpened(Event):
    """The deployment's circuit breaker opened: calls to it fail fast for a while."""

    reason: str | None = None


@dataclass(slots=True)
class CircuitClosed(Event):
    """The deployment's circuit breaker closed again."""


@dataclass(slots=True)
class CacheHit(Event):
    """The response came from the response cache."""


@dataclass(slots=True)
class CacheMiss(Event):
    """The response cache had no entry (or was told to refresh it): the call goes to the provider."""

    refresh: bool = False
    """The call asked for ``cache="refresh"``: the cache was not read, its answer will be stored."""


@dataclass(slots=True)
class FirstToken(Event):
    """A stream delivered its first chunk with output (text, reasoning, a tool call or a refusal)."""

    ttft: float
    """Seconds from the start of the call to this chunk."""


@dataclass(slots=True)
class ChunkReceived(Event):
    """One streamed chunk. Opt-in: only subscribers that name ``ChunkReceived`` get these."""

    chunk: Any
    index: int
    """0 for the first chunk of the stream."""


@dataclass(slots=True)
class Finished(Event):
    """The call succeeded (a stream: it was read to its end)."""

    latency: float
    """Seconds from the start of the call to the full response (retries and waits included)."""
    ttft: float | None
    """Streams: seconds to the first output chunk."""
    stream: bool
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None
    """The response's cost in USD when known, else ``None`` (never a guess)."""
    response_model: str | None
    response_id: str | None
    finish_reasons: tuple[str, ...]
    cached: bool = False
    """Whether the response came from the response cache."""
    response: Any = None
    """The ``ChatCompletion`` / ``Completion`` / ``CreateEmbeddingResponse`` (streams: accumulated)."""
    usage: Any = None
    """The response's ``usage`` object as the provider reported it."""


@dataclass(slots=True)
class Failed(Event):
    """The call raised, or was cancelled (a task cancelled, a stream closed before its end)."""

    error: BaseException | None
    """The typed ``LLMError`` (``None`` for a stream closed early)."""
    error_type: str
    """The error's class name, or ``"cancelled"``."""
    latency: float
    stream: bool
    cancelled: bool = False


ALL_EVENTS: tuple[type[Event], ...] = (
    RequestStarted, AttemptStarted, RetryScheduled, FallbackTaken, CircuitOpened, CircuitClosed,
    CacheHit, CacheMiss, FirstToken, ChunkReceived, Finished, Failed,
)
