"""The stateful policies on real calls over loopback (sync|async): an open circuit fails fast with
no upstream request and sends the call to its fallback; a router spreads a logical model over its
deployments and skips an open one; a client-side rate limit refuses before sending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "hi"}]
DOWN = Reply.error(503, "upstream down")


def _providers(emu: Emulator) -> dict[str, Any]:
    return {"openai": {"api_key": "sk-a", "base_url": emu.base_url, "max_retries": 0},
            "groq": {"api_key": "gsk-b", "base_url": emu.base_url, "max_retries": 0}}


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = Api(mode, providers=_providers(emu), router={
        "breaker": {"failures": 3, "open_for": 60},
        "models": {"chat": [{"model": "openai/gpt-4o"}, {"model": "groq/llama-3.3-70b-versatile"}]},
        "strategy": "priority",
        "limits": {"groq": {"rpm": 2, "burst": 2, "wait": False}},
    })
    yield a
    a.close()


def _served_by(emu: Emulator) -> list[str]:
    return [r.json()["model"] for r in emu.requests]


def test_an_open_circuit_fails_fast_without_a_request(api: Api, emu: Emulator) -> None:
    emu.set_default(DOWN)
    for _ in range(3):
        with pytest.raises(llmplex.ServiceUnavailableError):
            api.chat(model="openai/gpt-4o", messages=USER)
    assert len(emu.requests) == 3
    for _ in range(20):  # D2: open: no upstream hit at all
        with pytest.raises(llmplex.CircuitOpenError) as info:
            api.chat(model="openai/gpt-4o", messages=USER)
        assert info.value.retry_after is not None and info.value.retry_after > 0
    assert len(emu.requests) == 3
    emu.set_default(None)
    api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)  # another deployment is unaffected
    assert _served_by(emu)[-1] == "llama-3.3-70b-versatile"


def test_an_open_circuit_sends_the_call_to_its_fallback(api: Api, emu: Emulator) -> None:
    emu.set_default(DOWN)
    for _ in range(3):
        with pytest.raises(llmplex.ServiceUnavailableError):
            api.chat(model="openai/gpt-4o", messages=USER)
    emu.set_default(None)
    r = api.chat(model=["openai/gpt-4o", "groq/llama-3.3-70b-versatile"], messages=USER)
    assert r.choices[0].message.content
    assert _served_by(emu)[3:] == ["llama-3.3-70b-versatile"]  # the open primary was not even tried


def test_a_logical_model_walks_its_deployments_and_stats_show_it(api: Api, emu: Emulator) -> None:
    emu.enqueue(DOWN)  # the first deployment fails once: the call falls back to the second
    r = api.chat(model="chat", messages=USER)
    assert r.choices[0].message.content and _served_by(emu) == ["gpt-4o", "llama-3.3-70b-versatile"]
    stats = {s.name: s for s in api.client.router.stats()}
    assert set(stats) == {"openai/gpt-4o", "groq/llama-3.3-70b-versatile"}


def test_a_rate_limit_refuses_before_sending(api: Api, emu: Emulator) -> None:
    for _ in range(2):
        api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)
    with pytest.raises(llmplex.RateLimitError) as info:
        api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)
    assert info.value.code == "client_rate_limit" and info.value.retry_after
    assert len(emu.requests) == 2


def test_retries_and_fallbacks_are_events(mode: str, emu: Emulator) -> None:
    """One logical call, one correlation id: attempts, the retry, the fallback, and the finish
    naming the model that answered (and the metrics count it there)."""
    from llmplex import events

    seen: list[Any] = []
    sub = events.subscribe(seen.append)
    providers = _providers(emu)
    providers["openai"]["max_retries"] = 1
    api = Api(mode, providers=providers, router={"breaker": False})
    try:
        emu.enqueue(DOWN, DOWN)  # the primary fails twice (one retry), then the fallback answers
        api.chat(model=["openai/gpt-4o", "groq/llama-3.3-70b-versatile"], messages=USER)
        events.flush()
    finally:
        events.unsubscribe(sub)
        api.close()
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["RequestStarted", "AttemptStarted", "RetryScheduled", "AttemptStarted", "FallbackTaken",
                     "AttemptStarted", "Finished"]
    assert len({e.call_id for e in seen}) == 1
    fallback = seen[kinds.index("FallbackTaken")]
    assert (fallback.provider, fallback.to_provider) == ("openai", "groq")
    assert (seen[-1].provider, seen[-1].model) == ("groq", "llama-3.3-70b-versatile")
    assert list(api.client.metrics().by_provider) == ["groq"]  # counted where it was served
