"""Overhead of the whole policy stack on a successful call, and of a fallback decision (RELIABILITY D5).

  python benchmarks/policy_overhead.py                       # NO_GUARD + retry budget + deadline
  python benchmarks/policy_overhead.py --guard pkg.mod:make   # with a guard built by make() (breaker + limiter)
  python benchmarks/policy_overhead.py --json out.json

No network: a transport answering from memory stands in for the socket, so what is timed is the
driver with its plan (idempotency key, retry-count header, deadline, retry budget, guard admit /
record) against the bare ``send + parse`` of the same call. The guard factory makes the figure
include whatever `Guard` the caller plugs in (the state engineer's breaker + limiter, memory backend).
Target: < 50 us per call (issue 5); a fallback decision p99 < 5 ms (D5).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmplex._http import HttpRequest, HttpResponse
from llmplex._pipeline import Call, run_sync
from llmplex._requests import CallSettings, Timeout
from llmplex.errors import ServiceUnavailableError
from llmplex.resilience.budget import LocalRetryBudget
from llmplex.resilience.guard import NO_GUARD, Guard
from llmplex.resilience.plan import CallPlan

OK = HttpResponse(200, {"content-type": "application/json", "x-request-id": "req_1"}, b"{}")


class MemoryTransport:
    """Answers every request at once (what the bare loop and the driver both call)."""

    def send(self, req: HttpRequest, timeout: Timeout) -> HttpResponse:
        return OK


def make_call(guard: Guard, fallbacks: int = 0) -> Call[Any]:
    settings = CallSettings(provider="openai", base_url="http://127.0.0.1:1/v1", deadline=30.0)
    budget = LocalRetryBudget()

    def one(model: str) -> Call[Any]:
        return Call("openai", model, settings,
                    build=lambda: HttpRequest("POST", "http://127.0.0.1:1/v1/chat/completions",
                                              {"content-type": "application/json", "authorization": "Bearer k"}, b"{}"),
                    parse=lambda resp: resp, parse_error=lambda resp: ServiceUnavailableError("down", status_code=503),
                    guard=guard, budget=budget)

    call = one("gpt-4o")
    call.fallbacks = tuple(one(f"fallback-{i}") for i in range(fallbacks))
    return call


def per_call(fn: Callable[[], object], n: int) -> float:
    """Best of 5 runs of n calls, seconds per call."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def overhead(guard_factory: Callable[[], Guard], n: int) -> dict[str, float]:
    transport = MemoryTransport()
    call = make_call(guard_factory())
    timeout = call.settings.timeout

    def bare() -> object:
        return call.parse(transport.send(call.build(), timeout))

    def driven() -> object:
        return run_sync(call, transport)  # type: ignore[arg-type]

    bare_s, driven_s = per_call(bare, n), per_call(driven, n)
    return {"bare_us": bare_s * 1e6, "driven_us": driven_s * 1e6, "overhead_us": (driven_s - bare_s) * 1e6}


def fallback_decision(guard_factory: Callable[[], Guard], n: int) -> dict[str, float]:
    """The plan's work when the primary fails and the next model is chosen (no sleeping, no network)."""
    call = make_call(guard_factory(), fallbacks=2)
    call.settings = CallSettings(provider="openai", base_url="http://127.0.0.1:1/v1", max_retries=0)
    for c in call.fallbacks:
        c.settings = call.settings
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        plan = CallPlan(call)
        attempt = plan.next()
        plan.request(attempt)
        plan.failed(attempt, ServiceUnavailableError("down", status_code=503))
        plan.next()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {"p50_us": samples[len(samples) // 2] * 1e6, "p99_us": samples[int(len(samples) * 0.99)] * 1e6,
            "max_us": samples[-1] * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guard", help="module:callable returning a Guard (default: NO_GUARD)")
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    factory: Callable[[], Guard] = lambda: NO_GUARD  # noqa: E731
    if args.guard:
        module, _, name = args.guard.partition(":")
        factory = getattr(importlib.import_module(module), name)
    result = {"guard": args.guard or "NO_GUARD", "success_call": overhead(factory, args.n),
              "fallback_decision": fallback_decision(factory, args.n)}
    result["a6_backoff"] = backoff_stats()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def backoff_stats() -> dict[str, list[float]]:
    """RELIABILITY A6: min / mean / max of 10,000 sampled delays per retry index."""
    import random

    from llmplex.resilience.retry import backoff

    rng = random.Random(0)
    out = {}
    for n in range(7):
        samples = [backoff(n, rng.random) for _ in range(10_000)]
        out[str(n)] = [round(min(samples), 4), round(statistics.fmean(samples), 4), round(max(samples), 4)]
    return out


if __name__ == "__main__":
    main()


def memory_policy_guard() -> Guard:
    """The default policy stack with the memory backend: breaker (defaults) and a limiter of
    requests and tokens per minute on every provider, so each call takes both paths
    (``--guard policy_overhead:memory_policy_guard``)."""
    from llmplex.resilience.limiter import LimiterConfig
    from llmplex.resilience.policy import PolicyGuard
    from llmplex.resilience.state import MemoryState

    limits = {"openai": LimiterConfig(rpm=10**9, tpm=10**12)}
    return PolicyGuard(MemoryState(), limits=limits)
