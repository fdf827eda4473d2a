"""The processes of a benchmark session: the fake provider, the workers, and what they need.

Everything here runs in the orchestrator (any Python 3.10+, stdlib only); the server and the workers run
in benchmarks/.venv-peers, pinned to their CPUs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients import ClientSpec

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS_PY = HERE / ".venv-peers" / "bin" / "python"
# The server and the latency scenarios share CPU 0 (a loopback round trip across the two vCPUs costs ~100 µs
# more from wake-ups); throughput scenarios and the import timings run on CPU 1.
SERVER_CPU, LATENCY_CPU, THROUGHPUT_CPU = 0, 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pin(cpu: int) -> Any:
    return lambda: os.sched_setaffinity(0, {cpu})


def worker_env(port: int) -> dict[str, str]:
    """Fake keys and local base URLs; no proxies, no telemetry, no model-cost-map download."""
    # Bytecode is cached as for an installed package (pip compiles at install time); PYTHONDONTWRITEBYTECODE
    # would make the editable llmplex recompile on every import while the peers load their .pyc files.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "PYTHONDONTWRITEBYTECODE"}
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            "NO_PROXY": "*",
            "OPENAI_API_KEY": "sk-bench-not-a-real-key",
            "OPENAI_BASE_URL": f"{base}/v1",
            "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-real-key",
            "ANTHROPIC_BASE_URL": base,
            "ONELLM_PROVIDERS__OPENAI__API_BASE": f"{base}/v1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_MODE": "PRODUCTION",  # do not read a stray .env
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    return env


def ensure_peers() -> None:
    """setup_peers.sh is idempotent (a stamp per peer set): quick when the venv is up to date."""
    if not PEERS_PY.exists():
        log("== creating benchmarks/.venv-peers (setup_peers.sh); this takes a few minutes once")
    subprocess.run(["bash", str(HERE / "setup_peers.sh")], check=True, stdout=subprocess.DEVNULL)


def compile_llmplex() -> None:
    """Byte-compile the editable llmplex once, as `pip install` does for the peers' wheels."""
    src = REPO / "src" / "llmplex"
    if src.is_dir():
        subprocess.run([str(PEERS_PY), "-m", "compileall", "-q", "-j", "0", str(src)], check=False)


def probe(modules: list[str]) -> dict[str, Any]:
    out = subprocess.run([str(PEERS_PY), str(HERE / "probe.py"), *modules], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"probe failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


def _busy_seconds() -> float:
    """CPU time the whole machine spent busy (all CPUs, steal included), from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def _pid_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _own_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Interference:
    """CPU used by anything but the server, this process and its workers while a worker runs."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.start = (_busy_seconds(), _pid_seconds(server.pid), _own_seconds())

    def percent(self, wall: float) -> float:
        busy, srv, own = _busy_seconds(), _pid_seconds(self.server.pid), _own_seconds()
        foreign = (busy - self.start[0]) - (srv - self.start[1]) - (own - self.start[2])
        return max(0.0, foreign) / wall * 100 if wall > 0 else 0.0


@contextmanager
def fake_provider() -> Iterator[Server]:
    """Start server.py in its own process pinned to CPU 0."""
    proc = subprocess.Popen(
        [str(PEERS_PY), str(HERE / "server.py"), "--port", "0", "--cpu", str(SERVER_CPU)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"server did not start: {line!r}")
        yield Server(int(line.split()[1]), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def server_stats(server: Server) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/__stats", timeout=10) as resp:
        stats: dict[str, int] = json.loads(resp.read())
    return stats


def measure_imports(
    modules: list[str], runs: int, warm_round: bool, env: dict[str, str], timeout: float = 60.0
) -> dict[str, Any]:
    """Median of `runs` fresh `python -c 'import X'` minus median of `runs` `python -c pass`, interleaved."""
    codes = {"pass": "pass", **{m: f"import {m}" for m in modules}}
    times: dict[str, list[float]] = {name: [] for name in codes}
    failed: dict[str, str] = {}
    for run in range(0 if warm_round else 1, runs + 1):  # run 0 warms the page and bytecode caches, discarded
        for name, code in codes.items():
            if name in failed:
                continue
            t0 = time.perf_counter()
            out = subprocess.run(
                [str(PEERS_PY), "-c", code],
                env=env,
                capture_output=True,
                preexec_fn=pin(THROUGHPUT_CPU),
                timeout=timeout,
            )
            elapsed = time.perf_counter() - t0
            if out.returncode != 0:
                failed[name] = out.stderr.decode(errors="replace")[-300:]
            elif run:
                times[name].append(elapsed)
    base = statistics.median(times["pass"])
    result: dict[str, Any] = {"python_startup_ms": base * 1e3, "import_ms": {}, "import_errors": failed}
    for m in modules:
        if times[m]:
            result["import_ms"][m] = (statistics.median(times[m]) - base) * 1e3
    return result


def run_worker(
    spec: ClientSpec, scenario: str, params: dict[str, Any], server: Server, env: dict[str, str]
) -> dict[str, Any]:
    base = "throughput" if scenario.startswith("throughput") else scenario
    cpu = THROUGHPUT_CPU if base == "throughput" else LATENCY_CPU
    # Past its bounds and grace the worker's watchdog reports what finished; import and set-up come on top.
    # Past this hard limit it is killed (it dumps its stacks 5 s before).
    limit = sum(params[k] for k in ("warm_seconds", "drain", "seconds", "grace")) + 60
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_path = Path(f.name)
    cmd = [
        str(PEERS_PY), str(HERE / "worker.py"), "--client", spec.name, "--scenario", base, "--port", str(server.port),
        "--params", json.dumps(params), "--out", str(out_path), "--deadline", str(limit - 5),
    ]  # fmt: skip
    before = server_stats(server)
    interference = Interference(server)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin(cpu), cwd=HERE
    )
    try:
        _, stderr = proc.communicate(timeout=limit)
        killed = False
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        killed = True
    wall = time.perf_counter() - t0
    foreign = interference.percent(wall)
    after = server_stats(server)
    try:
        result: dict[str, Any] = json.loads(out_path.read_text()) if out_path.stat().st_size else {}
    finally:
        out_path.unlink(missing_ok=True)
    if not result:
        reason = f"killed after {limit:.0f} s" if killed else f"exit {proc.returncode}"
        result = {"status": "error", "error": f"worker {reason}", "stderr": stderr[-4000:], "calls": {}}
    result.update({"client": spec.name, "scenario": scenario, "cpu": cpu, "wall_s": wall, "foreign_cpu_pct": foreign})
    result["server_delta"] = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    return result
