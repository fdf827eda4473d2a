"""Timeouts and deadlines over real loopback sockets: RELIABILITY B1-B7 and C7. Small limits keep
it fast; wall-clock bounds are generous (the pure timers are tested with a fake clock below)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex._requests import Timeout
from llmplex.resilience.deadline import Deadline, StreamTimer
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import Api
from tests.reliability.conftest import RecordingGuard

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A loopback listener whose accept queue is full and which never accepts: connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(16):  # the kernel queues backlog + 1 connections; the next SYNs are dropped
        s = socket.socket()
        s.setblocking(False)
        fillers.append(s)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            break
    yield f"http://127.0.0.1:{port}/v1"
    for s in fillers:
        s.close()
    listener.close()


def test_b1_connect_hang_is_a_typed_timeout_and_retried(mode: str, full_backlog: str, fast_backoff: None) -> None:
    guard = RecordingGuard()
    api = Api(mode, provider="openai", api_key="sk-test", base_url=full_backlog, timeout=(0.2, 5.0), guard=guard)
    start = time.monotonic()
    with pytest.raises(llmplex.APITimeoutError):
        api.chat(model="openai/gpt-4o", messages=USER)
    assert time.monotonic() - start < 3 * 0.2 * 1.1 + 1.0
    assert len(guard.admitted) == 3 and guard.kinds() == ["failure"] * 3
    api.close()


def test_b2_no_response_is_a_read_timeout_and_leaves_no_connection(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(no_response=True)))
    start = time.monotonic()
    with pytest.raises(llmplex.APITimeoutError):
        api.chat(model="openai/gpt-4o", messages=USER, timeout=(1.0, 0.3), max_retries=0)
    assert time.monotonic() - start < 0.3 * 1.1 + 0.5
    assert emu.wait_until_idle(2.0)


def test_b3_truncation_at_every_offset_is_typed_and_retried(api: Api, emu: Emulator, fast_backoff: None) -> None:
    foreign: list[BaseException] = []
    for offset in range(100):
        emu.enqueue(Reply("a reply long enough to cut it anywhere", fault=Fault(close_after_bytes=offset)), Reply("ok"))
        try:
            assert api.chat(model="openai/gpt-4o", messages=USER).choices[0].message.content == "ok"
        except Exception as exc:
            foreign.append(exc)
    assert foreign == []
    assert len(emu.requests) == 200


@pytest.mark.parametrize("fault", [Fault(reset_before_headers=True), Fault(reset_after_bytes=0),
                                   Fault(reset_after_bytes=20)])
def test_b4_reset_before_and_after_headers_is_typed_and_retried(
    api: Api, emu: Emulator, fast_backoff: None, fault: Fault
) -> None:
    emu.enqueue(Reply("a reply long enough to cut", fault=fault))
    with pytest.raises(llmplex.APIConnectionError):
        api.chat(model="openai/gpt-4o", messages=USER, max_retries=0)
    emu.enqueue(Reply("a reply long enough to cut", fault=fault), Reply("ok"))
    assert api.chat(model="openai/gpt-4o", messages=USER).choices[0].message.content == "ok"
    assert len(emu.requests) == 3


def test_b5_stale_keep_alive_connections_are_never_user_visible(mode: str, fast_backoff: None) -> None:
    """The server closes idle connections after 20 ms; every other call waits for that close, so
    it reuses a connection the server has closed, the others race the close. 200 calls, 0 errors."""
    with Emulator(keep_alive_timeout=0.02) as emu:
        api = Api(mode, provider="openai", api_key="sk-test", base_url=emu.base_url)
        errors = 0
        for i in range(200):
            if i % 2:
                emu.wait_until_idle(1.0)
            try:
                api.chat(model="openai/gpt-4o", messages=USER)
            except llmplex.LLMError:
                errors += 1
        assert errors == 0
        assert len(emu.requests) >= 200
        api.close()


def test_b6_an_exhausted_pool_is_a_typed_timeout_released_by_closing_the_stream(emu: Emulator) -> None:
    """Async pool of one connection: a stream holds it; a second call times out typed; once the
    stream is closed the next call goes through. (The sync pool never blocks: it opens a
    connection beyond ``max_keepalive`` and drops it afterwards.)"""
    import asyncio

    async def go() -> None:
        client = llmplex.AsyncClient(provider="openai", api_key="sk-test", base_url=emu.base_url, max_connections=1)
        emu.enqueue(Reply("one two three four five", fault=Fault(delay_between_chunks=0.05)))
        stream = await client.chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True)
        with pytest.raises(llmplex.APITimeoutError):
            await client.chat.completions.create(model="openai/gpt-4o", messages=USER, timeout=(0.2, 5.0),
                                                 max_retries=0)
        await stream.close()
        reply = await client.chat.completions.create(model="openai/gpt-4o", messages=USER, timeout=(0.5, 5.0))
        assert reply.choices[0].message.content
        await client.close()

    asyncio.run(go())
    assert emu.wait_until_idle(2.0)


def test_b7_one_deadline_across_every_attempt(api: Api, emu: Emulator) -> None:
    """Three attempts that would each stall 0.5 s, deadline 1 s: over by 1.1 s, last error chained."""
    emu.set_default(Reply(fault=Fault(no_response=True)))
    start = time.monotonic()
    with pytest.raises(llmplex.DeadlineExceededError) as info:
        api.chat(model="openai/gpt-4o", messages=USER, timeout=(1.0, 0.5), deadline=1.0)
    elapsed = time.monotonic() - start
    assert elapsed <= 1.0 * 1.1
    assert isinstance(info.value.__cause__, llmplex.APITimeoutError)
    assert isinstance(info.value, llmplex.APITimeoutError)  # caught by `except APITimeoutError` too
    assert 1 <= len(emu.requests) <= 3


def test_b7_deadline_from_the_client_and_a_retry_wait_beyond_it(mode: str, emu: Emulator) -> None:
    api = Api(mode, provider="openai", api_key="sk-test", base_url=emu.base_url, deadline=0.5)
    emu.enqueue(Reply.error(429, "slow down", headers={"retry-after": "5"}))
    start = time.monotonic()
    with pytest.raises(llmplex.DeadlineExceededError) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    assert time.monotonic() - start < 0.5  # no point waiting 5 s for a deadline 0.5 s away
    assert isinstance(info.value.__cause__, llmplex.RateLimitError)
    assert len(emu.requests) == 1
    api.close()


def test_c7_first_token_timeout_fires_before_the_first_byte(api: Api, emu: Emulator) -> None:
    """litellm #19909: a server that never answers a stream trips the first-token limit, not the 600 s read."""
    emu.enqueue(Reply(fault=Fault(no_response=True)))
    start = time.monotonic()
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER, max_retries=0,
                                      timeout=Timeout(connect=1.0, read=600.0, first_token=0.3))
    assert isinstance(error, llmplex.APITimeoutError) and "first_token" in error.message
    assert 0.3 <= time.monotonic() - start < 0.3 * 1.1 + 0.3
    assert emu.wait_until_idle(2.0)


def test_c7_first_token_timeout_after_the_headers_is_retried(api: Api, emu: Emulator, fast_backoff: None) -> None:
    emu.enqueue(Reply("late", fault=Fault(stall_after_chunks=0)), Reply("on time"))
    _, final = api.stream(model="openai/gpt-4o", messages=USER, timeout={"first_token": 0.3})
    assert final.choices[0].message.content == "on time"
    assert len(emu.requests) == 2
    emu.enqueue(Reply("late", fault=Fault(stall_after_chunks=0)))
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER, timeout={"first_token": 0.3},
                                      max_retries=0)
    assert isinstance(error, llmplex.APITimeoutError) and "first_token" in error.message


def test_c7_idle_timeout_between_chunks_is_typed_and_discards_the_connection(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("w1 w2 w3 w4 w5 w6", fault=Fault(stall_after_chunks=3)))
    start = time.monotonic()
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER, timeout={"idle": 0.3})
    assert isinstance(error, llmplex.APITimeoutError) and "idle" in error.message
    assert time.monotonic() - start < 0.3 * 1.1 + 0.5
    assert len(chunks) == 3 and len(emu.requests) == 1  # never retried after chunks reached the caller
    assert emu.wait_until_idle(2.0)


def test_stream_timer_with_a_fake_clock() -> None:
    now = [0.0]
    clock: Any = lambda: now[0]  # noqa: E731
    timer = StreamTimer(Timeout(5.0, 600.0, first_token=60.0, idle=10.0), Deadline(None, clock), started=0.0,
                        clock=clock)
    now[0] = 20.0
    assert timer.read_limit() == 40.0  # 60 s to the first chunk, 20 s gone
    timer.chunk()
    now[0] = 100.0  # the consumer took 80 s: the idle gap starts when it reads again
    assert timer.read_limit() == 10.0
    now[0] = 104.0
    assert timer.read_limit() == 6.0
    now[0] = 111.0
    assert timer.read_limit() == 0.0
    assert "idle" in timer.explain(llmplex.APITimeoutError("read timed out")).message


def test_deadline_caps_attempt_timeouts_and_the_stream_timer() -> None:
    now = [0.0]
    deadline = Deadline(10.0, lambda: now[0])
    now[0] = 8.0
    assert deadline.cap(Timeout(5.0, 600.0)) == Timeout(2.0, 2.0, 2.0, 2.0)
    timer = StreamTimer(Timeout(), deadline, started=8.0, clock=lambda: now[0])
    assert timer.read_limit() == 2.0
    now[0] = 10.0
    assert isinstance(timer.explain(llmplex.APITimeoutError("t")), llmplex.DeadlineExceededError)
