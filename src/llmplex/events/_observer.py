"""The emission API the drivers use: one `CallObserver` per call.

The drivers and the stream processor tell it what happens (``started``, ``attempt``, ``retry``,
``first chunk``, ``finished``, ``failed``); it keeps the call's timings, records the call once in
the client's and the sessions' metrics, settles its reservation in the spend budgets (when one
applies), writes one log record, and — only when someone listens — builds the typed events and
publishes them. With no subscriber, no hook and INFO logging off, a call costs a few attribute
checks and one metrics update (``benchmarks/events.py`` measures it).

Policies outside the drivers (the circuit breaker) publish their events through
:meth:`CallObserver.emit`.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from typing_extensions import ParamSpec

from .._redact import redact_known_shapes
from ._bus import Bus
from ._metrics import Metrics, usage_tokens
from ._session import Session, active_sessions
from ._types import (
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

if TYPE_CHECKING:
    from ..resilience.spend import Spend

__all__ = ["BUS", "NULL_OBSERVER", "CallObserver", "Hook", "add_hook", "observed", "observed_async", "remove_hook"]

BUS = Bus()
"""The process-wide bus: every call's events."""

_log = logging.getLogger("llmplex")
_INFO = logging.INFO
_PREFIX = f"{os.getpid():x}{random.getrandbits(16):04x}-"
_COUNTER = itertools.count(1)
_perf = time.perf_counter
_now = time.time

T = TypeVar("T")
P = ParamSpec("P")
E = TypeVar("E", bound=BaseException)


class Hook(Protocol):
    """An inline instrumentation (OpenTelemetry): told when a call starts, in the caller's
    context (so a span can have the caller's span as parent), and when it ends. Exceptions from a
    hook are logged at DEBUG and otherwise ignored."""

    def start(self, observer: CallObserver) -> Any: ...

    def end(self, observer: CallObserver, state: Any, event: Finished | Failed) -> None: ...


_HOOKS: tuple[Hook, ...] = ()


def add_hook(hook: Hook) -> None:
    """Install an inline hook (see :class:`Hook`)."""
    global _HOOKS
    _HOOKS = (*_HOOKS, hook)


def remove_hook(hook: Hook) -> None:
    """Remove a hook installed with :func:`add_hook`."""
    global _HOOKS
    _HOOKS = tuple(h for h in _HOOKS if h is not hook)


class CallObserver:
    """What one call reports. Built by the call factory, driven by the drivers."""

    __slots__ = ("attempts", "base", "cached", "chunks", "ended", "hook_state", "metrics", "model", "operation",
                 "provider", "request", "sessions", "spend", "stream", "t0", "ttft")

    def __init__(self, metrics: Metrics | None, provider: str, model: str, operation: str, stream: bool,
                 request: Any = None) -> None:
        self.metrics = metrics
        self.provider = provider
        self.model = model
        self.operation = operation
        self.stream = stream
        self.request = request
        """What was asked (chat: the messages), for hooks that record prompts when told to."""
        self.sessions: tuple[Session, ...] = active_sessions()
        self.t0 = _perf()
        self.attempts = 0
        self.ttft: float | None = None
        self.chunks = 0
        self.ended = False
        self.cached = False
        """Whether the call was answered by the response cache."""
        self.base: tuple[Any, ...] | None = None
        self.hook_state: tuple[Any, ...] = ()
        self.spend: Spend | None = None
        """The call's reservation in the spend budgets, settled when the call ends (``None``: no budget)."""

    # -- publishing ------------------------------------------------------------------------------

    def listening(self) -> bool:
        """Whether any bus this call publishes to has a subscriber (the drivers' hot path: two
        attribute reads when nobody listens and no session is active)."""
        return bool(BUS.subscriptions) or (bool(self.sessions) and any(s.bus.subscriptions for s in self.sessions))

    def _wants(self, cls: type[Event]) -> bool:
        return BUS.wants(cls) or any(s.bus.wants(cls) for s in self.sessions)

    def _ids(self) -> tuple[Any, ...]:
        """(call_id, provider, model, deployment, operation): fixed at the call's first event."""
        base = self.base
        if base is None:
            base = self.base = (f"{_PREFIX}{next(_COUNTER)}", self.provider, self.model,
                                f"{self.provider}/{self.model}", self.operation)
        return base

    def _event(self, cls: type[Any], *fields: Any, **named: Any) -> Any:
        session = self.sessions[0].name if self.sessions else None
        return cls(*self._ids(), self.attempts, _now(), _perf() - self.t0, session, *fields, **named)

    @property
    def call_id(self) -> str:
        """The correlation id of this call's events."""
        return str(self._ids()[0])

    def _publish(self, event: Event) -> None:
        BUS.publish(event)
        for s in self.sessions:
            s.bus.publish(event)

    def emit(self, cls: type[Event], **fields: Any) -> None:
        """Publish an event of class ``cls`` for this call (policies: ``FallbackTaken``,
        ``CircuitOpened``, ``CacheHit`` …) when anyone listens."""
        if self.listening():
            self._publish(self._event(cls, **fields))

    # -- what the drivers call ---------------------------------------------------------------------

    def started(self) -> None:
        """The call starts (the clock too)."""
        self.t0 = _perf()
        if _HOOKS:
            self.hook_state = tuple(_safe(h.start, self) for h in _HOOKS)
        if self.listening():
            self._publish(self._event(RequestStarted, self.stream))

    def attempt(self, attempt: int) -> None:
        """Attempt number ``attempt`` (0-based) is about to be sent."""
        self.attempts = attempt
        if self.listening():
            self._publish(self._event(AttemptStarted))

    def moved_to(self, provider: str, model: str, deployment: str, error: Exception | None) -> None:
        """The call falls back to another model: a ``FallbackTaken`` event, then every later
        event (and the call's metrics) names the new provider and model; the call id stays."""
        if self.listening():
            self._publish(self._event(FallbackTaken, provider, model, deployment, error))
        call_id = self._ids()[0]
        self.provider, self.model = provider, model
        self.base = (call_id, provider, model, deployment, self.operation)

    def cache_looked_up(self, hit: bool, refresh: bool) -> None:
        """The response cache was asked (``refresh``: asked to be bypassed and refilled)."""
        self.cached = hit
        if not hit:
            if self.metrics is not None:
                self.metrics.record_cache_miss(self.provider, self.model)
            for s in self.sessions:
                s.metrics.record_cache_miss(self.provider, self.model)
        if self.listening():
            self._publish(self._event(CacheHit) if hit else self._event(CacheMiss, refresh))

    def circuit_changed(self, change: str, outcome: str, status: int | None) -> None:
        """This call's attempt opened or closed its deployment's circuit."""
        if self.listening():
            if change == "opened":
                reason = f"{outcome} (HTTP {status})" if status is not None else outcome
                self._publish(self._event(CircuitOpened, reason))
            else:
                self._publish(self._event(CircuitClosed))

    def retry(self, error: Exception, delay: float) -> None:
        """The attempt failed with ``error``; the next one starts in ``delay`` seconds."""
        if self.listening():
            self._publish(self._event(RetryScheduled, error, delay))

    def chunk(self, chunk: Any) -> bool:
        """A streamed chunk arrived. Returns whether later chunks still need to be shown (the
        processor stops calling once the first token is seen and nobody wants chunks)."""
        if self.ttft is None and _has_output(chunk):
            self.ttft = _perf() - self.t0
            if self.listening():
                self._publish(self._event(FirstToken, self.ttft))
        if self.listening() and self._wants(ChunkReceived):
            self._publish(self._event(ChunkReceived, chunk, self.chunks))
            self.chunks += 1
            return True
        self.chunks += 1
        return self.ttft is None

    def finished(self, result: T) -> T:
        """The call succeeded with ``result``; returns it."""
        self._finish(result, getattr(result, "usage", None), lambda: result)
        return result

    def stream_finished(self, usage: Any, completion: Callable[[], Any]) -> None:
        """The stream ended well; ``completion()`` builds the accumulated response (only called
        when an event is built)."""
        self._finish(None, usage, completion)

    def _finish(self, result: Any, usage: Any, response: Callable[[], Any]) -> None:
        if self.ended:
            return
        self.ended = True
        latency = _perf() - self.t0
        tokens = usage_tokens(usage)
        if result is None and usage is not None:  # a stream: its (priced) result is built once, here
            built = response()
            response = lambda: built  # noqa: E731
            result = built
        priced = _field(result, "cost") if result is not None else None
        cost = float(priced) if priced is not None else None
        cached = self.cached
        if self.spend is not None:
            self.spend.settle(priced)
        if self.metrics is not None:
            self.metrics.record_success(self.provider, self.model, latency, self.ttft, self.attempts, tokens, cost,
                                        cached)
        for s in self.sessions:
            s.metrics.record_success(self.provider, self.model, latency, self.ttft, self.attempts, tokens, cost,
                                     cached)
        listening = self.listening()
        if listening or _HOOKS or _log.isEnabledFor(_INFO):
            self._end(self._finished_event(response(), latency, usage, tokens, cost), listening)

    def _finished_event(self, full: Any, latency: float, usage: Any, tokens: tuple[int, int, int, int] | None,
                        cost: float | None) -> Finished:
        inp, out, cached, reasoning = tokens if tokens is not None else (None, None, None, None)
        return self._event(  # type: ignore[no-any-return]
            Finished, latency, self.ttft, self.stream, inp, out, cached, reasoning,
            cost, getattr(full, "model", None) or None,
            getattr(full, "id", None) or None, _finish_reasons(full), self.cached, full, usage,
        )

    def failed(self, error: E, cancelled: bool = False) -> E:
        """The call raised ``error`` (or was cancelled); returns it. Later reports are ignored."""
        if self.ended:
            return error
        self.ended = True
        latency = _perf() - self.t0
        if self.spend is not None:
            self.spend.failed(error, self.stream and self.chunks > 0)
        cancelled = cancelled or not isinstance(error, Exception)
        error_type = "cancelled" if cancelled else type(error).__name__
        if self.metrics is not None:
            self.metrics.record_failure(self.provider, self.model, error_type, self.attempts)
        for s in self.sessions:
            s.metrics.record_failure(self.provider, self.model, error_type, self.attempts)
        listening = self.listening()
        if listening or _HOOKS or _log.isEnabledFor(_INFO):
            event: Failed = self._event(Failed, error=None if cancelled and not isinstance(error, Exception)
                                        else error, error_type=error_type, latency=latency, stream=self.stream,
                                        cancelled=cancelled)
            self._end(event, listening)
        return error

    def abandoned(self) -> None:
        """A stream was closed before its end (``break``, ``close()``, a cancelled task)."""
        if not self.ended:
            self.failed(GeneratorExit(), cancelled=True)

    def _end(self, event: Finished | Failed, listening: bool) -> None:
        for hook, state in zip(_HOOKS, self.hook_state, strict=False):
            _safe(hook.end, self, state, event)
        if listening:
            self._publish(event)
        if _log.isEnabledFor(_INFO):
            log_call(event)


class _NullObserver(CallObserver):
    """For calls built without a client (tests): reports nothing."""

    def __init__(self) -> None:
        super().__init__(None, "", "", "", False)

    def started(self) -> None: ...
    def attempt(self, attempt: int) -> None: ...
    def retry(self, error: Exception, delay: float) -> None: ...
    def cache_looked_up(self, hit: bool, refresh: bool) -> None: ...
    def circuit_changed(self, change: str, outcome: str, status: int | None) -> None: ...
    def chunk(self, chunk: Any) -> bool:
        return False
    def finished(self, result: T) -> T:
        return result
    def stream_finished(self, usage: Any, completion: Callable[[], Any]) -> None: ...
    def failed(self, error: E, cancelled: bool = False) -> E:
        return error
    def abandoned(self) -> None: ...


NULL_OBSERVER: CallObserver = _NullObserver()


def _field(obj: Any, name: str) -> Any:
    """A response field that may not exist yet (``cost``, ``cached``), read from the instance dict:
    ``getattr`` with a default on a pydantic model costs ~10 µs when the attribute is missing."""
    values = getattr(obj, "__dict__", None)
    return values.get(name) if values else None


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        _log.debug("llmplex observability hook %r raised", fn, exc_info=True)
        return None


def _has_output(chunk: Any) -> bool:
    """Whether a streamed chunk carries output (a role-only first chunk does not)."""
    for choice in getattr(chunk, "choices", ()):
        delta = getattr(choice, "delta", None)
        if delta is None:
            if getattr(choice, "text", None):
                return True
        elif delta.content or delta.reasoning_content or delta.tool_calls or delta.refusal:
            return True
    return False


def _finish_reasons(response: Any) -> tuple[str, ...]:
    return tuple(
        c.finish_reason for c in getattr(response, "choices", None) or () if getattr(c, "finish_reason", None)
    )


def log_call(event: Finished | Failed) -> None:
    """The one INFO record of a call on the ``llmplex`` logger; its fields are in ``record.llmplex``."""
    fields: dict[str, Any] = {
        "call_id": event.call_id, "operation": event.operation, "provider": event.provider, "model": event.model,
        "attempts": event.attempt + 1, "latency_ms": round(event.latency * 1000, 3), "stream": event.stream,
        "session": event.session,
    }
    if isinstance(event, Finished):
        fields.update(outcome="ok", ttft_ms=None if event.ttft is None else round(event.ttft * 1000, 3),
                      input_tokens=event.input_tokens, output_tokens=event.output_tokens,
                      cached_tokens=event.cached_tokens, reasoning_tokens=event.reasoning_tokens, cost=event.cost,
                      response_model=event.response_model, cache_hit=event.cached)
        summary = f"ok in {fields['latency_ms']} ms, tokens {event.input_tokens}/{event.output_tokens}"
        if event.cached:
            summary += " (response cache)"
    else:
        message = getattr(event.error, "message", None) or (str(event.error) if event.error is not None else "")
        fields.update(outcome="cancelled" if event.cancelled else "error", error_type=event.error_type,
                      error=redact_known_shapes(message), status_code=getattr(event.error, "status_code", None))
        summary = f"{fields['outcome']} ({event.error_type}) after {fields['latency_ms']} ms"
    _log.info("%s %s/%s %s", event.operation, event.provider, event.model, summary, extra={"llmplex": fields})


# -- the driver decorators: start the observer, report an exception that escapes --------------------


def observed(driver: Callable[P, T]) -> Callable[P, T]:
    """Wrap a sync driver ``(call, transport)``: RequestStarted on entry, Failed on an escaping exception."""

    @functools.wraps(driver)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        events: CallObserver = cast(Any, args[0]).events
        events.started()
        try:
            return driver(*args, **kwargs)
        except BaseException as exc:
            events.failed(exc)
            raise

    return run


def observed_async(driver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Async twin of :func:`observed` (a cancelled task is reported as cancelled)."""

    @functools.wraps(driver)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        events: CallObserver = cast(Any, args[0]).events
        events.started()
        try:
            return await driver(*args, **kwargs)
        except BaseException as exc:
            events.failed(exc)
            raise

    return run
