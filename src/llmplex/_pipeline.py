"""The twin drivers: run one call, synchronously or asynchronously.

They are the only code that sleeps or sends. Everything they decide with is pure: the adapter
builds and parses; ``resilience.plan.CallPlan`` says which model to try, when, with which
timeouts, and what to raise in the end (retries, retry budget, guard, fallbacks, deadline). The
two drivers are written out twice on purpose (STYLE.md rule 4) and tested as one.

Every attempt goes: wait the planned delay -> once per model: prepare its call (image downloads,
credential refresh), look it up in the response cache (a hit ends the call there: it costs
nothing and takes no budget, rate-limit slot or probe), reserve its estimated cost in the spend
budgets (``resilience.spend``) -> ``guard.admit`` and wait what it says -> send -> report success
or failure to the plan (which tells the guard); a success is stored in the response cache. A
stream is handed over only once its first chunk arrived, so everything before the first chunk
(error statuses, resets, a silent server) is retried or falls back; nothing after it is.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._http import HttpRequest, HttpResponse
from ._media import MediaStep, fetch_async, fetch_sync
from ._requests import CallSettings
from .errors import APIStatusError, LLMError
from .events._observer import NULL_OBSERVER, CallObserver, observed, observed_async
from .resilience.guard import NO_GUARD, Deployment, Guard
from .resilience.plan import Attempt, CallPlan
from .resilience.retry import parse_retry_after
from .streaming import Accumulator, AsyncStream, Stream, StreamProcessor
from .transport import AsyncBufferedStreamResponse, AsyncTransport, BufferedStreamResponse, SyncTransport

if TYPE_CHECKING:
    from ._call_tokens import PromptTokens, TextTokens
    from .cache._entry import CachedResponse
    from .cache._use import CacheUse
    from .providers.base import BlockingCredentials
    from .resilience.budget import RetryBudget
    from .resilience.deadline import StreamTimer
    from .resilience.spend import Spend

__all__ = ["Call", "run_async", "run_stream_async", "run_stream_sync", "run_sync"]

T = TypeVar("T")
_DEFAULT_DEPLOYMENT = Deployment("", "", "")


@dataclass(slots=True)  # not frozen: built on every call, and frozen init costs ~4x
class Call(Generic[T]):
    """Everything the drivers need for one call, as data and pure functions."""

    provider: str
    model: str
    settings: CallSettings
    build: Callable[[], HttpRequest]
    parse: Callable[[HttpResponse], T]
    parse_error: Callable[[HttpResponse], LLMError]
    decoder: Callable[[], Any] | None = None
    accumulator: Callable[[], Accumulator] | None = None
    media: MediaStep | None = None
    """Image URLs to download and inline once, before the first attempt."""
    output: Any = None
    """The structured-output plan (``llmplex.structured.StructuredPlan``) when a schema was asked."""
    credentials: BlockingCredentials | None = None
    """Credentials to refresh before the first attempt when they are not ready (async: off the loop)."""
    guard: Guard = NO_GUARD
    """Asked before and told after every attempt (circuit breaker, rate limiter …)."""
    deployment: Deployment = _DEFAULT_DEPLOYMENT
    """Where the call goes, for the guard and the retry budget (default: provider/model)."""
    budget: RetryBudget | None = None
    """The retry budget of the client (``None``: retries limited by ``max_retries`` only)."""
    prompt: PromptTokens | TextTokens | None = None
    """The call's input tokens (chat: the prompt; completions and embeddings: the input), counted
    once when first asked: by the rate limiter, the context-window check before the first attempt
    (chat), and the usage estimate of a response without usage."""
    fallbacks: tuple[Call[Any], ...] = ()
    """The calls to the fallback models, tried in order (see ``resilience.fallback``)."""

    def __post_init__(self) -> None:
        if self.deployment is _DEFAULT_DEPLOYMENT:
            self.deployment = Deployment(self.provider, self.model, f"{self.provider}/{self.model}")
    pricing: Callable[[Any], Any] | None = None
    """Sets ``cost`` on a result from its usage (``catalog.cost_of`` for the serving model)."""
    cache: CacheUse | None = None
    """The response cache of this model of the call (looked up before its first attempt)."""
    built: HttpRequest | None = None
    """The first attempt's request when the cache lookup built it already (sent as it is)."""
    events: CallObserver = NULL_OBSERVER
    """Where the call reports what happens (events, metrics, the log record); set by the call factory."""
    spend: Spend | None = None
    """The spend budgets' reservation for this logical call (``resilience.spend``), when a budget applies."""

    def error_for(self, resp: HttpResponse) -> LLMError:
        """The typed error for a non-2xx response, with ``retry_after`` from the headers."""
        if 300 <= resp.status < 400:
            return APIStatusError(
                f"{self.provider} answered with a redirect (HTTP {resp.status}); llmplex does not "
                f"follow redirects on provider calls: check base_url",
                status_code=resp.status,
            )
        error = self.parse_error(resp)
        if error.retry_after is None:
            error.retry_after = parse_retry_after(resp.headers, time.time())
        return error

    def finish(self, error: LLMError) -> LLMError:
        """Last touches before raising: who failed, and no secrets in the message."""
        error.provider = error.provider or self.provider
        error.model = error.model or self.model
        error.scrub(self.settings.secrets())
        return error

    def processor(
        self, req: HttpRequest, content_type: str | None = None, timer: StreamTimer | None = None,
        *, replayed: bool = False,
    ) -> StreamProcessor[Any]:
        """A fresh stream processor for this call (the response's content type picks the framing
        where the request allows more than one; `timer` enforces the chunk timeouts). With a
        response cache the bytes are recorded and stored once the stream ends well; a stream
        ``replayed`` from the cache is not recorded again, and its result is flagged ``cached``."""
        assert self.decoder is not None and self.accumulator is not None and req.stream is not None
        pricing, recorder = self.pricing, None
        if replayed:
            from .cache._use import mark_cached

            pricing = functools.partial(mark_cached, self.provider, self.model)
        elif self.cache is not None:
            recorder = self.cache.recorder(content_type)
        return StreamProcessor(req.stream, self.decoder(), self.accumulator(), provider=self.provider,
                               model=self.model, secrets=self.settings.secrets(), content_type=content_type,
                               timer=timer, observer=self.events, pricing=pricing, recorder=recorder,
                               replayed=replayed)

    def result(self, resp: HttpResponse) -> T:
        """A 2xx response as the call's result: parsed, priced, and kept in the response cache."""
        result = self.parse(resp)
        if self.pricing is not None:
            self.pricing(result)
        if self.cache is not None:
            self.cache.store(resp.headers.get("content-type"), resp.body)
        return result

    def replay(self, entry: CachedResponse) -> T:
        """A cached whole response, parsed as the provider's would be; ``cached=True``, cost zero."""
        from .cache._use import cached_response, mark_cached

        result = self.parse(cached_response(entry))
        mark_cached(self.provider, self.model, result)
        return result

    def replay_stream(self, entry: CachedResponse) -> tuple[StreamProcessor[Any], Mapping[str, str]]:
        """A stream processor for a cached stream (of the request the cache lookup built), and the
        headers its response shows."""
        from .cache._use import cached_headers

        assert self.built is not None
        return self.processor(self.built, entry.content_type, replayed=True), cached_headers(entry)


def _prepare_sync(call: Call[Any], transport: SyncTransport) -> None:
    """What runs once per model before its first attempt: image downloads, then a credential refresh."""
    if call.media is not None:
        fetch_sync(call.media, transport)
    if call.credentials is not None and not call.credentials.ready():
        call.credentials.refresh()


async def _prepare_async(call: Call[Any], transport: AsyncTransport) -> None:
    """Async twin of :func:`_prepare_sync`. The refresh is a blocking call inside a third-party
    library (google-auth has no stable async API), so it runs in a worker thread, as asyncio runs
    ``getaddrinfo``: the only thread hop in the drivers, about once an hour."""
    if call.media is not None:
        await fetch_async(call.media, transport)
    if call.credentials is not None and not call.credentials.ready():
        await asyncio.to_thread(call.credentials.refresh)


def _cached(attempt: Attempt) -> CachedResponse | None:
    """The response cache's entry for the attempt's model (asked once, before its first attempt;
    the request built for the key is the one sent on a miss)."""
    call = attempt.call
    use = call.cache
    assert use is not None
    call.built = req = call.build()
    entry = use.read() if use.prepare(call.provider, req, call.settings.secrets(), call.settings.base_url) else None
    call.events.cache_looked_up(entry is not None, use.mode == "refresh")
    return entry


async def _cached_async(attempt: Attempt) -> CachedResponse | None:
    """Async twin of :func:`_cached`: a backend that does I/O (SQLite, Redis) is read on the
    client's cache thread and written there in the background, so a slow store never stalls the
    event loop."""
    call = attempt.call
    use = call.cache
    assert use is not None
    call.built = req = call.build()
    entry = None
    if use.prepare(call.provider, req, call.settings.secrets(), call.settings.base_url):
        worker = use.worker
        entry = await asyncio.get_running_loop().run_in_executor(worker, use.read) if worker else use.read()
    call.events.cache_looked_up(entry is not None, use.mode == "refresh")
    return entry


def _before_sync(plan: CallPlan, attempt: Attempt, transport: SyncTransport) -> CachedResponse | None:
    """Wait the planned delay; once per model: prepare its call, look it up in the response cache
    (returns a hit) and reserve its cost in the spend budgets (or raise ``BudgetExceededError``);
    ask the guard and wait its delay."""
    if attempt.delay:
        time.sleep(attempt.delay)
    if attempt.number == 0:
        _prepare_sync(attempt.call, transport)
        if attempt.call.cache is not None and (hit := _cached(attempt)) is not None:
            return hit
        if attempt.call.spend is not None:  # a budget applies: reserve this model's estimate, or raise
            attempt.call.spend.reserve(attempt.call.provider, attempt.call.model)
    attempt.call.events.attempt(attempt.number)
    wait = plan.admit(attempt)
    if wait:
        time.sleep(wait)
    return None


async def _before_async(plan: CallPlan, attempt: Attempt, transport: AsyncTransport) -> CachedResponse | None:
    """Async twin of :func:`_before_sync`."""
    if attempt.delay:
        await asyncio.sleep(attempt.delay)
    if attempt.number == 0:
        await _prepare_async(attempt.call, transport)
        if attempt.call.cache is not None and (hit := await _cached_async(attempt)) is not None:
            return hit
        if attempt.call.spend is not None:  # a budget applies: reserve this model's estimate, or raise
            attempt.call.spend.reserve(attempt.call.provider, attempt.call.model)
    attempt.call.events.attempt(attempt.number)
    wait = plan.admit(attempt)
    if wait:
        await asyncio.sleep(wait)
    return None


@observed
def run_sync(call: Call[T], transport: SyncTransport) -> T:
    """Send a call and parse the whole response, retrying and falling back as the plan says."""
    plan = CallPlan(call)
    while True:
        attempt = plan.next()  # raises the final error when nothing is left to try
        try:
            hit = _before_sync(plan, attempt, transport)
            if hit is not None:
                replayed: T = attempt.call.replay(hit)
                return call.events.finished(replayed)
            resp = transport.send(plan.request(attempt), plan.timeout(attempt))
            if 200 <= resp.status < 300:
                result: T = attempt.call.result(resp)
                plan.succeeded(attempt, resp, result)
                return call.events.finished(result)
            plan.failed(attempt, attempt.call.error_for(resp), resp)
        except LLMError as exc:
            plan.failed(attempt, exc)
        except BaseException:
            plan.cancelled(attempt)
            raise


@observed_async
async def run_async(call: Call[T], transport: AsyncTransport) -> T:
    """Async twin of :func:`run_sync`."""
    plan = CallPlan(call)
    while True:
        attempt = plan.next()
        try:
            hit = await _before_async(plan, attempt, transport)
            if hit is not None:
                replayed: T = attempt.call.replay(hit)
                return call.events.finished(replayed)
            resp = await transport.send(plan.request(attempt), plan.timeout(attempt))
            if 200 <= resp.status < 300:
                result: T = attempt.call.result(resp)
                plan.succeeded(attempt, resp, result)
                return call.events.finished(result)
            plan.failed(attempt, attempt.call.error_for(resp), resp)
        except LLMError as exc:
            plan.failed(attempt, exc)
        except BaseException:
            plan.cancelled(attempt)
            raise


@observed
def run_stream_sync(call: Call[Any], transport: SyncTransport) -> Stream[Any]:
    """Open a stream and hand it over once its first chunk arrived (before that, failures are
    retried or fall back)."""
    plan = CallPlan(call, stream=True)
    while True:
        attempt = plan.next()
        try:
            hit = _before_sync(plan, attempt, transport)
            if hit is not None:
                processor, headers = attempt.call.replay_stream(hit)
                return Stream(BufferedStreamResponse(200, headers, (hit.body,)), processor).prefetch()
            req = plan.request(attempt)
            resp = transport.open_stream(req, plan.timeout(attempt))
            if 200 <= resp.status < 300:
                processor = attempt.call.processor(req, resp.headers.get("content-type"), plan.stream_timer(attempt))
                stream = Stream(resp, processor).prefetch()
                plan.succeeded(attempt, resp, None)
                return stream
            plan.failed(attempt, attempt.call.error_for(resp.read_all()), resp)
        except LLMError as exc:
            plan.failed(attempt, exc)
        except BaseException:
            plan.cancelled(attempt)
            raise


@observed_async
async def run_stream_async(call: Call[Any], transport: AsyncTransport) -> AsyncStream[Any]:
    """Async twin of :func:`run_stream_sync`."""
    plan = CallPlan(call, stream=True)
    while True:
        attempt = plan.next()
        try:
            hit = await _before_async(plan, attempt, transport)
            if hit is not None:
                processor, headers = attempt.call.replay_stream(hit)
                return await AsyncStream(AsyncBufferedStreamResponse(200, headers, (hit.body,)), processor).prefetch()
            req = plan.request(attempt)
            resp = await transport.open_stream(req, plan.timeout(attempt))
            if 200 <= resp.status < 300:
                processor = attempt.call.processor(req, resp.headers.get("content-type"), plan.stream_timer(attempt))
                stream = await AsyncStream(resp, processor).prefetch()
                plan.succeeded(attempt, resp, None)
                return stream
            plan.failed(attempt, attempt.call.error_for(await resp.read_all()), resp)
        except LLMError as exc:
            plan.failed(attempt, exc)
        except BaseException:
            plan.cancelled(attempt)
            raise
