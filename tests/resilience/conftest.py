"""A fake monotonic clock for the policies, and a real Redis for the shared-state tests
(``./dev test`` starts one on loopback and sets its URL)."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def admitted_at_once(guard: Any, deployment: Any, callers: int) -> int:
    """How many of ``callers`` threads, released together, the guard admits (the others get
    ``CircuitOpenError`` or ``RateLimitError``)."""
    from llmplex import CircuitOpenError, RateLimitError

    barrier = threading.Barrier(callers)
    admitted: list[int] = []

    def caller() -> None:
        barrier.wait()
        try:
            guard.admit(deployment)
            admitted.append(1)
        except (CircuitOpenError, RateLimitError):
            pass

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return len(admitted)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    found = os.environ.get("LLMPLEX_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not found:
        pytest.fail("redis-server is not installed: run the tests with ./dev test (it installs it)", pytrace=False)
    return found


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A namespace of this test's own; its keys are deleted afterwards."""
    import redis

    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client: Any = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()
