"""Fallback decisions and attempt outcomes: pure functions of errors.

A call with fallbacks walks a chain of models (``model=[...]`` or ``fallbacks=[...]``). The next
model is tried, before anything reached the caller, when the current one:

- failed with a retryable error after its retries (5xx, 408/409/429, connection errors, timeouts),
  or was refused a retry by the retry budget;
- hit a rate limit or quota that waiting will not fix (429 with ``retry-after`` above the cap,
  ``QuotaExceededError``): another provider has its own limits;
- has an open circuit (``CircuitOpenError`` from the guard);
- was refused by a spend budget (``BudgetExceededError``, never retried): the next model is
  checked at its own price, so only one whose estimate fits is sent (``resilience.spend``);
- rejected the prompt as too long (``ContextWindowExceededError``): then only models whose context
  window is larger are tried, when the catalog knows both windows (unknown windows are tried).

Other errors (400, 401, 403, 404, content filters, structured-output failures) are the caller's to
fix: they are raised at once. The overall deadline is never extended by a fallback.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ..errors import (
    APIConnectionError,
    BudgetExceededError,
    CircuitOpenError,
    ContextWindowExceededError,
    LLMError,
    RateLimitError,
)
from .guard import OutcomeKind
from .retry import RETRYABLE_STATUSES, is_retryable

__all__ = ["chain_errors", "falls_back", "next_in_chain", "outcome_kind"]


def falls_back(error: LLMError) -> bool:
    """Whether another model may succeed where this one failed."""
    return isinstance(error, (CircuitOpenError, BudgetExceededError, RateLimitError, ContextWindowExceededError)) \
        or is_retryable(error)


def next_in_chain(
    error: LLMError, current: int, size: int, context_window: Callable[[int], int | None]
) -> int | None:
    """Index of the next model to try after ``current`` failed with ``error``, or ``None``.

    ``context_window(i)`` gives the catalog's context window of chain entry ``i`` (``None``
    when unknown); it is only asked after a context-window overflow.

    >>> from llmplex.errors import ServiceUnavailableError
    >>> next_in_chain(ServiceUnavailableError("down", status_code=503), 0, 3, lambda i: None)
    1
    """
    if current + 1 >= size or not falls_back(error):
        return None
    if not isinstance(error, ContextWindowExceededError):
        return current + 1
    failed = context_window(current)
    for index in range(current + 1, size):
        window = context_window(index)
        if failed is None or window is None or window > failed:
            return index
    return None


def outcome_kind(error: BaseException | None) -> OutcomeKind:
    """How an attempt counts for the breaker and the router: ``success``; ``failure`` (5xx,
    408/409/429, connection errors, timeouts, unparseable replies); ``ignored`` (other 4xx, bad
    input: the caller's fault, RELIABILITY D4); ``cancelled`` (the caller gave up)."""
    if error is None:
        return "success"
    if not isinstance(error, LLMError):
        return "cancelled"
    if isinstance(error, APIConnectionError):
        return "failure"
    status = error.status_code
    if status is None:
        return "ignored" if isinstance(error, ValueError) else "failure"
    return "failure" if status >= 500 or status in RETRYABLE_STATUSES else "ignored"


def chain_errors(errors: Sequence[LLMError]) -> LLMError:
    """The error to raise when every model failed: the last one, its ``__cause__`` the one
    before (and so on), and ``attempts`` every model's final error in order."""
    last = errors[-1]
    for earlier, later in itertools.pairwise(errors):
        later.__cause__ = earlier
        later.__suppress_context__ = True
    last.attempts = tuple(errors)
    return last
