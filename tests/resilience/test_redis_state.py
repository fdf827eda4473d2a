"""Shared state on a real Redis (``./dev test`` starts one): the same decisions as in memory,
across processes (H8, D6), and through an outage (H9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmplex import CircuitOpenError, RateLimitError
from llmplex.resilience.breaker import BreakerConfig
from llmplex.resilience.guard import Deployment, Outcome
from llmplex.resilience.limiter import LimiterConfig
from llmplex.resilience.policy import PolicyGuard
from llmplex.resilience.state.redis_state import RedisState

from .conftest import admitted_at_once

DEP = Deployment("openai", "gpt-4o", "openai/gpt-4o@shared")
ROOT = Path(__file__).resolve().parents[2]


def redis_guard(url: str, namespace: str, **kwargs: object) -> PolicyGuard:
    breaker = kwargs.pop("breaker", BreakerConfig())
    limits = kwargs.pop("limits", None)
    return PolicyGuard(RedisState(url, namespace=namespace, **kwargs), breaker, limits)  # type: ignore[arg-type]


def circuit(guard: PolicyGuard) -> str:
    assert guard.breaker is not None
    return guard.state.breakers([f"cb:{DEP.id}"], guard.breaker)[0].state


def test_breaker_opens_probes_and_closes_in_redis(redis_url: str, namespace: str) -> None:
    guard = redis_guard(redis_url, namespace, breaker=BreakerConfig(failures=5, open_for=0))
    for _ in range(4):
        guard.record(DEP, Outcome("failure"))
    assert circuit(guard) == "closed"
    guard.record(DEP, Outcome("failure"))
    assert circuit(guard) == "half_open"  # open_for=0: a probe may go at once
    assert guard.admit(DEP) == 0.0
    with pytest.raises(CircuitOpenError):
        guard.admit(DEP)  # one probe at a time
    guard.record(DEP, Outcome("success"))
    assert circuit(guard) == "closed"
    assert guard.admit(DEP) == 0.0


def test_open_circuit_in_redis_rejects_with_retry_after(redis_url: str, namespace: str) -> None:
    guard = redis_guard(redis_url, namespace, breaker=BreakerConfig(failures=1, open_for=60))
    guard.record(DEP, Outcome("failure"))
    with pytest.raises(CircuitOpenError) as caught:
        guard.admit(DEP)
    assert caught.value.retry_after is not None and 59 < caught.value.retry_after <= 60


def test_failure_rate_and_ignored_outcomes_in_redis(redis_url: str, namespace: str) -> None:
    guard = redis_guard(redis_url, namespace)
    for _ in range(100):
        guard.record(DEP, Outcome("ignored", status=400))
        guard.record(DEP, Outcome("cancelled"))
    assert circuit(guard) == "closed"
    for i in range(20):
        assert circuit(guard) == "closed"
        guard.record(DEP, Outcome("failure" if i % 2 else "success"))
    assert circuit(guard) == "open"


def test_100_threads_meet_one_probe_in_redis(redis_url: str, namespace: str) -> None:
    """D3 on the shared backend: exactly one of 100 concurrent callers probes."""
    guard = redis_guard(redis_url, namespace, breaker=BreakerConfig(failures=1, open_for=0))
    guard.record(DEP, Outcome("failure"))
    assert admitted_at_once(guard, DEP, 100) == 1


def test_gcra_in_redis_and_keys_expire(redis_url: str, namespace: str) -> None:
    guard = redis_guard(redis_url, namespace, limits={"openai": LimiterConfig(rpm=60, burst=3, tpm=6000, wait=False)})
    for _ in range(3):
        assert guard.admit(DEP, estimated_tokens=10) == 0.0
    with pytest.raises(RateLimitError) as caught:
        guard.admit(DEP, estimated_tokens=10)
    assert caught.value.retry_after is not None and 0.9 < caught.value.retry_after <= 1.0
    guard.record(DEP, Outcome("failure"))
    state = guard.state
    assert isinstance(state, RedisState)
    keys = sorted(k.decode() for k in state.redis.scan_iter(f"{namespace}:*"))
    assert keys == [f"{namespace}:cb:{DEP.id}", f"{namespace}:rl:req:{DEP.id}", f"{namespace}:rl:tok:{DEP.id}"]
    for key in keys:
        assert 0 < state.redis.pttl(key) <= 10 * 60 * 1000  # nothing outlives its use


def test_waiting_limiter_in_redis(redis_url: str, namespace: str) -> None:
    guard = redis_guard(redis_url, namespace, limits={"openai": LimiterConfig(rpm=60, burst=1, max_wait=5)})
    assert guard.admit(DEP) == 0.0
    assert 0.9 < guard.admit(DEP) <= 1.0
    assert 1.9 < guard.admit(DEP) <= 2.0


def test_three_processes_share_100_rpm(redis_url: str, namespace: str) -> None:
    """H8: 3 processes, 1,022 attempts, clocks skewed -2/0/+2 s: 100-102 admitted."""
    import redis

    attempts = [341, 341, 340]
    skews = [-2.0, 0.0, 2.0]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.resilience._worker", "limit", redis_url, namespace, str(n), str(skew)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        for n, skew in zip(attempts, skews, strict=True)
    ]
    client = redis.Redis.from_url(redis_url)
    client.set(f"{namespace}:go", 1, ex=60)
    results = [p.communicate(timeout=60)[0].split() for p in procs]
    admitted = sum(int(r[0]) for r in results)
    assert all(p.returncode == 0 for p in procs)
    assert [int(r[1]) for r in results] == [0, 0, 0]  # no decision came from local state
    assert 100 <= admitted <= 102, admitted


def test_breaker_tripped_in_one_process_is_open_in_another_within_1_s(redis_url: str, namespace: str) -> None:
    """D6: process A trips the shared breaker; this process sees it open within 1 s."""
    guard = redis_guard(redis_url, namespace, breaker=BreakerConfig(open_for=60))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.resilience._worker", "trip", redis_url, namespace],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    seen_at = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            guard.admit(DEP)
            guard.record(DEP, Outcome("cancelled"))
        except CircuitOpenError:
            seen_at = time.time()
            break
    tripped_at = float(proc.communicate(timeout=30)[0])
    assert seen_at is not None
    assert seen_at - tripped_at <= 1.0


@pytest.fixture
def own_redis(redis_server_binary: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A redis-server of this test's own, to kill."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="llmplex-redis-test-")
    proc = subprocess.Popen(
        [redis_server_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    for _ in range(200):
        line = proc.stdout.readline()
        if "Ready to accept connections" in line or not line:
            break
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.kill()
    proc.wait(10)
    for name in os.listdir(workdir):
        os.unlink(os.path.join(workdir, name))
    os.rmdir(workdir)


@pytest.mark.parametrize("on_error", ["local", "open", "closed"])
def test_redis_killed_mid_run_follows_the_configured_policy(
    own_redis: tuple[str, subprocess.Popen[str]], on_error: str
) -> None:
    """H9: after the kill every decision matches on_error, the breaker keeps working from local
    state, and no decision waits longer than the Redis timeout."""
    url, server = own_redis
    timeout = 0.1
    guard = PolicyGuard(
        RedisState(url, namespace="h9", on_error=on_error, timeout=timeout),  # type: ignore[arg-type]
        BreakerConfig(failures=3, open_for=60), {"openai": LimiterConfig(rpm=60, burst=5, wait=False)},
    )
    for _ in range(5):
        guard.admit(DEP)  # shared: the burst is spent in Redis
    server.kill()
    server.wait(10)
    expected = {"local": [True] * 5 + [False] * 5, "open": [True] * 10, "closed": [False] * 10}[on_error]
    decisions, slowest = [], 0.0
    for _ in range(10):
        start = time.perf_counter()
        try:
            guard.admit(DEP)
            decisions.append(True)
        except RateLimitError:
            decisions.append(False)
        slowest = max(slowest, time.perf_counter() - start)
    assert decisions == expected
    assert slowest <= timeout + 0.05
    state = guard.state
    assert isinstance(state, RedisState)
    assert state.stats()["redis_errors"] == 1  # then Redis is left alone for retry_interval
    assert state.stats()["limits_without_redis"] == 10
    for _ in range(3):
        guard.record(DEP, Outcome("failure"))
    with pytest.raises(CircuitOpenError):
        guard.admit(DEP)
