"""Every event type from real calls against the emulator, sync and async, including under faults."""

from __future__ import annotations

import asyncio

import pytest

import llmplex
from llmplex import events
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import Api
from tests.events.conftest import Collected

USER = [{"role": "user", "content": "one two three"}]
FAST_RETRY = {"retry-after-ms": "10"}


def test_a_call_emits_started_attempt_finished_with_one_correlation_id(
    api: Api, emu: Emulator, collected: Collected
) -> None:
    emu.enqueue(Reply("hello there", usage={"prompt_tokens": 7, "completion_tokens": 2,
                                            "prompt_tokens_details": {"cached_tokens": 3},
                                            "completion_tokens_details": {"reasoning_tokens": 1}}))
    r = api.chat(model="openai/gpt-4o", messages=USER)
    assert collected.names() == ["RequestStarted", "AttemptStarted", "Finished"]
    started, attempt, finished = collected.items
    assert len({e.call_id for e in collected.items}) == 1
    assert started.stream is False and attempt.attempt == 0
    assert (finished.provider, finished.model, finished.operation, finished.deployment) == (
        "openai", "gpt-4o", "chat", "openai/gpt-4o")
    assert (finished.input_tokens, finished.output_tokens, finished.cached_tokens, finished.reasoning_tokens) == (
        7, 2, 3, 1)
    assert finished.response is r and finished.response_id == r.id and finished.finish_reasons == ("stop",)
    assert finished.cost == float(r.cost) and finished.cost > 0 and finished.ttft is None  # priced by the catalog
    assert 0 < finished.latency == pytest.approx(finished.elapsed, abs=0.01)


def test_a_retried_call_emits_retry_scheduled_and_a_second_attempt(
    api: Api, emu: Emulator, collected: Collected
) -> None:
    emu.enqueue(Reply.error(503, "busy", headers=FAST_RETRY), Reply("ok"))
    api.chat(model="openai/gpt-4o", messages=USER)
    assert collected.names() == ["RequestStarted", "AttemptStarted", "RetryScheduled", "AttemptStarted", "Finished"]
    retry = collected.of(events.RetryScheduled)[0]
    assert isinstance(retry.error, llmplex.ServiceUnavailableError) and retry.delay == pytest.approx(0.01)
    assert [e.attempt for e in collected.of(events.AttemptStarted)] == [0, 1]
    assert collected.of(events.Finished)[0].attempt == 1
    assert api.client.metrics().retries == 1


def test_a_failed_call_emits_failed_with_the_typed_error(api: Api, emu: Emulator, collected: Collected) -> None:
    emu.enqueue(Reply.error(503, "busy", headers=FAST_RETRY), Reply.error(401, "bad key"))
    with pytest.raises(llmplex.AuthenticationError) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    failed = collected.of(events.Failed)
    assert len(failed) == 1 and failed[0].error is info.value
    assert failed[0].error_type == "AuthenticationError" and not failed[0].cancelled and failed[0].attempt == 1
    assert collected.names()[-1] == "Failed"
    assert api.client.metrics().errors_by_type == {"AuthenticationError": 1}


def test_a_stream_emits_first_token_and_chunks_only_to_who_asks(api: Api, emu: Emulator, collected: Collected) -> None:
    chunks = Collected(events.ChunkReceived)
    try:
        emu.enqueue(Reply("a b c d", usage={"prompt_tokens": 4, "completion_tokens": 4}))
        got, final = api.stream(model="openai/gpt-4o", messages=USER, stream_options={"include_usage": True})
        assert collected.names() == ["RequestStarted", "AttemptStarted", "FirstToken", "Finished"]
        first, finished = collected.of(events.FirstToken)[0], collected.of(events.Finished)[0]
        assert finished.stream and finished.ttft == first.ttft and 0 < first.ttft <= finished.latency
        assert finished.response.choices[0].message.content == final.choices[0].message.content == "a b c d"
        assert (finished.input_tokens, finished.output_tokens) == (4, 4)
        received = chunks.of(events.ChunkReceived)
        assert [e.chunk for e in received] == got and [e.index for e in received] == list(range(len(got)))
        assert {e.call_id for e in received} == {finished.call_id}
    finally:
        chunks.close()
    stats = api.client.metrics()
    assert stats.ttft.count == 1 and stats.tokens.input == 4


def test_a_stream_that_breaks_emits_failed(api: Api, emu: Emulator, collected: Collected) -> None:
    emu.enqueue(Reply.stream_error(2, "upstream died"))
    got, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert error is not None and got
    failed = collected.of(events.Failed)
    assert len(failed) == 1 and failed[0].error is error and failed[0].stream
    assert collected.names() == ["RequestStarted", "AttemptStarted", "FirstToken", "Failed"]


def test_a_reset_stream_emits_failed_as_interrupted(api: Api, emu: Emulator, collected: Collected) -> None:
    emu.enqueue(Reply("a b c d e f", fault=Fault(reset_after_chunks=2)))
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert collected.of(events.Failed)[0].error_type == "StreamInterruptedError"
    assert api.client.metrics().errors_by_type == {"StreamInterruptedError": 1}


def test_breaking_out_of_a_stream_is_reported_as_cancelled(emu: Emulator, collected: Collected) -> None:
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    emu.enqueue(Reply("a b c d e f g h"))
    for chunk in client.chat.completions.create(model="openai/x", messages=USER, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            break
    emu.enqueue(Reply("never read"))
    client.chat.completions.create(model="openai/x", messages=USER, stream=True).close()
    failed = collected.of(events.Failed)
    assert [(f.cancelled, f.error_type, f.error) for f in failed] == [(True, "cancelled", None)] * 2
    assert client.metrics().errors_by_type == {"cancelled": 2}
    client.close()


def test_cancelling_an_async_call_is_reported_as_cancelled(emu: Emulator, collected: Collected) -> None:
    async def go() -> None:
        client = llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url)
        emu.enqueue(Reply(fault=Fault(no_response=True)))
        task = asyncio.ensure_future(client.chat.completions.create(model="openai/x", messages=USER))
        while not collected.of(events.AttemptStarted):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client.metrics().errors_by_type == {"cancelled": 1}
        await client.close()

    asyncio.run(go())
    failed = collected.of(events.Failed)
    assert len(failed) == 1 and failed[0].cancelled and failed[0].error_type == "cancelled"


def test_completions_and_embeddings_name_their_operation(api: Api, emu: Emulator, collected: Collected) -> None:
    api.complete(model="openai/gpt-3.5-turbo-instruct", prompt="hi")
    api.embed(model="openai/text-embedding-3-small", input=["a", "b"])
    assert [e.operation for e in collected.of(events.Finished)] == ["text_completion", "embeddings"]
    assert set(api.client.metrics().by_model) == {"openai/gpt-3.5-turbo-instruct", "openai/text-embedding-3-small"}


def test_circuit_events_come_from_the_call_that_changed_the_circuit(mode: str, emu: Emulator,
                                                                     collected: Collected) -> None:
    api = Api(mode, provider="openai", api_key="sk-test-key-123456", base_url=emu.base_url,
              router={"breaker": {"failures": 2, "open_for": 0}})
    try:
        emu.enqueue(Reply.error(503, "busy"), Reply.error(503, "busy"), Reply(text="ok"))
        for _ in range(2):
            with pytest.raises(llmplex.InternalServerError):
                api.chat(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_retries=0)
        api.chat(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])  # the probe succeeds
    finally:
        api.close()
    opened, closed = collected.of(events.CircuitOpened), collected.of(events.CircuitClosed)
    failed, finished = collected.of(events.Failed), collected.of(events.Finished)
    assert len(opened) == 1 and opened[0].reason == "failure (HTTP 503)"
    assert opened[0].call_id == failed[1].call_id and opened[0].deployment == "openai/gpt-4o"
    assert len(closed) == 1 and closed[0].call_id == finished[0].call_id
    names = [type(e).__name__ for e in collected.items if e.call_id == failed[1].call_id]
    assert names == ["RequestStarted", "AttemptStarted", "CircuitOpened", "Failed"]


def test_a_circuit_change_in_redis_is_reported_too(redis_url: str) -> None:
    """The transition comes back from the shared state's Lua script as from memory (RedisState)."""
    import uuid

    from llmplex.resilience.breaker import BreakerConfig
    from llmplex.resilience.guard import Deployment, Outcome
    from llmplex.resilience.policy import PolicyGuard
    from llmplex.resilience.state import RedisState

    state = RedisState(redis_url, namespace=f"test-{uuid.uuid4().hex[:12]}")
    guard = PolicyGuard(state, BreakerConfig(failures=2, open_for=0))
    where = Deployment("openai", "gpt-4o", "openai/gpt-4o")
    assert guard.record(where, Outcome("failure", status=503)) is None
    assert guard.record(where, Outcome("failure", status=503)) == "opened"
    assert guard.admit(where) == 0.0  # open_for=0: the probe goes
    assert guard.record(where, Outcome("success", status=200)) == "closed"


def test_every_event_type_is_covered() -> None:
    covered = {"RequestStarted", "AttemptStarted", "RetryScheduled", "FirstToken", "ChunkReceived", "Finished",
               "Failed", "CacheHit", "CacheMiss", "CircuitOpened", "CircuitClosed", "FallbackTaken"}
    assert {cls.__name__ for cls in events.ALL_EVENTS} == covered
