"""The scenarios for async clients. Each returns a dict of measurements; every answer is checked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter, process_time
from typing import Any, TypeVar

from clients.base import AsyncBench, StreamResult, Target
from measure import Recorder, latency_summary, rss_bytes

T = TypeVar("T")
Factory = Callable[[Target], Awaitable[AsyncBench]]


async def _loop(
    op: Callable[[], Awaitable[T]],
    check: Callable[[T, float], object],
    name: str,
    n: int,
    seconds: float,
    rec: Recorder,
) -> list[float]:
    """Up to n sequential calls, stopping after `seconds`; returns each call's duration."""
    lat: list[float] = []
    end = perf_counter() + seconds
    for _ in range(n):
        rec.called(name)
        t0 = perf_counter()
        try:
            value = await op()
        except Exception as exc:
            if rec.failed(exc):
                break
            continue
        t1 = perf_counter()
        lat.append(t1 - t0)
        check(value, t0)
        if t1 > end:
            break
    return lat


async def cold(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    t0 = perf_counter()
    bench = await factory(target)
    rec.called("chat")
    text = await bench.chat()
    elapsed = perf_counter() - t0
    rec.check_chat(text)
    await bench.aclose()
    return {"cold_ms": elapsed * 1e3}


async def sequential(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = await factory(target)

    def check(text: str, _t0: float) -> None:
        rec.check_chat(text)

    await _loop(bench.chat, check, "chat", p["warmup"], p["warm_seconds"], rec)
    rss_1k = rss_bytes()
    cpu0 = process_time()
    lat = await _loop(bench.chat, check, "chat", p["calls"], p["seconds"], rec)
    cpu = process_time() - cpu0
    out = {
        **latency_summary("seq", lat),
        "seq_planned": p["calls"],
        "seq_cpu_us": cpu / len(lat) * 1e6 if lat else None,
        "rss_1k": rss_1k,
        "rss_after": rss_bytes(),
    }
    await bench.aclose()
    return out


async def stream(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = await factory(target)
    ttfc: list[float] = []
    chunks = 0

    def check(result: StreamResult, t0: float) -> None:
        nonlocal chunks
        rec.check_stream(result)
        chunks += result.chunks
        if result.first is not None:
            ttfc.append(result.first - t0)

    await _loop(bench.stream, check, "stream", p["warmup"], p["warm_seconds"], rec)
    ttfc.clear()
    chunks = 0
    lat = await _loop(bench.stream, check, "stream", p["calls"], p["seconds"], rec)
    await bench.aclose()
    return {
        **latency_summary("stream", lat),
        **latency_summary("ttfc", ttfc),
        "stream_planned": p["calls"],
        "chunks_per_s": chunks / sum(lat) if lat else None,
    }


async def embed(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = await factory(target)

    def check(length: int, _t0: float) -> None:
        rec.check_embed(length)

    await _loop(bench.embed, check, "embed", p["warmup"], p["warm_seconds"], rec)
    lat = await _loop(bench.embed, check, "embed", p["calls"], p["seconds"], rec)
    await bench.aclose()
    return {
        **latency_summary("embed", lat),
        "embed_planned": p["calls"],
        "embed_per_s": len(lat) / sum(lat) if lat else None,
    }


class Burst:
    """The live state of a burst of calls, readable from the worker's watchdog thread."""

    def __init__(self, phase: str, planned: int) -> None:
        self.phase, self.planned = phase, planned
        self.ok = self.failed = self.started = 0
        self.t0 = perf_counter()

    def snapshot(self) -> dict[str, Any]:
        elapsed = perf_counter() - self.t0
        return {
            "ok": self.ok,
            "failed": self.failed,
            "elapsed": elapsed,
            "cancelled": self.started - self.ok - self.failed,
        }


LIVE: list[Burst] = []  # the burst under way, for the watchdog


async def _burst(
    bench: AsyncBench, burst: Burst, inflight: int, seconds: float, drain: float, rec: Recorder
) -> dict[str, Any]:
    """`burst.planned` chat calls, at most `inflight` at once (asyncio semaphore), bounded to `seconds`.

    Calls still running at the bound are cancelled, and given `drain` seconds to unwind.
    """
    sem = asyncio.Semaphore(inflight)
    LIVE[:] = [burst]

    async def one() -> None:
        async with sem:
            rec.called("chat")
            burst.started += 1
            try:
                text = await bench.chat()
            except Exception as exc:
                burst.failed += 1
                rec.failed(exc)
                return
            if rec.check_chat(text):
                burst.ok += 1
            else:
                burst.failed += 1

    burst.t0 = perf_counter()
    tasks = [asyncio.ensure_future(one()) for _ in range(burst.planned)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds)
    result = {**burst.snapshot(), "unfinished": len(pending)}
    for task in pending:
        task.cancel()
    if pending and drain:
        await asyncio.wait(pending, timeout=drain)
    return result


def throughput_result(warm: dict[str, Any], timed: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    return {
        "tput_per_s": timed["ok"] / timed["elapsed"],
        "tput_ok": timed["ok"],
        "tput_errors": timed["failed"],
        "tput_unfinished": timed["unfinished"],
        "tput_planned": p["calls"],
        "tput_inflight": p["inflight"],
        "warm_errors": warm["failed"],
        "warm_unfinished": warm["unfinished"],
        # calls cut off by the time bound: the server may or may not have seen them
        "cancelled_in_flight": warm["cancelled"] + timed["cancelled"],
    }


def snapshot(p: dict[str, Any]) -> dict[str, Any]:
    """What a throughput run has measured so far (called by the watchdog when the loop overran its bound:
    a client can keep the event loop so busy that the asyncio time-out cannot fire)."""
    if not LIVE:
        return {}
    burst = LIVE[0]
    now = {**burst.snapshot(), "unfinished": burst.planned - burst.ok - burst.failed}
    if burst.phase == "warm":
        none = {"ok": 0, "failed": 0, "elapsed": 1.0, "cancelled": 0, "unfinished": p["calls"]}
        return {**throughput_result(now, none, p), "tput_per_s": 0.0, "warm_overran": True}
    return throughput_result(WARM_DONE[0] if WARM_DONE else now, now, p)


WARM_DONE: list[dict[str, Any]] = []


async def throughput(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = await factory(target)
    warm = await _burst(bench, Burst("warm", p["warmup"]), p["inflight"], p["warm_seconds"], p["drain"], rec)
    WARM_DONE[:] = [warm]
    rec.exceptions = 0  # the warm-up's failures are reported apart; the scenario's errors start here
    timed = await _burst(bench, Burst("timed", p["calls"]), p["inflight"], p["seconds"], 0.0, rec)
    if not timed["unfinished"]:  # with calls cut off, closing can take long; the process ends anyway
        await bench.aclose()
    return throughput_result(warm, timed, p)


async def soak(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    """Mostly chat calls with every `stream_every`-th call a stream; RSS after warm-up and at the end."""
    bench = await factory(target)
    every = p["stream_every"]
    end = perf_counter() + p["seconds"]
    rss_1k = 0
    done = 0
    for i in range(p["calls"]):
        if i == p["warmup"]:
            rss_1k = rss_bytes()
        try:
            if i % every == every - 1:
                rec.called("stream")
                rec.check_stream(await bench.stream())
            else:
                rec.called("chat")
                rec.check_chat(await bench.chat())
        except Exception as exc:
            if rec.failed(exc):
                break
        done += 1
        if perf_counter() > end:
            break
    rss_end = rss_bytes()
    await bench.aclose()
    return {"soak_rss_1k": rss_1k, "soak_rss_end": rss_end, "soak_done": done, "soak_planned": p["calls"]}


SCENARIOS = {
    "cold": cold,
    "sequential": sequential,
    "stream": stream,
    "embed": embed,
    "throughput": throughput,
    "soak": soak,
}


def run(scenario: str, factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    """Run one scenario on a fresh loop. The loop is left as it is: the worker exits right after writing
    its result, so calls cut off by a time bound cost no waiting for their cancellation."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(SCENARIOS[scenario](factory, target, p, rec))
