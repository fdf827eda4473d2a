"""What the response cache costs on a miss and saves on a hit, measured; results go to docs/benchmarks.md.

  .venv/bin/python benchmarks/cache.py            measure, write benchmarks/results/cache.json and
                                                  the "Response cache" section of docs/benchmarks.md
  .venv/bin/python benchmarks/cache.py --quick    smaller counts, nothing written

Sequential sync chat calls against the benchmark server (``server.py``: loopback, pinned to CPU 0
with the client, as in the main method), per call in µs, medians of interleaved rounds:

- **no cache**: the client without ``cache=``;
- **miss** (memory backend): ``cache="refresh"`` on every call, so each call builds the key, goes to
  the provider and stores the answer: what caching costs a call the cache cannot answer;
- **hit**: the same request answered from each backend — memory, SQLite (a file in a temporary
  directory) and Redis (a ``redis-server`` started on loopback for the run, when installed);
- **stream**: a streamed request from the provider vs. replayed from the memory backend, read to
  its end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "cache.json"
DOCS = REPO / "docs" / "benchmarks.md"
USER = [{"role": "user", "content": "hi"}]
BEGIN, END = "<!-- cache:begin -->", "<!-- cache:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rounds_of(sides: dict[str, Callable[[], Any]], rounds: int, per_round: int) -> dict[str, float]:
    """Median per-call µs of each side, rounds interleaved (order reversed every other round)."""
    for call in sides.values():
        for _ in range(min(per_round, 100)):
            call()
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            call = sides[name]
            start = time.perf_counter()
            for _ in range(per_round):
                call()
            times[name].append((time.perf_counter() - start) / per_round * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


@contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # redis-server logs to stdout; it says when it accepts connections
            if "Ready to accept connections" in line:
                break
        else:
            raise SystemExit("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(quick: bool) -> dict[str, Any]:
    import llmplex
    from events import bench_server
    from llmplex.cache import RedisCache

    rounds, per_round = (4, 200) if quick else (12, 1000)
    out: dict[str, Any] = {"generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": quick}
    os.sched_setaffinity(0, {0})
    with bench_server() as port, tempfile.TemporaryDirectory() as tmp, redis_server() as redis_url:
        base = {"provider": "openai", "api_key": "sk-bench", "base_url": f"http://127.0.0.1:{port}/v1"}
        plain = llmplex.Client(**base)
        memory = llmplex.Client(**base, cache="memory")
        sqlite = llmplex.Client(**base, cache=str(Path(tmp) / "bench.sqlite"))
        clients = {"memory": memory, "sqlite": sqlite}
        if redis_url:
            clients["redis"] = llmplex.Client(**base, cache=RedisCache(redis_url, prefix="bench:"))

        def chat(client: Any, **kw: Any) -> Callable[[], Any]:
            return lambda: client.chat.completions.create(model="openai/gpt-4o", messages=USER, **kw)

        def stream(client: Any) -> Callable[[], Any]:
            def go() -> None:
                with client.chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True) as s:
                    for _ in s:
                        pass
            return go

        sides = {"no cache": chat(plain), "miss (memory, refresh)": chat(memory, cache="refresh")}
        sides.update({f"hit ({name})": chat(client) for name, client in clients.items()})
        out["calls_us"] = rounds_of(sides, rounds, per_round)
        log(f"calls: {out['calls_us']}")
        out["stream_us"] = rounds_of({"provider": stream(plain), "replayed (memory)": stream(memory)},
                                     rounds, per_round // 2)
        log(f"streams: {out['stream_us']}")
        for client in (plain, *clients.values()):
            client.close()
    return out


def render(r: dict[str, Any]) -> str:
    calls, streams = r["calls_us"], r["stream_us"]
    plain = calls["no cache"]
    rows = [f"| {name} | {us:,.0f} | {us / plain:.2f}× |" for name, us in calls.items()]
    return "\n".join([
        BEGIN,
        "## Response cache\n",
        f"Measured by `benchmarks/cache.py` ({r['generated']}; method in its docstring): sequential sync chat "
        "calls to the loopback benchmark server, µs per call, medians of interleaved rounds; ratios to the "
        "call without a cache.\n",
        "| call | µs | vs. no cache |",
        "|---|---:|---:|",
        *rows,
        f"| stream read to its end, from the provider | {streams['provider']:,.0f} | 1.00× |",
        f"| the same stream replayed (memory) | {streams['replayed (memory)']:,.0f} | "
        f"{streams['replayed (memory)'] / streams['provider']:.2f}× |",
        "",
        "A miss pays for the key (a SHA-256 over the request as sent) and the store; a hit skips the network, "
        "the guard and the provider, and still parses the stored body into a fresh response (so it is never "
        "shared between callers). Against a real provider (hundreds of ms) a hit is the difference between "
        "a network round trip and these figures.",
        END,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="only re-render docs from results/cache.json")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import report

    result = json.loads(RESULTS.read_text()) if args.render else measure(args.quick)
    if args.quick:
        print(render(result))
        return
    if not args.render:
        RESULTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    DOCS.write_text(report.replace_section(DOCS.read_text(), BEGIN, END, render(result)))
    log(f"== wrote {RESULTS.relative_to(REPO)} and {DOCS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
