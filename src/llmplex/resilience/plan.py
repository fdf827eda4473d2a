"""The plan of one logical call: which model to try next, after how long, with which timeouts
and headers, and what to raise when nothing is left. The twin drivers in ``_pipeline.py`` run it
(sleep, send, read) and report back; every decision is made here.

For each attempt: wait the retry delay, ``guard.admit`` (wait what it returns; an open circuit
moves to the next model), send with the timeouts capped by the overall deadline, then
``guard.record`` the outcome. Retries follow ``resilience.retry`` (and the retry budget); when a
model is done, ``resilience.fallback`` picks the next one.

Headers added to every attempt: ``Idempotency-Key`` (one key per model of a logical call, the same
on each of its retries: a provider that honours it can drop duplicates; a caller's own
``Idempotency-Key`` in ``extra_headers`` wins) and ``x-llmplex-retry-count`` (0 on the first
attempt, then 1, 2 …, like the official SDKs' ``x-stainless-retry-count``).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._http import HttpRequest, HttpResponse
from .._requests import Timeout
from ..errors import APITimeoutError, DeadlineExceededError, LLMError
from .deadline import Deadline, StreamTimer
from .fallback import chain_errors, next_in_chain, outcome_kind
from .guard import NO_GUARD, Outcome
from .retry import retry_delay

if TYPE_CHECKING:
    from .._pipeline import Call

__all__ = ["IDEMPOTENCY_HEADER", "RETRY_COUNT_HEADER", "Attempt", "CallPlan"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_COUNT_HEADER = "x-llmplex-retry-count"


class Attempt:
    """One try of one model of the chain."""

    __slots__ = ("admitted", "call", "delay", "index", "key", "number", "replayable", "retry", "started", "tokens")

    def __init__(self, call: Call[Any], index: int, number: int, delay: float, key: str, retry: bool) -> None:
        self.call = call
        self.index = index
        self.number = number
        """Attempts made on this model before this one (the retry-count header)."""
        self.delay = delay
        """Seconds to wait before this attempt (backoff or ``retry-after``)."""
        self.key = key
        self.retry = retry
        """Whether the retry budget granted this attempt (released when it is over)."""
        self.admitted = False
        self.started = 0.0
        self.replayable = True
        self.tokens = 0
        """Prompt tokens the guard was charged at admission (corrected by the usage afterwards)."""


def _new_key() -> str:
    return f"llmplex-{uuid.uuid4().hex}"


def _usage(result: Any) -> tuple[int | None, int | None]:
    usage = getattr(result, "usage", None)
    if usage is None:
        return None, None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)


def _limits_tokens(guard: Any, deployment: Any) -> bool:
    """Whether the guard limits tokens for the deployment (``PolicyGuard.limits_tokens``); a guard
    that does not say is given the count."""
    asks = getattr(guard, "limits_tokens", None)
    return asks is None or bool(asks(deployment))


def _headers(resp: Any) -> dict[str, str]:
    """Response headers with lower-case names, for the guard."""
    return {k.lower(): v for k, v in resp.headers.items()} if resp is not None else {}


class CallPlan:
    """The retry / fallback / deadline state of one logical call (sync and async alike)."""

    __slots__ = ("_chain", "_errors", "_last", "_next", "_sends", "clock", "deadline", "rand", "stream")

    def __init__(self, call: Call[Any], *, stream: bool = False, clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random) -> None:
        self._chain: tuple[Call[Any], ...] = (call, *call.fallbacks)
        self.deadline = Deadline(call.settings.deadline, clock)
        self.clock = clock
        self.rand = rand
        self.stream = stream
        self._errors: list[LLMError] = []
        """The error that ended each model's tries (and the deadline's, last, when it passed)."""
        self._last: LLMError | None = None
        self._sends = 0
        self._next: Attempt | None = self._first(0)

    def _first(self, index: int) -> Attempt:
        call = self._chain[index]
        if call.budget is not None:
            call.budget.request(call.deployment.id)
        return Attempt(call, index, 0, 0.0, _new_key(), False)

    # -- asked by the drivers, in order ----------------------------------------------------------
    def next(self) -> Attempt:
        """The next attempt; raises the final error when there is none."""
        attempt, self._next = self._next, None
        if attempt is None:
            raise self._final()
        if not self.deadline.allows(attempt.delay):
            self._end(attempt)
            self._errors += [e for e in (self._last,) if e is not None]
            self._errors.append(self.deadline.exceeded(self._sends, self._last))
            raise self._final()
        return attempt

    def admit(self, attempt: Attempt) -> float:
        """Check that a model's prompt fits its context window before its first attempt (raises
        ``ContextWindowExceededError``: nothing is sent, and a fallback with a larger window is
        tried as after the provider's 400), then ask the guard: seconds to wait before sending
        (raises ``CircuitOpenError`` …). The guard is charged the prompt's count when it limits
        tokens (counted once per model, shared with the check)."""
        call = attempt.call
        prompt = call.prompt
        if prompt is not None and attempt.number == 0 and call.settings.context_check:
            prompt.check()
        guard = call.guard
        if guard is NO_GUARD:
            return 0.0  # not "admitted": nothing to record afterwards either
        tokens = prompt.tokens() if prompt is not None and _limits_tokens(guard, call.deployment) else 0
        wait = guard.admit(call.deployment, estimated_tokens=tokens)
        attempt.admitted = True
        attempt.tokens = tokens
        if wait > 0 and not self.deadline.allows(wait):
            raise self.deadline.exceeded(self._sends, None)
        return wait

    def request(self, attempt: Attempt) -> HttpRequest:
        """The attempt's request, with the idempotency and retry-count headers."""
        call = attempt.call
        req = call.built or call.build()  # built already when the response cache was asked
        call.built = None
        headers = dict(req.headers)
        if not any(name.lower() == "idempotency-key" for name in headers):
            headers[IDEMPOTENCY_HEADER] = attempt.key
        headers[RETRY_COUNT_HEADER] = str(attempt.number)
        req.headers = headers
        # Every built-in adapter sends bytes; a body given as an iterator (a third-party adapter
        # streaming an upload) is consumed by sending it and cannot be sent again.
        attempt.replayable = req.body is None or isinstance(req.body, (bytes, bytearray, memoryview, str))
        attempt.started = self.clock()
        self._sends += 1
        return req

    def timeout(self, attempt: Attempt) -> Timeout:
        """The attempt's timeouts: the call's, capped by the deadline; a stream waits for its
        headers no longer than its first-token timeout."""
        timeout = self.deadline.cap(attempt.call.settings.timeout)
        first = timeout.first_token
        if self.stream and first is not None and (timeout.read is None or timeout.read > first):
            timeout = Timeout(timeout.connect, first, first, timeout.idle)
        return timeout

    def stream_timer(self, attempt: Attempt) -> StreamTimer:
        """The chunk timer of a stream opened by this attempt."""
        return StreamTimer(attempt.call.settings.timeout, self.deadline, started=attempt.started, clock=self.clock)

    # -- told by the drivers -----------------------------------------------------------------------
    def succeeded(self, attempt: Attempt, resp: HttpResponse | Any, result: Any) -> None:
        """The attempt worked: tell the guard."""
        if attempt.admitted:
            prompt, completion = _usage(result)
            self._record(attempt, Outcome("success", self.clock() - attempt.started, resp.status, prompt, completion,
                                          _headers(resp), attempt.tokens))
        self._end(attempt)

    def cancelled(self, attempt: Attempt) -> None:
        """The caller gave up (task cancelled, KeyboardInterrupt) during the attempt."""
        self._record(attempt, Outcome("cancelled", self.clock() - attempt.started))
        self._end(attempt)

    def failed(self, attempt: Attempt, error: LLMError, resp: HttpResponse | Any = None) -> None:
        """The attempt failed: tell the guard, then plan a retry, a fallback, or the end."""
        call = attempt.call
        if self.stream and attempt.started and type(error) is APITimeoutError:
            error = self.stream_timer(attempt).explain(error)  # no headers within first_token
        error = self._last = call.finish(error)
        if attempt.admitted and not attempt.started:  # admitted, then stopped before sending (the deadline)
            self._record(attempt, Outcome("cancelled"))
        elif attempt.admitted:
            self._record(attempt, Outcome(outcome_kind(error), self.clock() - attempt.started, error.status_code,
                                          headers=_headers(resp)))
        self._end(attempt)
        if isinstance(error, DeadlineExceededError):
            self._errors.append(error)
            return  # nothing follows: the deadline covers the fallbacks too
        delay = retry_delay(error, attempt.number, call.settings.max_retries, self.rand)
        if delay is not None and not attempt.replayable:
            error.message += " (not retried: the request body is a one-shot stream that cannot be sent again)"
            error.args = (error.message,)
            delay = None
        if delay is not None:
            if not self.deadline.allows(delay):
                self._errors += [error, self.deadline.exceeded(self._sends, error)]
                return
            if call.budget is None or call.budget.acquire_retry(call.deployment.id):
                self._next = Attempt(call, attempt.index, attempt.number + 1, delay, attempt.key,
                                     call.budget is not None)
                call.events.retry(error, delay)
                return
        self._errors.append(error)
        following = next_in_chain(error, attempt.index, len(self._chain), self._context_window)
        if following is not None:
            self._next = self._first(following)
            to = self._next.call
            call.events.moved_to(to.provider, to.model, to.deployment.id, error)

    # -- internals ---------------------------------------------------------------------------------
    def _record(self, attempt: Attempt, outcome: Outcome) -> None:
        if attempt.admitted:
            attempt.admitted = False
            changed = attempt.call.guard.record(attempt.call.deployment, outcome)
            if changed is not None:
                attempt.call.events.circuit_changed(changed, outcome.kind, outcome.status)

    def _end(self, attempt: Attempt) -> None:
        if attempt.retry:
            attempt.retry = False
            budget = attempt.call.budget
            if budget is not None:
                budget.release_retry(attempt.call.deployment.id)

    def _context_window(self, index: int) -> int | None:
        from ..catalog import model_limits

        call = self._chain[index]
        if call.prompt is not None:  # the client's catalog entries first, looked up once
            return call.prompt.window()
        limits = model_limits(call.provider, call.model)
        return limits.context_window if limits is not None else None

    def _final(self) -> LLMError:
        errors = self._errors
        if self.deadline.remaining() == 0.0 and not isinstance(errors[-1], DeadlineExceededError):
            errors.append(self.deadline.exceeded(self._sends, errors[-1]))
        if len(errors) == 1:
            return errors[0]
        return chain_errors(errors)

