"""The response cache in real calls over the emulator: hits answer without a request, streams
replay as streams, errors and broken streams are never stored (F2), tenants never share (F1),
TTL and refresh work, and hits are visible (``cached``, zero cost, events, metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

import llmplex
from llmplex import events
from llmplex.cache import MemoryCache
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import NO_BREAKER, Api

KEY = "sk-test-key-123456"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend(clock: Clock) -> MemoryCache:
    return MemoryCache(now=clock)


def cached_api(mode: str, emu: Emulator, backend: Any, key: str = KEY, **kwargs: Any) -> Api:
    return Api(mode, provider="openai", api_key=key, base_url=emu.base_url, router=NO_BREAKER, cache=backend,
               **kwargs)


@pytest.fixture
def api(mode: str, emu: Emulator, backend: MemoryCache) -> Iterator[Api]:
    a = cached_api(mode, emu, backend)
    yield a
    a.close()


def test_a_repeated_request_is_answered_by_the_cache(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(text="Paris.", usage={"prompt_tokens": 14, "completion_tokens": 2}))
    first = api.chat(model="gpt-4o", messages=MESSAGES)
    second = api.chat(model="gpt-4o", messages=MESSAGES, temperature=None)  # None = not given: same request
    assert len(emu.requests) == 1
    assert second.choices[0].message.content == first.choices[0].message.content == "Paris."
    assert second.model_dump() == first.model_dump()  # the OpenAI JSON is the same
    assert (first.cached, second.cached) == (False, True)
    assert first.cost is not None and first.cost.total > 0
    assert second.cost.total == Decimal(0) and "cache" in (second.cost.source.note or "")
    assert second.usage is not None and second.usage.prompt_tokens == 14  # what the answer took, as reported


def test_every_parameter_and_the_model_are_part_of_the_key(api: Api, emu: Emulator) -> None:
    emu.set_default(Reply(text="ok"))
    api.chat(model="gpt-4o", messages=MESSAGES)
    api.chat(model="gpt-4o", messages=MESSAGES, temperature=0.5)
    api.chat(model="gpt-4o-mini", messages=MESSAGES)
    api.chat(model="gpt-4o", messages=[*MESSAGES, {"role": "user", "content": "and Spain?"}])
    api.chat(model="gpt-4o", messages=MESSAGES, extra_headers={"OpenAI-Project": "proj_b"})
    assert len(emu.requests) == 5
    api.chat(model="gpt-4o", messages=MESSAGES, temperature=0.5)
    assert len(emu.requests) == 5


def test_a_stream_is_stored_once_complete_and_replayed_as_a_stream(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(text="Paris is the capital of France.", chunk_words=2))
    chunks, final = api.stream(model="gpt-4o", messages=MESSAGES)
    again, replayed = api.stream(model="gpt-4o", messages=MESSAGES)
    assert len(emu.requests) == 1
    assert [c.model_dump() for c in again] == [c.model_dump() for c in chunks]
    assert len(again) > 3
    assert replayed.choices[0].message.content == final.choices[0].message.content
    assert (final.cached, replayed.cached) == (False, True)
    assert replayed.cost.total == 0
    # a streamed and a whole request are different requests (and different answers shapes)
    emu.enqueue(Reply(text="Paris."))
    api.chat(model="gpt-4o", messages=MESSAGES)
    assert len(emu.requests) == 2


def test_a_stream_says_whether_it_is_replayed(emu: Emulator, backend: MemoryCache) -> None:
    emu.set_default(Reply(text="Paris."))
    client = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache=backend)
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        assert not s.cached
        list(s)
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        assert s.cached
        assert s.get_final_completion().choices[0].message.content == "Paris."


def test_errors_are_never_cached(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(500, "boom"), Reply(text="Paris."))
    with pytest.raises(llmplex.InternalServerError):
        api.chat(model="gpt-4o", messages=MESSAGES, max_retries=0)
    assert api.chat(model="gpt-4o", messages=MESSAGES).choices[0].message.content == "Paris."
    assert api.chat(model="gpt-4o", messages=MESSAGES).cached
    assert len(emu.requests) == 2


def test_a_broken_stream_is_never_cached(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(text="Paris is the capital of France.", fault=Fault(reset_after_chunks=3)),
                Reply(text="Paris is the capital of France."))
    got, error = api.stream_until_error(model="gpt-4o", messages=MESSAGES, max_retries=0)
    assert isinstance(error, llmplex.StreamInterruptedError) and got
    _, final = api.stream(model="gpt-4o", messages=MESSAGES)
    assert not final.cached and final.choices[0].message.content == "Paris is the capital of France."
    assert len(emu.requests) == 2
    assert api.stream(model="gpt-4o", messages=MESSAGES)[1].cached


def test_an_in_stream_error_is_never_cached(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "overloaded", text="Paris is the capital"), Reply(text="Paris."))
    _, error = api.stream_until_error(model="gpt-4o", messages=MESSAGES, max_retries=0)
    assert isinstance(error, llmplex.LLMError)
    assert not api.stream(model="gpt-4o", messages=MESSAGES)[1].cached
    assert len(emu.requests) == 2


def test_an_abandoned_stream_is_never_cached(emu: Emulator, backend: MemoryCache) -> None:
    emu.set_default(Reply(text="Paris is the capital of France and its largest city.", chunk_words=1))
    client = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache=backend)
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        next(iter(s))
        next(iter(s))  # the caller stops reading here
    assert backend.stats.stores == 0 and len(backend) == 0
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        assert not s.cached
        list(s)
    assert backend.stats.stores == 1 and len(emu.requests) == 2


def test_refresh_asks_the_provider_and_replaces_the_entry(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(text="old"), Reply(text="new"))
    assert api.chat(model="gpt-4o", messages=MESSAGES).choices[0].message.content == "old"
    refreshed = api.chat(model="gpt-4o", messages=MESSAGES, cache="refresh")
    assert refreshed.choices[0].message.content == "new" and not refreshed.cached
    again = api.chat(model="gpt-4o", messages=MESSAGES)
    assert again.cached and again.choices[0].message.content == "new"
    assert len(emu.requests) == 2


def test_cache_false_skips_the_cache(api: Api, emu: Emulator, backend: MemoryCache) -> None:
    emu.set_default(Reply(text="ok"))
    api.chat(model="gpt-4o", messages=MESSAGES, cache=False)
    api.chat(model="gpt-4o", messages=MESSAGES, cache=False)
    assert len(emu.requests) == 2 and backend.stats.stores == 0 and backend.stats.misses == 0


def test_opt_in_per_request(mode: str, emu: Emulator, backend: MemoryCache) -> None:
    emu.set_default(Reply(text="ok"))
    api = cached_api(mode, emu, {"backend": backend, "by_default": False})
    try:
        api.chat(model="gpt-4o", messages=MESSAGES)
        api.chat(model="gpt-4o", messages=MESSAGES)
        assert len(emu.requests) == 2 and backend.stats.stores == 0
        api.chat(model="gpt-4o", messages=MESSAGES, cache=True)
        assert api.chat(model="gpt-4o", messages=MESSAGES, cache=True).cached
        assert len(emu.requests) == 3
    finally:
        api.close()


def test_entries_expire_after_their_ttl(mode: str, emu: Emulator, backend: MemoryCache, clock: Clock) -> None:
    emu.set_default(Reply(text="ok"))
    api = cached_api(mode, emu, backend, cache_ttl=60)
    try:
        api.chat(model="gpt-4o", messages=MESSAGES)
        clock.now += 59
        assert api.chat(model="gpt-4o", messages=MESSAGES).cached
        clock.now += 2
        assert not api.chat(model="gpt-4o", messages=MESSAGES).cached
        assert len(emu.requests) == 2
        api.chat(model="gpt-4o", messages=[{"role": "user", "content": "short-lived"}], cache_ttl=5)
        clock.now += 6
        assert not api.chat(model="gpt-4o", messages=[{"role": "user", "content": "short-lived"}]).cached
    finally:
        api.close()


def test_tenants_never_share_entries(mode: str, emu: Emulator, backend: MemoryCache) -> None:
    """F1 end to end: two keys on one backend, and the same key at two base URLs."""
    emu.set_default(Reply(text="ok"))
    a = cached_api(mode, emu, backend, key="sk-tenant-a-123456")
    b = cached_api(mode, emu, backend, key="sk-tenant-b-123456")
    try:
        a.chat(model="gpt-4o", messages=MESSAGES)
        assert not b.chat(model="gpt-4o", messages=MESSAGES).cached
        assert a.chat(model="gpt-4o", messages=MESSAGES).cached
        assert not a.chat(model="gpt-4o", messages=MESSAGES, api_key="sk-tenant-c-123456").cached
        assert len(emu.requests) == 3
    finally:
        a.close()
        b.close()


def test_structured_output_and_embeddings_and_completions_are_cached(api: Api, emu: Emulator) -> None:
    class City(BaseModel):
        name: str
        country: str

    emu.enqueue(Reply(text='{"name": "Paris", "country": "France"}'))
    first = api.run(api.client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=City))
    second = api.run(api.client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=City))
    assert second.cached and second.choices[0].message.parsed == first.choices[0].message.parsed == City(
        name="Paris", country="France")
    emu.enqueue(Reply(embedding_dims=8))
    vectors = api.embed(model="text-embedding-3-small", input=["a", "b"])
    again = api.embed(model="text-embedding-3-small", input=["a", "b"])
    assert again.cached and [d.embedding for d in again.data] == [d.embedding for d in vectors.data]
    emu.enqueue(Reply(text="done"))
    api.complete(model="gpt-3.5-turbo-instruct", prompt="Say done")
    assert api.complete(model="gpt-3.5-turbo-instruct", prompt="Say done").cached
    assert len(emu.requests) == 3


def test_hits_are_visible_in_events_and_metrics(api: Api, emu: Emulator) -> None:
    paris = Reply(text="Paris.", usage={"prompt_tokens": 14, "completion_tokens": 2})
    emu.enqueue(paris, paris)
    seen: list[Any] = []
    sub = events.subscribe(seen.append)
    try:
        api.chat(model="gpt-4o", messages=MESSAGES)
        api.chat(model="gpt-4o", messages=MESSAGES)
        api.chat(model="gpt-4o", messages=MESSAGES, cache="refresh")  # goes to the provider again
    finally:
        assert events.flush(5.0)
        events.unsubscribe(sub)
    by_call: dict[str, list[str]] = {}
    for event in seen:
        by_call.setdefault(event.call_id, []).append(type(event).__name__)
    assert list(by_call.values()) == [
        ["RequestStarted", "CacheMiss", "AttemptStarted", "Finished"],
        ["RequestStarted", "CacheHit", "Finished"],
        ["RequestStarted", "CacheMiss", "AttemptStarted", "Finished"],
    ]
    misses = [e for e in seen if isinstance(e, events.CacheMiss)]
    assert [m.refresh for m in misses] == [False, True]
    finished = [e for e in seen if isinstance(e, events.Finished)]
    assert [f.cached for f in finished] == [False, True, False]
    assert finished[1].cost == 0.0 and finished[1].input_tokens == 14
    stats = api.client.metrics()
    assert (stats.calls, stats.cache_hits, stats.cache_misses) == (3, 1, 2)
    assert stats.tokens.input == 28  # the two calls that reached the provider
    assert stats.latency.count == 2  # a hit is not a provider latency
    assert stats.by_model["openai/gpt-4o"].cache_hits == 1


def test_a_hit_takes_no_rate_limit_slot_and_ignores_an_open_circuit(mode: str, emu: Emulator,
                                                                    backend: MemoryCache) -> None:
    emu.set_default(Reply(text="ok"))
    router = {"limits": {"openai/gpt-4o": {"rpm": 1, "burst": 1, "wait": False}}}
    api = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url, cache=backend, router=router)
    try:
        api.chat(model="gpt-4o", messages=MESSAGES)
        for _ in range(5):
            assert api.chat(model="gpt-4o", messages=MESSAGES).cached
        with pytest.raises(llmplex.RateLimitError):
            api.chat(model="gpt-4o", messages=[{"role": "user", "content": "something new"}])
        assert len(emu.requests) == 1
        # a circuit opened by failures does not stop answers the cache already has
        emu.set_default(Reply.error(503, "busy"))
        for _ in range(8):
            with pytest.raises(llmplex.LLMError):
                api.chat(model="gpt-4o-mini", messages=MESSAGES, max_retries=0)
        with pytest.raises(llmplex.CircuitOpenError):
            api.chat(model="gpt-4o-mini", messages=MESSAGES, max_retries=0)
        assert api.chat(model="gpt-4o", messages=MESSAGES).cached
    finally:
        api.close()


def test_a_fallback_answer_is_cached_under_the_fallback_request(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(503, "busy"), Reply(text="from mini"))
    first = api.chat(model=["gpt-4o", "gpt-4o-mini"], messages=MESSAGES, max_retries=0)
    assert first.choices[0].message.content == "from mini" and not first.cached
    assert api.chat(model="gpt-4o-mini", messages=MESSAGES).cached  # the request gpt-4o-mini answered
    emu.enqueue(Reply(text="from 4o"))
    assert not api.chat(model="gpt-4o", messages=MESSAGES).cached  # the failed one was never stored
    assert len(emu.requests) == 3


def test_bad_cache_options_are_refused(mode: str, emu: Emulator) -> None:
    plain = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url)
    try:
        with pytest.raises(llmplex.InvalidRequestError, match="needs a response cache on the client"):
            plain.chat(model="gpt-4o", messages=MESSAGES, cache=True)
        assert plain.chat(model="gpt-4o", messages=MESSAGES, cache=False) is not None  # nothing to skip: fine
    finally:
        plain.close()
    with pytest.raises(llmplex.ConfigurationError, match="cache_ttl= needs cache="):
        llmplex.Client(cache_ttl=10)
    with pytest.raises(llmplex.ConfigurationError, match="ttl must be a number of seconds"):
        llmplex.Client(cache="memory", cache_ttl=-1)
    with pytest.raises(llmplex.ConfigurationError, match="cache must be 'memory'"):
        llmplex.Client(cache=42)
    client = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache="memory")
    with pytest.raises(llmplex.InvalidRequestError, match="cache= takes True, False or 'refresh'"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, cache="yes")
    with pytest.raises(llmplex.InvalidRequestError, match="seconds > 0"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, cache_ttl=0)
    assert len(emu.requests) == 1  # only the cache=False call was sent


def test_a_truncated_body_is_never_cached(api: Api, emu: Emulator, backend: MemoryCache) -> None:
    """F2: a 200 whose body was cut short fails to parse; nothing is stored."""
    emu.enqueue(Reply(text="Paris.", fault=Fault(close_after_bytes=20)), Reply(text="Paris."))
    with pytest.raises(llmplex.LLMError):
        api.chat(model="gpt-4o", messages=MESSAGES, max_retries=0)
    assert backend.stats.stores == 0
    assert not api.chat(model="gpt-4o", messages=MESSAGES).cached
    assert backend.stats.stores == 1 and len(emu.requests) == 2


def test_a_hit_is_served_free_when_the_budget_is_spent(mode: str, emu: Emulator, backend: MemoryCache) -> None:
    emu.set_default(Reply(text="Paris.", usage={"prompt_tokens": 14, "completion_tokens": 2}))
    budget = llmplex.Budget(0.0001)  # room for one gpt-4o call of max_tokens=2 (about $0.00006), not two
    api = cached_api(mode, emu, backend, budget=budget)
    try:
        api.chat(model="gpt-4o", messages=MESSAGES, max_tokens=2)
        spent = budget.spent
        assert spent > 0
        assert api.chat(model="gpt-4o", messages=MESSAGES, max_tokens=2).cached  # served from the cache
        assert budget.spent == spent and budget.reserved == 0  # and charged nothing
        with pytest.raises(llmplex.BudgetExceededError):
            api.chat(model="gpt-4o", messages=[{"role": "user", "content": "And of Spain?"}], max_tokens=2)
        assert len(emu.requests) == 1
    finally:
        api.close()


def test_a_cached_reply_that_fails_validation_is_asked_for_again(api: Api, emu: Emulator) -> None:
    class City(BaseModel):
        name: str
        country: str

    emu.enqueue(Reply(text='{"name": "Paris"}'), Reply(text='{"name": "Paris", "country": "France"}'))
    with pytest.raises(llmplex.StructuredOutputError):
        api.run(api.client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=City))
    # the invalid reply was stored; the same parse() replaces it with a fresh answer instead of failing again
    fixed = api.run(api.client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=City))
    assert fixed.choices[0].message.parsed == City(name="Paris", country="France") and not fixed.cached
    again = api.run(api.client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=City))
    assert again.cached and again.choices[0].message.parsed == City(name="Paris", country="France")
    assert len(emu.requests) == 2


def test_the_log_record_of_a_hit_says_so_and_shows_no_secret(api: Api, emu: Emulator,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import logging

    emu.enqueue(Reply(text="Paris."))
    with caplog.at_level(logging.INFO, logger="llmplex"):
        api.chat(model="gpt-4o", messages=MESSAGES)
        api.chat(model="gpt-4o", messages=MESSAGES)
    first, hit = (r.llmplex for r in caplog.records if r.name == "llmplex" and hasattr(r, "llmplex"))
    assert (first["cache_hit"], hit["cache_hit"]) == (False, True)
    assert "(response cache)" in caplog.text and KEY not in caplog.text
