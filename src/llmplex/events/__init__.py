"""Observability: typed events for every step of a call, a bus to subscribe to them, sessions,
built-in metrics, and optional Prometheus and OpenTelemetry exporters.

>>> from llmplex import events
>>> sub = events.subscribe(print, events.Finished)          # doctest: +SKIP
>>> with client.session("checkout-flow") as s:              # doctest: +SKIP
...     client.chat.completions.create(model=m, messages=msgs)
>>> s.metrics().tokens                                      # doctest: +SKIP

Guide: docs/observability.md. The OpenTelemetry and Prometheus parts are the submodules
``llmplex.events.otel`` (``pip install llmplex[otel]``) and ``llmplex.events.prometheus``
(``pip install llmplex[prometheus]``); nothing here imports them.
"""

from __future__ import annotations

from typing import Any

from ._bus import DEFAULT_CAPACITY, Bus, Subscription
from ._metrics import Metrics, MetricsSnapshot, Percentiles, QuantileSketch, Stats, TokenCounts
from ._observer import BUS, CallObserver
from ._session import Session, active_sessions, session
from ._types import (
    ALL_EVENTS,
    AttemptStarted,
    CacheHit,
    CacheMiss,
    ChunkReceived,
    CircuitClosed,
    CircuitOpened,
    Event,
    Failed,
    FallbackTaken,
    Finished,
    FirstToken,
    RequestStarted,
    RetryScheduled,
)

__all__ = [
    "ALL_EVENTS",
    "BUS",
    "DEFAULT_CAPACITY",
    "AttemptStarted",
    "Bus",
    "CacheHit",
    "CacheMiss",
    "CallObserver",
    "ChunkReceived",
    "CircuitClosed",
    "CircuitOpened",
    "Event",
    "Failed",
    "FallbackTaken",
    "Finished",
    "FirstToken",
    "Metrics",
    "MetricsSnapshot",
    "Percentiles",
    "QuantileSketch",
    "RequestStarted",
    "RetryScheduled",
    "Session",
    "Stats",
    "Subscription",
    "TokenCounts",
    "active_sessions",
    "aflush",
    "flush",
    "session",
    "subscribe",
    "unsubscribe",
]


def subscribe(fn: Any, *types: type[Event], capacity: int | None = None, loop: Any = None) -> Subscription:
    """Deliver every call's events of the given classes (all but ``ChunkReceived`` when none are
    named) to ``fn``: a plain function on its own thread, a coroutine function on the running loop.

    >>> sub = subscribe(lambda e: print(e.provider, e.latency), Finished)   # doctest: +SKIP
    >>> unsubscribe(sub)                                                    # doctest: +SKIP
    """
    return BUS.subscribe(fn, *types, capacity=capacity, loop=loop)


def unsubscribe(sub: Subscription) -> None:
    """Stop delivering to ``sub``; what is queued is still delivered."""
    BUS.unsubscribe(sub)


def flush(timeout: float | None = None) -> bool:
    """Wait until the process-wide sync subscribers handled every queued event."""
    return BUS.flush(timeout)


async def aflush() -> None:
    """Wait until every process-wide subscriber handled every queued event."""
    await BUS.aflush()
