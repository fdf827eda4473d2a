"""The bus: a subscriber that raises or blocks never affects a call; the queue is bounded and
drops are counted; async subscribers run on their loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

import llmplex
from llmplex import events
from llmplex.testing import Emulator

USER = [{"role": "user", "content": "hi"}]


def _event(n: int = 0) -> events.AttemptStarted:
    return events.AttemptStarted(call_id=f"c{n}", provider="p", model="m", deployment="p/m", operation="chat",
                                 attempt=n, time=0.0, elapsed=0.0, session=None)


def test_a_raising_subscriber_is_counted_and_keeps_its_subscription(emu: Emulator) -> None:
    def boom(event: Any) -> None:
        raise RuntimeError("subscriber bug")

    sub = events.subscribe(boom)
    seen: list[Any] = []
    other = events.subscribe(seen.append, events.Finished)
    try:
        client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
        for _ in range(3):
            assert client.chat.completions.create(model="openai/x", messages=USER).choices[0].message.content
        assert events.flush(5.0)
        assert sub.errors == 9 and sub.delivered == 0 and len(seen) == 3
    finally:
        events.unsubscribe(sub)
        events.unsubscribe(other)


def test_a_blocked_subscriber_does_not_slow_calls_and_drops_are_counted(emu: Emulator) -> None:
    entered, release = threading.Event(), threading.Event()
    got: list[Any] = []

    def stuck(event: Any) -> None:
        entered.set()
        release.wait()
        got.append(event)

    sub = events.subscribe(stuck, capacity=4)
    try:
        client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
        client.chat.completions.create(model="openai/x", messages=USER)
        assert entered.wait(5.0)  # the subscriber holds its first event: the queue fills from here
        start = time.perf_counter()
        for _ in range(5):
            client.chat.completions.create(model="openai/x", messages=USER)
        assert time.perf_counter() - start < 5.0  # the calls never waited for the subscriber
        assert not sub.flush(timeout=0.05)
        # 3 events per call: 18 made, 1 in the subscriber's hands, 4 queued, 13 dropped
        assert (sub.dropped, events.BUS.dropped) == (13, 13)
    finally:
        release.set()
        assert sub.flush(5.0)
        events.unsubscribe(sub)
    assert len(got) == 5 and sub.delivered == 5


def test_drop_policy_keeps_the_oldest_events() -> None:
    bus = events.Bus(capacity=3)
    entered, hold = threading.Event(), threading.Event()
    got: list[int] = []

    def slow(event: Any) -> None:
        entered.set()
        hold.wait()
        got.append(event.attempt)

    sub = bus.subscribe(slow)
    bus.publish(_event(0))
    assert entered.wait(5.0)  # event 0 is in the subscriber's hands
    for n in range(1, 10):
        bus.publish(_event(n))
    hold.set()
    assert bus.flush(5.0)
    assert got == [0, 1, 2, 3] and sub.dropped == 6 and sub.delivered == 4
    bus.close()


def test_filters_and_chunk_events_are_opt_in() -> None:
    bus = events.Bus()
    everything: list[Any] = []
    only_chunks: list[Any] = []
    a, b = bus.subscribe(everything.append), bus.subscribe(only_chunks.append, events.ChunkReceived)
    chunk = events.ChunkReceived(call_id="c", provider="p", model="m", deployment="p/m", operation="chat",
                                 attempt=0, time=0.0, elapsed=0.0, session=None, chunk=None,
                                 index=0)
    bus.publish(_event())
    bus.publish(chunk)
    assert bus.flush(5.0)
    assert everything == [_event()] and only_chunks == [chunk]
    assert bus.wants(events.ChunkReceived) and a.accepts == frozenset(events.ALL_EVENTS) - {events.ChunkReceived}
    assert b.accepts == {events.ChunkReceived}
    with pytest.raises(TypeError):
        bus.subscribe(print, int)  # type: ignore[arg-type]
    bus.close()


def test_async_subscribers_run_on_their_loop(emu: Emulator) -> None:
    async def go() -> None:
        loop_thread = threading.get_ident()
        seen: list[tuple[str, int]] = []

        async def record(event: Any) -> None:
            await asyncio.sleep(0)
            seen.append((type(event).__name__, threading.get_ident()))

        async def broken(event: Any) -> None:
            raise ValueError("async subscriber bug")

        sub, bad = events.subscribe(record), events.subscribe(broken, events.Finished)
        client = llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url)
        try:
            await client.chat.completions.create(model="openai/x", messages=USER)
            # a sync client in a thread publishes from outside the loop
            sync = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
            await asyncio.to_thread(sync.chat.completions.create, model="openai/x", messages=USER)
            await events.aflush()
        finally:
            events.unsubscribe(sub)
            events.unsubscribe(bad)
            await client.close()
        assert [name for name, _ in seen] == ["RequestStarted", "AttemptStarted", "Finished"] * 2
        assert {thread for _, thread in seen} == {loop_thread}
        assert sub.delivered == 6 and bad.errors == 2

    asyncio.run(go())


def test_an_async_subscriber_needs_a_loop() -> None:
    async def record(event: Any) -> None: ...

    with pytest.raises(RuntimeError, match="running event loop"):
        events.subscribe(record)


def test_sync_flush_from_the_subscribers_loop_is_refused() -> None:
    async def go() -> None:
        async def record(event: Any) -> None: ...

        bus = events.Bus()
        sub = bus.subscribe(record)
        with pytest.raises(RuntimeError, match="aflush"):
            sub.flush()
        bus.close()
        await sub.aflush()

    asyncio.run(go())


def test_nobody_listening_builds_no_event(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, emu: Emulator
) -> None:
    built: list[str] = []
    original = events.CallObserver._event

    def spy(self: events.CallObserver, cls: type[Any], *fields: Any, **named: Any) -> Any:
        built.append(cls.__name__)
        return original(self, cls, *fields, **named)

    monkeypatch.setattr(events.CallObserver, "_event", spy)
    caplog.set_level(logging.WARNING, logger="llmplex")  # INFO would build the Finished event for the log
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    client.chat.completions.create(model="openai/x", messages=USER)
    for _ in client.chat.completions.create(model="openai/x", messages=USER, stream=True):
        pass
    assert built == [] and client.metrics().calls == 2


def test_with_info_logging_on_the_events_are_built_for_the_log_only(
    caplog: pytest.LogCaptureFixture, emu: Emulator
) -> None:
    caplog.set_level(logging.INFO, logger="llmplex")
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    client.chat.completions.create(model="openai/x", messages=USER)
    assert [r.llmplex["outcome"] for r in caplog.records if r.name == "llmplex"] == ["ok"]  # type: ignore[attr-defined]
