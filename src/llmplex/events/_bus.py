"""The event bus: subscribers get events off the caller's path, through bounded queues.

Delivery (measured in ``benchmarks/events.py``):

- a **sync** subscriber gets its own daemon thread, started on its first event; the caller only
  appends to the subscriber's queue (and wakes the thread when it sleeps), so a subscriber that
  blocks or raises never slows or breaks a call;
- an **async** subscriber (a coroutine function) is awaited by a task on the event loop that was
  running when it subscribed (or ``loop=``), one event at a time, in order;
- each subscription has a bounded queue (``capacity``, 10,000 by default). **Drop policy: when it
  is full, the new event is dropped** and the subscription's ``dropped`` counter (and
  ``Bus.dropped``) goes up — the call never waits. Old events are kept, so what a subscriber sees
  is a prefix of the truth plus counted gaps, never reordered;
- a subscriber's exception is counted in ``errors`` and logged at DEBUG on the ``llmplex.events``
  logger; the subscription stays.

``flush()`` waits until every sync subscriber has handled what was queued before it was called
(``await aflush()`` waits for the async ones too): tests and short scripts call it before
reading what their subscribers collected.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._types import ALL_EVENTS, ChunkReceived, Event

__all__ = ["DEFAULT_CAPACITY", "Bus", "Subscription"]

DEFAULT_CAPACITY = 10_000
_log = logging.getLogger("llmplex.events")


class _Marker:
    """Put in a queue by ``flush``; set when the deliverer reaches it (everything before it is done)."""

    __slots__ = ("_done", "_future")

    def __init__(self, future: asyncio.Future[None] | None = None) -> None:
        self._done = threading.Event()
        self._future = future

    def reached(self) -> None:
        self._done.set()
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    def wait(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)


def _accepted(types: Iterable[type[Event]]) -> frozenset[type[Event]]:
    """The concrete event classes a filter names. No filter (or ``Event``) means every event but
    ``ChunkReceived``, which is opt-in: one per streamed chunk is a lot of events."""
    wanted = tuple(types) or (Event,)
    out: set[type[Event]] = set()
    for base in wanted:
        if not (isinstance(base, type) and issubclass(base, Event)):
            raise TypeError(f"subscribe() filters by event classes from llmplex.events, got {base!r}")
        everything = base is Event
        out.update(c for c in ALL_EVENTS if issubclass(c, base) and not (everything and c is ChunkReceived))
    return frozenset(out)


class Subscription:
    """One subscriber and its queue. ``dropped``, ``delivered`` and ``errors`` are counters;
    ``close()`` (or ``bus.unsubscribe``) stops delivery once what is queued has been handled."""

    def __init__(self, fn: Callable[[Any], Any], accepts: frozenset[type[Event]], capacity: int,
                 loop: asyncio.AbstractEventLoop | None) -> None:
        self.fn = fn
        self.accepts = accepts
        self.capacity = capacity
        self.is_async = loop is not None
        self.dropped = 0
        self.delivered = 0
        self.errors = 0
        self.closed = False
        self._queue: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()  # taken on the rare paths only: drops, start, close
        self._loop = loop
        self._sleeping = True
        self._thread: threading.Thread | None = None
        self._wake_thread = threading.Event()
        self._wake_task: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        if loop is not None:
            if _running_loop() is loop:
                self._start_task()
            else:
                loop.call_soon_threadsafe(self._start_task)

    # -- the caller's side: never blocks ---------------------------------------------------------

    def put(self, event: Any) -> None:
        """Queue one event for this subscriber, or count it as dropped when the queue is full."""
        queue = self._queue
        if len(queue) >= self.capacity:
            with self._lock:
                self.dropped += 1
            return
        queue.append(event)
        if self._sleeping:
            self._sleeping = False  # one wake-up per sleep: later events of the burst need none
            self._wake()

    def _wake(self) -> None:
        if self._loop is None:
            if self._thread is None:
                self._start_thread()
            self._wake_thread.set()
        elif self._wake_task is not None:
            if _running_loop() is self._loop:
                self._wake_task.set()
            else:
                try:
                    self._loop.call_soon_threadsafe(self._wake_task.set)
                except RuntimeError:  # the loop is closed: nobody is left to deliver to
                    pass

    # -- the deliverer's side ----------------------------------------------------------------------

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                name = f"llmplex-events-{getattr(self.fn, '__name__', 'subscriber')}"
                self._thread = threading.Thread(target=self._run_thread, name=name, daemon=True)
                self._thread.start()

    def _run_thread(self) -> None:
        queue, wake = self._queue, self._wake_thread
        while True:
            self._sleeping = False
            while queue:
                self._deliver(queue.popleft())
            wake.clear()
            self._sleeping = True
            if queue:  # appended between the drain and the flag: the caller may not have woken us
                continue
            if self.closed:
                return
            wake.wait()

    def _deliver(self, item: Any) -> None:
        if type(item) is _Marker:
            item.reached()
            return
        try:
            self.fn(item)
            self.delivered += 1
        except Exception:
            self.errors += 1
            _log.debug("event subscriber %r raised", self.fn, exc_info=True)

    def _start_task(self) -> None:
        assert self._loop is not None
        self._wake_task = asyncio.Event()
        self._task = self._loop.create_task(self._run_task())

    async def _run_task(self) -> None:
        queue, wake = self._queue, self._wake_task
        assert wake is not None
        while True:
            self._sleeping = False
            while queue:
                item = queue.popleft()
                if type(item) is _Marker:
                    item.reached()
                    continue
                try:
                    await self.fn(item)
                    self.delivered += 1
                except Exception:
                    self.errors += 1
                    _log.debug("event subscriber %r raised", self.fn, exc_info=True)
            wake.clear()
            self._sleeping = True
            if queue:
                continue
            if self.closed:
                return
            await wake.wait()

    # -- control -------------------------------------------------------------------------------------

    def _marker(self, future: asyncio.Future[None] | None = None) -> _Marker:
        marker = _Marker(future)
        self._queue.append(marker)
        self._wake()
        return marker

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the events queued so far were handled; ``False`` on timeout. From the
        subscriber's own event loop, use ``await aflush()`` instead."""
        if self._loop is not None and _running_loop() is self._loop:
            raise RuntimeError("flush() would block the loop this subscriber runs on: await aflush()")
        return self._marker().wait(timeout)

    async def aflush(self) -> None:
        """Async twin of :meth:`flush`."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            future: asyncio.Future[None] = loop.create_future()
            self._marker(future)
            await future
        else:
            marker = self._marker()
            while not marker.wait(0):
                await asyncio.sleep(0.001)

    def close(self) -> None:
        """Stop after delivering what is queued."""
        self.closed = True
        self._wake()

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        return (f"<Subscription {kind} {getattr(self.fn, '__name__', self.fn)!r} delivered={self.delivered} "
                f"dropped={self.dropped} errors={self.errors}>")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    return asyncio._get_running_loop()


class Bus:
    """Subscribers and the events published to them. The process has one (``llmplex.events.bus``);
    each session has its own.

    >>> from llmplex import events
    >>> seen = []
    >>> sub = events.subscribe(seen.append, events.Finished, events.Failed)
    >>> sub.close()
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.subscriptions: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether anyone listens (the drivers build no event otherwise)."""
        return bool(self.subscriptions)

    def subscribe(self, fn: Callable[[Any], Any], *types: type[Event], capacity: int | None = None,
                  loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        """Call ``fn(event)`` for every event of the given classes (all but ``ChunkReceived`` when
        none are given). A coroutine function is awaited on ``loop`` (default: the running loop)."""
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__):
            loop = loop or _running_loop()
            if loop is None:
                raise RuntimeError("an async subscriber needs a running event loop (or loop=...)")
        else:
            loop = None
        sub = Subscription(fn, _accepted(types), capacity or self.capacity, loop)
        with self._lock:
            self.subscriptions = (*self.subscriptions, sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (what is already queued is still delivered)."""
        with self._lock:
            self.subscriptions = tuple(s for s in self.subscriptions if s is not sub)
        sub.close()

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every subscriber that wants it. Never blocks, never raises."""
        cls = type(event)
        for sub in self.subscriptions:
            if cls in sub.accepts:
                sub.put(event)

    def wants(self, cls: type[Event]) -> bool:
        """Whether some subscriber takes events of class ``cls``."""
        return any(cls in sub.accepts for sub in self.subscriptions)

    @property
    def dropped(self) -> int:
        """Events dropped because a subscriber's queue was full (current subscribers)."""
        return sum(sub.dropped for sub in self.subscriptions)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the sync subscribers handled what was queued; ``False`` if ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ok = True
        for sub in self.subscriptions:
            if not sub.is_async:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                ok = sub.flush(left) and ok
        return ok

    async def aflush(self) -> None:
        """Wait until every subscriber, sync and async, handled what was queued."""
        for sub in self.subscriptions:
            await sub.aflush()

    def close(self) -> None:
        """Unsubscribe everyone (queued events are still delivered)."""
        with self._lock:
            subs, self.subscriptions = self.subscriptions, ()
        for sub in subs:
            sub.close()
