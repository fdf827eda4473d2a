"""The twin drivers: run one call, synchronously or asynchronously.

They are the only code that sleeps or sends. Everything they decide with is pure: the adapter
builds and parses, ``resilience.retry`` says whether and when to try again. The two drivers are
written out twice on purpose (STYLE.md rule 4) and tested as one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._http import HttpRequest, HttpResponse
from ._media import MediaStep, fetch_async, fetch_sync
from ._requests import CallSettings
from .errors import APIStatusError, LLMError
from .events._observer import NULL_OBSERVER, CallObserver, observed, observed_async
from .resilience.retry import parse_retry_after, retry_delay
from .streaming import Accumulator, AsyncStream, Stream, StreamProcessor
from .transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from .providers.base import BlockingCredentials

__all__ = ["Call", "run_async", "run_stream_async", "run_stream_sync", "run_sync"]

T = TypeVar("T")


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
    events: CallObserver = NULL_OBSERVER
    """Where the call reports what happens (events, metrics, the log record); set by the call factory."""

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

    def processor(self, req: HttpRequest, content_type: str | None = None) -> StreamProcessor[Any]:
        """A fresh stream processor for this call (the response's content type picks the framing
        where the request allows more than one)."""
        assert self.decoder is not None and self.accumulator is not None and req.stream is not None
        return StreamProcessor(req.stream, self.decoder(), self.accumulator(), provider=self.provider,
                               model=self.model, secrets=self.settings.secrets(), content_type=content_type,
                               observer=self.events)


def _prepare_sync(call: Call[Any], transport: SyncTransport) -> None:
    """What runs once before the first attempt: image downloads, then a credential refresh."""
    if call.media is not None:
        fetch_sync(call.media, transport)
    if call.credentials is not None and not call.credentials.ready():
        try:
            call.credentials.refresh()
        except LLMError as exc:
            raise call.finish(exc) from None


async def _prepare_async(call: Call[Any], transport: AsyncTransport) -> None:
    """Async twin of :func:`_prepare_sync`. The refresh is a blocking call inside a third-party
    library (google-auth has no stable async API), so it runs in a worker thread, as asyncio runs
    ``getaddrinfo``: the only thread hop in the drivers, about once an hour."""
    if call.media is not None:
        await fetch_async(call.media, transport)
    if call.credentials is not None and not call.credentials.ready():
        try:
            await asyncio.to_thread(call.credentials.refresh)
        except LLMError as exc:
            raise call.finish(exc) from None


@observed
def run_sync(call: Call[T], transport: SyncTransport) -> T:
    """Send a call and parse the whole response, retrying as the policy says."""
    _prepare_sync(call, transport)
    attempt = 0
    while True:
        call.events.attempt(attempt)
        try:
            resp = transport.send(call.build(), call.settings.timeout)
            if 200 <= resp.status < 300:
                return call.events.finished(call.parse(resp))
            error = call.error_for(resp)
        except LLMError as exc:
            error = exc
        delay = retry_delay(error, attempt, call.settings.max_retries)
        if delay is None:
            raise call.finish(error) from None
        call.events.retry(error, delay)
        time.sleep(delay)
        attempt += 1


@observed_async
async def run_async(call: Call[T], transport: AsyncTransport) -> T:
    """Async twin of :func:`run_sync`."""
    await _prepare_async(call, transport)
    attempt = 0
    while True:
        call.events.attempt(attempt)
        try:
            resp = await transport.send(call.build(), call.settings.timeout)
            if 200 <= resp.status < 300:
                return call.events.finished(call.parse(resp))
            error = call.error_for(resp)
        except LLMError as exc:
            error = exc
        delay = retry_delay(error, attempt, call.settings.max_retries)
        if delay is None:
            raise call.finish(error) from None
        call.events.retry(error, delay)
        await asyncio.sleep(delay)
        attempt += 1


@observed
def run_stream_sync(call: Call[Any], transport: SyncTransport) -> Stream[Any]:
    """Open a stream (retrying failures before the first byte) and hand it over."""
    _prepare_sync(call, transport)
    attempt = 0
    while True:
        call.events.attempt(attempt)
        try:
            req = call.build()
            resp = transport.open_stream(req, call.settings.timeout)
            if 200 <= resp.status < 300:
                return Stream(resp, call.processor(req, resp.headers.get("content-type")))
            error = call.error_for(resp.read_all())
        except LLMError as exc:
            error = exc
        delay = retry_delay(error, attempt, call.settings.max_retries)
        if delay is None:
            raise call.finish(error) from None
        call.events.retry(error, delay)
        time.sleep(delay)
        attempt += 1


@observed_async
async def run_stream_async(call: Call[Any], transport: AsyncTransport) -> AsyncStream[Any]:
    """Async twin of :func:`run_stream_sync`."""
    await _prepare_async(call, transport)
    attempt = 0
    while True:
        call.events.attempt(attempt)
        try:
            req = call.build()
            resp = await transport.open_stream(req, call.settings.timeout)
            if 200 <= resp.status < 300:
                return AsyncStream(resp, call.processor(req, resp.headers.get("content-type")))
            error = call.error_for(await resp.read_all())
        except LLMError as exc:
            error = exc
        delay = retry_delay(error, attempt, call.settings.max_retries)
        if delay is None:
            raise call.finish(error) from None
        call.events.retry(error, delay)
        await asyncio.sleep(delay)
        attempt += 1
