"""One client in one scenario, in a fresh process (started by run.py, pinned to a CPU by it).

  python worker.py --client NAME --scenario SCENARIO --port PORT --params JSON --out FILE
Writes one JSON object to FILE: the measurements, the calls made per route, and every check's outcome.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import os
import sys
import threading
import traceback
from time import perf_counter
from typing import Any

import guard

BLOCKED: list[str] = []
guard.install(BLOCKED)

from clients import BY_NAME  # noqa: E402  (after the guard, like everything the client imports)
from clients.base import Target  # noqa: E402
from measure import Recorder, rss_bytes  # noqa: E402

ROUTES = {
    "openai": {"chat": "chat", "stream": "chat_stream", "embed": "embed"},
    "anthropic": {"chat": "messages", "stream": "messages_stream", "embed": "embed"},
}


class Output:
    """The result file, written once: by the scenario when it ends, or by the watchdog when it overruns."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.written = False

    def write(self, result: dict[str, Any]) -> None:
        with self.lock:
            if not self.written:
                with open(self.path, "w") as f:
                    json.dump(result, f)
                self.written = True


def _finish(out: dict[str, Any], rec: Recorder, api: str) -> dict[str, Any]:
    summary = rec.summary()
    route = ROUTES[api]
    summary["calls"] = {route[op]: n for op, n in dict(summary["calls"]).items()}
    return {**out, **summary, "egress_blocked": BLOCKED[:20]}


def run(args: argparse.Namespace, output: Output) -> None:
    spec = BY_NAME[args.client]
    params = json.loads(args.params)
    if spec.is_async:
        import scenarios_async as scenarios
    else:
        import scenarios_sync as scenarios  # type: ignore[no-redef]
    out: dict[str, Any] = {"client": spec.name, "scenario": args.scenario, "params": params}
    rec = Recorder()

    def overran() -> None:
        # The scenario's own bounds did not hold (a client kept the event loop busy past its time-outs):
        # report what finished so far and stop.
        snap = scenarios.snapshot(params)
        status = {"status": "ok"} if snap else {"status": "error", "error": "overran its time bound"}
        output.write(_finish({**out, **snap, **status, "overran": True}, rec, spec.api))
        sys.stderr.flush()
        os._exit(0)

    try:
        t0 = perf_counter()
        module = importlib.import_module(f"clients.{spec.module}")
        out["import_in_worker_ms"] = (perf_counter() - t0) * 1e3
        out["rss_import"] = rss_bytes()
        factory = getattr(module, spec.factory)
        watchdog = threading.Timer(sum(params[k] for k in ("warm_seconds", "drain", "seconds", "grace")), overran)
        watchdog.daemon = True
        watchdog.start()
        out.update(scenarios.run(args.scenario, factory, Target(args.host, args.port), params, rec))
        out["status"] = "ok"
    except Exception as exc:
        out["status"] = "error"
        out["error"] = f"{type(exc).__qualname__}: {exc}"[:500]
        out["traceback"] = traceback.format_exc()[-3000:]
    output.write(_finish(out, rec, spec.api))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadline", type=float, default=0, help="dump every thread's stack and exit after this")
    parser.add_argument("--client", required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.deadline:
        faulthandler.dump_traceback_later(args.deadline, exit=True)
    run(args, Output(args.out))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip teardown: a loop with cancelled calls or a client's atexit hooks could hang here


if __name__ == "__main__":
    main()
