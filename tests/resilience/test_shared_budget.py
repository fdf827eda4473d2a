"""The retry budget shared through Redis: processes that share a Redis share one budget per
deployment, so an outage seen by many replicas does not multiply their retries (issue 5)."""

from __future__ import annotations

import uuid

import pytest

import llmplex
from llmplex.resilience.budget import LocalRetryBudget, SharedRetryBudget
from llmplex.resilience.state import MemoryState, RedisState
from llmplex.testing import Emulator, Reply


def _replica(url: str, namespace: str) -> SharedRetryBudget:
    """One process's view: its own Redis connection and its own budget object."""
    return SharedRetryBudget(RedisState(url, namespace=namespace, timeout=0.5), ratio=0.2, window=10,
                             min_concurrent=0)


def test_two_replicas_share_one_budget(redis_url: str) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    a, b = _replica(redis_url, namespace), _replica(redis_url, namespace)
    for _ in range(5):
        a.request("openai/gpt-4o")
        b.request("openai/gpt-4o")
    # 10 first attempts across both replicas: 20 % allows 2 retries in all, whoever asks
    assert [a.acquire_retry("openai/gpt-4o"), b.acquire_retry("openai/gpt-4o"), a.acquire_retry("openai/gpt-4o"),
            b.acquire_retry("openai/gpt-4o")] == [True, True, False, False]
    assert b.acquire_retry("groq/llama") is False  # another deployment has no first attempts yet
    b.request("groq/llama")
    assert [b.acquire_retry("groq/llama") for _ in range(2)] == [False, False]  # 20 % of 1 < 1 retry


def test_the_concurrency_floor_is_shared_and_released(redis_url: str) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    state_a = RedisState(redis_url, namespace=namespace)
    state_b = RedisState(redis_url, namespace=namespace)
    a = SharedRetryBudget(state_a, ratio=0.0, window=10, min_concurrent=2)
    b = SharedRetryBudget(state_b, ratio=0.0, window=10, min_concurrent=2)
    assert [a.acquire_retry("d"), b.acquire_retry("d"), a.acquire_retry("d")] == [True, True, False]
    b.release_retry("d")
    assert a.acquire_retry("d") is True  # a slot freed by the other replica


def test_the_memory_backend_matches_the_local_budget() -> None:
    now = [0.0]
    state = MemoryState(clock=lambda: now[0])
    shared = SharedRetryBudget(state, ratio=0.2, window=10, min_concurrent=0)
    local = LocalRetryBudget(ratio=0.2, window=10, min_concurrent=0, clock=lambda: now[0])
    for budget in (shared, local):
        for _ in range(10):
            budget.request("k")
    assert [shared.acquire_retry("k") for _ in range(3)] == [local.acquire_retry("k") for _ in range(3)]


def test_a_client_on_redis_state_uses_the_shared_budget(redis_url: str, emu: Emulator) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    client = llmplex.Client(provider="openai", api_key="sk-x", base_url=emu.base_url,
                            router={"breaker": False, "state": {"url": redis_url, "namespace": namespace}})
    assert isinstance(client._calls.budget, SharedRetryBudget)
    emu.enqueue(Reply.error(503, "down"), Reply("ok"))
    assert client.chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert len(emu.requests) == 2  # the retry was granted by the shared budget (concurrency floor)


def test_redis_down_decides_locally() -> None:
    budget = SharedRetryBudget(RedisState("redis://127.0.0.1:1/0", timeout=0.05), ratio=0.2, window=10,
                               min_concurrent=1)
    budget.request("k")
    assert budget.acquire_retry("k") is True  # the floor, from in-process state
    with pytest.raises(AssertionError):
        assert budget.acquire_retry("k")
