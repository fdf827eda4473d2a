"""The scenarios for sync clients (no asyncio imported, so the sync floors carry no extra weight)."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter, process_time
from typing import Any, TypeVar

from clients.base import StreamResult, SyncBench, Target
from measure import Recorder, latency_summary, rss_bytes

T = TypeVar("T")
Factory = Callable[[Target], SyncBench]


def _loop(
    op: Callable[[], T],
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
            value = op()
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


def cold(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    t0 = perf_counter()
    bench = factory(target)
    rec.called("chat")
    text = bench.chat()
    elapsed = perf_counter() - t0
    rec.check_chat(text)
    bench.close()
    return {"cold_ms": elapsed * 1e3}


def sequential(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = factory(target)

    def check(text: str, _t0: float) -> None:
        rec.check_chat(text)

    _loop(bench.chat, check, "chat", p["warmup"], p["warm_seconds"], rec)
    rss_1k = rss_bytes()
    cpu0 = process_time()
    lat = _loop(bench.chat, check, "chat", p["calls"], p["seconds"], rec)
    cpu = process_time() - cpu0
    out = {
        **latency_summary("seq", lat),
        "seq_planned": p["calls"],
        "seq_cpu_us": cpu / len(lat) * 1e6 if lat else None,
        "rss_1k": rss_1k,
        "rss_after": rss_bytes(),
    }
    bench.close()
    return out


def stream(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = factory(target)
    ttfc: list[float] = []
    chunks = 0

    def check(result: StreamResult, t0: float) -> None:
        nonlocal chunks
        rec.check_stream(result)
        chunks += result.chunks
        if result.first is not None:
            ttfc.append(result.first - t0)

    _loop(bench.stream, check, "stream", p["warmup"], p["warm_seconds"], rec)
    ttfc.clear()
    chunks = 0
    lat = _loop(bench.stream, check, "stream", p["calls"], p["seconds"], rec)
    bench.close()
    return {
        **latency_summary("stream", lat),
        **latency_summary("ttfc", ttfc),
        "stream_planned": p["calls"],
        "chunks_per_s": chunks / sum(lat) if lat else None,
    }


def embed(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    bench = factory(target)

    def check(length: int, _t0: float) -> None:
        rec.check_embed(length)

    _loop(bench.embed, check, "embed", p["warmup"], p["warm_seconds"], rec)
    lat = _loop(bench.embed, check, "embed", p["calls"], p["seconds"], rec)
    bench.close()
    return {
        **latency_summary("embed", lat),
        "embed_planned": p["calls"],
        "embed_per_s": len(lat) / sum(lat) if lat else None,
    }


def soak(factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    """Mostly chat calls with every `stream_every`-th call a stream; RSS after warm-up and at the end."""
    bench = factory(target)
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
                rec.check_stream(bench.stream())
            else:
                rec.called("chat")
                rec.check_chat(bench.chat())
        except Exception as exc:
            if rec.failed(exc):
                break
        done += 1
        if perf_counter() > end:
            break
    rss_end = rss_bytes()
    bench.close()
    return {"soak_rss_1k": rss_1k, "soak_rss_end": rss_end, "soak_done": done, "soak_planned": p["calls"]}


SCENARIOS: dict[str, Callable[[Factory, Target, dict[str, Any], Recorder], dict[str, Any]]] = {
    "cold": cold,
    "sequential": sequential,
    "stream": stream,
    "embed": embed,
    "soak": soak,
}


def snapshot(p: dict[str, Any]) -> dict[str, Any]:
    """Nothing to salvage when a sync scenario overruns its bound (its loops check the time per call)."""
    return {}


def run(scenario: str, factory: Factory, target: Target, p: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    return SCENARIOS[scenario](factory, target, p, rec)
