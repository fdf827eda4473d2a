"""Fallback chains, the guard seam and the retry budget over the emulator: RELIABILITY D5, C10,
A10 (shape, bounded), and the guard's admit/record around every attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import llmplex
from llmplex.errors import ContextWindowExceededError, ServiceUnavailableError
from llmplex.resilience.budget import LocalRetryBudget
from llmplex.resilience.fallback import next_in_chain, outcome_kind
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import NO_BREAKER, Api
from tests.reliability.conftest import RecordingGuard

USER = [{"role": "user", "content": "hi"}]
DOWN = Reply.error(503, "down", headers={"retry-after-ms": "1"})
CHAIN = ["openai/gpt-4o", "groq/llama-3.3-70b-versatile", "anthropic/claude-sonnet-4-5"]


def providers(emu: Emulator) -> dict[str, Any]:
    """Three providers on the one emulator, each with its own key."""
    return {"openai": {"api_key": "sk-openai-1", "base_url": emu.base_url},
            "groq": {"api_key": "gsk-groq-2", "base_url": emu.base_url},
            "anthropic": {"api_key": "sk-ant-3", "base_url": emu.base_url},
            "together": {"api_key": "tg-4", "base_url": emu.base_url}}


@pytest.fixture
def chain_api(mode: str, emu: Emulator) -> Iterator[tuple[Api, RecordingGuard]]:
    guard = RecordingGuard()
    api = Api(mode, providers=providers(emu), guard=guard)
    yield api, guard
    api.close()


def models_asked(emu: Emulator) -> list[str]:
    return [r.json()["model"] for r in emu.requests]


def test_d5_primary_always_503_is_served_by_the_fallback(chain_api: tuple[Api, RecordingGuard], emu: Emulator) -> None:
    api, guard = chain_api
    emu.enqueue(DOWN, DOWN, DOWN, Reply("from groq"))
    reply = api.chat(model=CHAIN, messages=USER)
    assert reply.choices[0].message.content == "from groq"
    assert models_asked(emu) == ["gpt-4o"] * 3 + ["llama-3.3-70b-versatile"]
    assert emu.requests[-1].headers["authorization"] == "Bearer gsk-groq-2"  # the fallback's own key
    assert guard.kinds() == ["failure"] * 3 + ["success"]
    assert [d.provider for d, _ in guard.outcomes] == ["openai"] * 3 + ["groq"]


def test_d5_when_all_fail_every_error_is_chained(chain_api: tuple[Api, RecordingGuard], emu: Emulator) -> None:
    api, _ = chain_api
    emu.set_default(DOWN)
    with pytest.raises(llmplex.LLMError) as info:
        api.chat(model="openai/gpt-4o", fallbacks=CHAIN[1:], messages=USER, max_retries=0)
    error = info.value
    assert [e.provider for e in error.attempts] == ["openai", "groq", "anthropic"]
    assert error.attempts[-1] is error and isinstance(error, ServiceUnavailableError)
    assert error.__cause__ is error.attempts[1] and error.__cause__.__cause__ is error.attempts[0]
    assert len(emu.requests) == 3


def test_fallbacks_from_the_client_config_and_per_request_override(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers=providers(emu), fallbacks=["groq/llama-3.3-70b-versatile"])
    emu.enqueue(DOWN, Reply("groq"))
    assert api.chat(model="openai/gpt-4o", messages=USER, max_retries=0).choices[0].message.content == "groq"
    emu.enqueue(DOWN, Reply("claude"))
    reply = api.chat(model="openai/gpt-4o", messages=USER, max_retries=0, fallbacks=["anthropic/claude-sonnet-4-5"])
    assert reply.choices[0].message.content == "claude"
    assert emu.requests[-1].path.endswith("/messages")  # Anthropic's own wire protocol
    api.close()


def test_errors_that_are_the_callers_to_fix_do_not_fall_back(chain_api: tuple[Api, RecordingGuard],
                                                              emu: Emulator) -> None:
    api, guard = chain_api
    emu.enqueue(Reply.error(401, "bad key"))
    with pytest.raises(llmplex.AuthenticationError) as info:
        api.chat(model=CHAIN, messages=USER)
    assert info.value.attempts == () and len(emu.requests) == 1
    assert guard.kinds() == ["ignored"]  # a 4xx other than 408/409/429 never counts against a deployment


def test_context_window_overflow_falls_back(chain_api: tuple[Api, RecordingGuard], emu: Emulator) -> None:
    api, _ = chain_api
    emu.enqueue(Reply.error(400, "too long", code="context_length_exceeded"), Reply("bigger"))
    assert api.chat(model=CHAIN, messages=USER).choices[0].message.content == "bigger"
    assert models_asked(emu) == ["gpt-4o", "llama-3.3-70b-versatile"]


def test_context_window_overflow_skips_models_known_not_to_be_larger() -> None:
    windows = {0: 200_000, 1: 200_000, 2: 128_000, 3: None, 4: 1_000_000}
    error = ContextWindowExceededError("too long", status_code=400)
    assert next_in_chain(error, 0, 5, windows.get) == 3
    assert next_in_chain(error, 3, 5, windows.get) == 4
    assert next_in_chain(error, 4, 5, windows.get) is None


def test_an_open_circuit_moves_to_the_next_model_without_a_request(mode: str, emu: Emulator) -> None:
    guard = RecordingGuard(open_circuits=frozenset({"openai"}))
    api = Api(mode, providers=providers(emu), guard=guard)
    assert api.chat(model=CHAIN, messages=USER).choices[0].message.content
    assert models_asked(emu) == ["llama-3.3-70b-versatile"]
    with pytest.raises(llmplex.CircuitOpenError):
        api.chat(model="openai/gpt-4o", messages=USER)
    assert len(emu.requests) == 1
    api.close()


def test_c10_stream_falls_back_before_the_first_chunk_only(chain_api: tuple[Api, RecordingGuard],
                                                           emu: Emulator) -> None:
    api, _ = chain_api
    emu.enqueue(DOWN, Reply("from the fallback"))
    _, final = api.stream(model=CHAIN, messages=USER, max_retries=0)
    assert final.choices[0].message.content == "from the fallback"
    assert models_asked(emu) == ["gpt-4o", "llama-3.3-70b-versatile"]
    emu.reset()
    emu.enqueue(Reply("alpha beta gamma delta", fault=Fault(reset_after_chunks=3)), Reply("never used"))
    chunks, error = api.stream_until_error(model=CHAIN, messages=USER, max_retries=0)
    assert isinstance(error, llmplex.StreamInterruptedError) and chunks
    assert models_asked(emu) == ["gpt-4o"]


def test_fallbacks_for_parse_and_embeddings(chain_api: tuple[Api, RecordingGuard], emu: Emulator) -> None:
    class City(BaseModel):
        name: str

    api, _ = chain_api
    emu.enqueue(DOWN, Reply('{"name": "Paris"}'))
    parsed = api.run(api.client.chat.completions.parse(model=CHAIN[:2], messages=USER, response_format=City,
                                                       max_retries=0))
    assert parsed.choices[0].message.parsed == City(name="Paris")
    emu.enqueue(DOWN, Reply(embedding_dims=3))
    vectors = api.embed(model=["openai/text-embedding-3-small", "together/some-embedder"], input=["a"], max_retries=0)
    assert len(vectors.data[0].embedding) == 3
    assert models_asked(emu)[-2:] == ["text-embedding-3-small", "some-embedder"]


def test_guard_outcomes_carry_usage_and_cancellation(emu: Emulator) -> None:
    guard = RecordingGuard()
    client = llmplex.AsyncClient(providers=providers(emu), guard=guard)

    async def go() -> None:
        await client.chat.completions.create(model="openai/gpt-4o", messages=USER)
        emu.enqueue(Reply(fault=Fault(no_response=True)))
        task = asyncio.ensure_future(client.chat.completions.create(model="openai/gpt-4o", messages=USER))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()

    asyncio.run(go())
    (_, ok), (_, cancelled) = guard.outcomes
    assert ok.kind == "success" and ok.status == 200 and ok.prompt_tokens and ok.completion_tokens
    assert "content-type" in ok.headers
    assert cancelled.kind == "cancelled"


def test_outcome_kinds() -> None:
    assert outcome_kind(None) == "success"
    assert outcome_kind(ServiceUnavailableError("x", status_code=503)) == "failure"
    assert outcome_kind(llmplex.RateLimitError("x", status_code=429)) == "failure"
    assert outcome_kind(llmplex.BadRequestError("x", status_code=400)) == "ignored"
    assert outcome_kind(llmplex.APITimeoutError("x")) == "failure"
    assert outcome_kind(KeyboardInterrupt()) == "cancelled"


def test_retry_budget_with_a_fake_clock() -> None:
    now = [0.0]
    budget = LocalRetryBudget(clock=lambda: now[0])
    for _ in range(3):  # the concurrency floor: 3 retries under way are always allowed
        assert budget.acquire_retry("d")
    assert not budget.acquire_retry("d")
    for _ in range(20):
        budget.request("d")
    assert budget.acquire_retry("d")  # 4 retries for 20 requests: within 20 %
    assert not budget.acquire_retry("d")
    for _ in range(4):
        budget.release_retry("d")
    now[0] = 10.0  # the window moved on: the old counts are gone
    assert budget.stats("d") == (0, 0, 0)
    assert budget.acquire_retry("other")  # per deployment


def test_a10_shape_the_budget_bounds_amplification_in_an_outage(emu: Emulator) -> None:
    """64 concurrent callers, 400 calls, upstream always 503: attempts per call stay near 1.2
    (plus the concurrency floor), where max_retries=2 alone would make 3."""
    emu.set_default(DOWN)
    client = llmplex.AsyncClient(providers=providers(emu), router=NO_BREAKER)  # the budget alone
    calls = 400

    async def go() -> None:
        gate = asyncio.Semaphore(64)

        async def one() -> None:
            async with gate:
                with pytest.raises(llmplex.ServiceUnavailableError):
                    await client.chat.completions.create(model="openai/gpt-4o", messages=USER)

        await asyncio.gather(*(one() for _ in range(calls)))
        await client.close()

    asyncio.run(go())
    amplification = len(emu.requests) / calls
    assert amplification <= 1.3, amplification
