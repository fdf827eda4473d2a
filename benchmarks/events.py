"""The event bus and the per-call cost of observability, measured; results go to docs/benchmarks.md.

  .venv/bin/python benchmarks/events.py            measure, write benchmarks/results/events.json and
                                                   the "Events and metrics" section of docs/benchmarks.md
  .venv/bin/python benchmarks/events.py --quick    smaller counts (a smoke run of ~20 s), nothing written

Runs with the project's own venv (llmplex installed), not the peers' venv. Three measurements:

1. **Bus throughput**: one process-wide subscriber (a counter); a loop publishes events built
   through ``CallObserver.attempt`` (so event construction is included) as fast as it can; the
   time runs from the first event to ``flush()`` returning. Events/s = delivered / time; drops
   (queue full) are reported, not hidden. Sync subscriber (worker thread) and async subscriber
   (a task on the publishing loop, which yields every 1,000 events).
2. **Observer cost per call, isolated**: what a call pays with nobody subscribed — construct the
   ``CallObserver``, ``started``, ``attempt``, ``finished`` (metrics updated) — in µs per call.
3. **A/B on real calls**: sequential sync chat calls against the benchmark server (loopback, server
   and client pinned to CPU 0 as in the main method), and against the in-process ``mock``
   provider (no network: the worst case for a relative cost), with the observer as shipped vs. a
   null observer patched in; rounds interleaved, medians of per-round means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "events.json"
DOCS = REPO / "docs" / "benchmarks.md"
USER = [{"role": "user", "content": "hi"}]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bus_sync(n: int) -> dict[str, float]:
    from llmplex import events

    delivered = [0]

    def count(event: Any) -> None:
        delivered[0] += 1

    observer = events.CallObserver(None, "openai", "gpt-4o", "chat", False)
    sub = events.subscribe(count, events.AttemptStarted)
    try:
        attempt = observer.attempt
        start = time.perf_counter()
        for i in range(n):
            attempt(i)
        events.flush()
        seconds = time.perf_counter() - start
    finally:
        events.unsubscribe(sub)
    return {"events_per_s": delivered[0] / seconds, "dropped": sub.dropped, "published": n}


def bus_async(n: int) -> dict[str, float]:
    from llmplex import events

    async def go() -> dict[str, float]:
        delivered = [0]

        async def count(event: Any) -> None:
            delivered[0] += 1

        observer = events.CallObserver(None, "openai", "gpt-4o", "chat", False)
        sub = events.subscribe(count, events.AttemptStarted)
        try:
            start = time.perf_counter()
            for i in range(n):
                observer.attempt(i)
                if i % 1000 == 999:
                    await asyncio.sleep(0)
            await events.aflush()
            seconds = time.perf_counter() - start
        finally:
            events.unsubscribe(sub)
        return {"events_per_s": delivered[0] / seconds, "dropped": sub.dropped, "published": n}

    return asyncio.run(go())


def observer_cost(n: int) -> float:
    """µs per call for the observer's whole life with nobody subscribed."""
    from llmplex import events
    from llmplex.types.chat import ChatCompletion

    result = ChatCompletion.model_validate({
        "id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    })
    metrics = events.Metrics()
    cls = events.CallObserver
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            o = cls(metrics, "openai", "gpt-4o", "chat", False, USER)
            o.started()
            o.attempt(0)
            o.finished(result)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


@contextmanager
def null_observer(enabled: bool) -> Iterator[None]:
    """Patch the call factory to give every call the null observer (the "without" side of the A/B)."""
    import llmplex._calls as calls
    from llmplex.events._observer import NULL_OBSERVER

    original = calls.CallObserver
    if enabled:
        calls.CallObserver = lambda *args, **kwargs: NULL_OBSERVER  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        calls.CallObserver = original  # type: ignore[misc]


def ab(call: Callable[[], Any], rounds: int, per_round: int) -> dict[str, float]:
    """Median per-call µs with the observer and with the null observer, interleaved rounds."""
    for _ in range(per_round):  # warm-up
        call()
    times: dict[str, list[float]] = {"with": [], "without": []}
    for r in range(rounds):
        order = ("with", "without") if r % 2 == 0 else ("without", "with")
        for side in order:
            with null_observer(side == "without"):
                start = time.perf_counter()
                for _ in range(per_round):
                    call()
                times[side].append((time.perf_counter() - start) / per_round * 1e6)
    with_us, without_us = statistics.median(times["with"]), statistics.median(times["without"])
    return {"with_us": with_us, "without_us": without_us, "overhead_pct": (with_us - without_us) / without_us * 100}


@contextmanager
def bench_server() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, str(HERE / "server.py"), "--port", "0", "--cpu", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"server did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda r: r["events_per_s"])[len(runs) // 2]


def measure(quick: bool) -> dict[str, Any]:
    import llmplex

    n_events = 200_000 if quick else 1_000_000
    rounds, per_round = (4, 300) if quick else (16, 1000)
    out: dict[str, Any] = {"generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": quick}
    os.sched_setaffinity(0, {1})
    out["bus_sync"] = _median_run([bus_sync(n_events) for _ in range(3)])
    log(f"bus, sync subscriber: {out['bus_sync']}")
    out["bus_async"] = _median_run([bus_async(n_events) for _ in range(3)])
    log(f"bus, async subscriber: {out['bus_async']}")
    out["observer_us"] = observer_cost(20_000 if quick else 100_000)
    log(f"observer, nobody subscribed: {out['observer_us']:.2f} µs per call")
    mock = llmplex.Client()
    out["mock"] = ab(lambda: mock.chat.completions.create(model="mock/m", messages=USER), rounds, per_round)
    log(f"A/B, in-process mock provider: {out['mock']}")
    os.sched_setaffinity(0, {0})
    with bench_server() as port:
        client = llmplex.Client(provider="openai", api_key="sk-bench", base_url=f"http://127.0.0.1:{port}/v1")
        out["loopback"] = ab(lambda: client.chat.completions.create(model="openai/gpt-4o", messages=USER),
                             rounds, per_round)
        client.close()
    log(f"A/B, loopback server: {out['loopback']}")
    out["observer_pct_of_loopback"] = out["observer_us"] / out["loopback"]["without_us"] * 100
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="only re-render docs from results/events.json")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import report

    if args.render:
        result = json.loads(RESULTS.read_text())
    else:
        result = measure(args.quick)
        if args.quick:
            print(report.render_events(result))
            return
        RESULTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    DOCS.write_text(report.replace_events_section(DOCS.read_text(), result))
    log(f"== wrote {RESULTS.relative_to(REPO)} and {DOCS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
