"""RELIABILITY J1, bounded: 1,000 concurrent streams against the emulator with 5 % resets, 5 % 429s,
2 % stalls and 1 % bad JSON. Every call completes or raises a typed error, the outcomes add up to
1,000 exactly (each fault lands as its own error type), no task hangs and no socket stays open."""

from __future__ import annotations

import asyncio
import collections
import random

import llmplex
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import NO_BREAKER

CALLS = 1000
FAULTS = {"reset": 50, "rate_limited": 50, "stalled": 20, "bad_json": 10}


def _script() -> list[Reply]:
    replies = (
        [Reply("part " * 5, chunk_words=1, fault=Fault(reset_after_chunks=2))] * FAULTS["reset"]
        + [Reply.error(429, "slow down")] * FAULTS["rate_limited"]
        + [Reply("part " * 5, chunk_words=1, fault=Fault(stall_after_chunks=2, stall_seconds=30))] * FAULTS["stalled"]
        + [Reply("part " * 5, chunk_words=1, fault=Fault(malformed_event_at=3))] * FAULTS["bad_json"]
    )
    replies += [Reply("all good here", chunk_words=1)] * (CALLS - len(replies))
    random.Random(7).shuffle(replies)
    return replies


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, llmplex.RateLimitError):
        return "rate_limited"
    if isinstance(error, llmplex.APITimeoutError):
        return "stalled"
    if isinstance(error, llmplex.StreamParseError):
        return "bad_json"
    if isinstance(error, llmplex.APIConnectionError):  # RST mid-stream: StreamInterruptedError or a reset
        return "reset"
    return f"untyped:{type(error).__name__}"


def test_chaos_streams_all_end_typed_and_nothing_leaks(emu: Emulator) -> None:
    emu.enqueue(*_script())

    async def scenario() -> collections.Counter[str]:
        # Each fault must land as its own error: no retries, no breaker (5 failures in a row would
        # turn later calls into CircuitOpenError; the breaker has its own tests).
        client = llmplex.AsyncClient(providers={"openai": {"api_key": "sk-chaos", "base_url": emu.base_url,
                                                           "timeout": [5, 2], "max_retries": 0}},
                                     router=NO_BREAKER, retry_budget=None)
        baseline = len(asyncio.all_tasks())

        async def one() -> str:
            try:
                stream = await client.chat.completions.create(
                    model="openai/gpt-4o", messages=[{"role": "user", "content": "go"}], stream=True)
                async with stream:
                    async for _ in stream:
                        pass
            except llmplex.LLMError as exc:
                return _outcome(exc)
            return "ok"

        outcomes = collections.Counter(await asyncio.wait_for(asyncio.gather(*(one() for _ in range(CALLS))), 120))
        await client.close()
        for _ in range(50):  # tasks of closed connections finish within a few loop turns
            if len(asyncio.all_tasks()) <= baseline:
                break
            await asyncio.sleep(0.01)
        assert len(asyncio.all_tasks()) <= baseline, "a task was left running"
        return outcomes

    outcomes = asyncio.run(scenario())
    assert sum(outcomes.values()) == CALLS
    assert outcomes == collections.Counter({"ok": CALLS - sum(FAULTS.values()), **FAULTS}), outcomes
    assert emu.wait_until_idle(5.0), f"{emu.open_connections} connections still open"
