"""Spend budgets over loopback (sync|async): a call that would exceed a client's or a session's
budget raises ``BudgetExceededError`` before anything is sent; concurrent calls never overspend
together; streams settle on their last chunk; unknown prices follow the budget's policy.

Prices come from a catalog override (no input price, $10 per million output tokens), and every
call asks ``max_tokens=100`` and gets a usage of 100 output tokens: each call is estimated at, and
costs, exactly $0.001.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import llmplex
from llmplex import Budget, BudgetExceededError
from llmplex.catalog.tokens import estimate_tokens
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import NO_BREAKER, Api

USER = [{"role": "user", "content": "hi"}]
CALL = 0.001
"""What one call is estimated at and costs (100 output tokens at $10 per million)."""
USAGE = {"prompt_tokens": 7, "completion_tokens": 100}
CATALOG = {"openai": {
    "metered": {"prices": {"input": 0, "output": 10, "source": "test"}},
    "pricey": {"prices": {"input": 0, "output": 50, "source": "test"}},
    "thrifty": {"prices": {"input": 0, "output": 1, "source": "test"}},
    "by-prompt": {"prices": {"input": 2, "output": 10, "source": "test"}},
}}


def _api(mode: str, emu: Emulator, **kwargs: Any) -> Api:
    return Api(mode, providers={"openai": {"api_key": "sk-a", "base_url": emu.base_url},
                                "groq": {"api_key": "gsk-b", "base_url": emu.base_url}},
               catalog=CATALOG, router=NO_BREAKER, **kwargs)


@pytest.fixture
def client_budget() -> Budget:
    return Budget(0.002, name="client")


@pytest.fixture
def api(mode: str, emu: Emulator, client_budget: Budget) -> Iterator[Api]:
    emu.set_default(Reply("ok", usage=USAGE))
    a = _api(mode, emu, budget=client_budget)
    yield a
    a.close()
    emu.set_default(None)


def _chat(api: Api, model: str = "openai/metered", **kwargs: Any) -> Any:
    return api.chat(model=model, messages=USER, max_tokens=100, **kwargs)


def test_a_budget_allows_two_calls_and_refuses_the_third_before_sending(api: Api, emu: Emulator,
                                                                         client_budget: Budget) -> None:
    assert api.client.budget is client_budget
    _chat(api)
    assert (client_budget.spent, client_budget.reserved, client_budget.remaining) == (CALL, 0.0, 0.001)
    _chat(api)
    with pytest.raises(BudgetExceededError) as caught:
        _chat(api)
    assert len(emu.requests) == 2  # the third was refused before a byte was sent
    err = caught.value
    assert (err.budget, err.limit, err.spent, err.reserved, err.estimate) == ("client", 0.002, 0.002, 0.0, CALL)
    assert (err.prompt_tokens, err.output_tokens, err.provider, err.model) == (
        estimate_tokens(USER), 100, "openai", "metered")
    assert str(err).startswith("budget 'client' would be exceeded: $0.0020 spent of $0.002, and this call is "
                               "estimated at $0.0010 (")
    assert "Nothing was sent" in str(err) and "budget.reset()" in str(err) and "max_tokens" in str(err)
    assert pickle.loads(pickle.dumps(err)).estimate == CALL
    # not retried, counted as the call's failure
    m = api.client.metrics()
    assert (m.calls, m.errors_by_type, m.retries) == (3, {"BudgetExceededError": 1}, 0)
    client_budget.reset()
    assert client_budget.spent == 0.0
    _chat(api)
    assert len(emu.requests) == 3


def test_a_call_that_fails_releases_its_reservation(api: Api, emu: Emulator, client_budget: Budget) -> None:
    emu.enqueue(Reply.error(400, "bad request", code="invalid_value"))
    with pytest.raises(llmplex.BadRequestError):
        _chat(api)
    assert (client_budget.spent, client_budget.reserved) == (0.0, 0.0)


def test_without_max_tokens_the_budget_assumes_its_output(mode: str, emu: Emulator) -> None:
    api = _api(mode, emu, budget=Budget(0.01, assumed_output_tokens=2000))
    try:
        with pytest.raises(BudgetExceededError) as caught:
            api.chat(model="openai/metered", messages=USER)
        assert (caught.value.output_tokens, caught.value.estimate) == (2000, 0.02)
        assert "2,000 output tokens (assumed: no max_tokens set)" in str(caught.value)
        # with n=2 and max_tokens=300, the estimate covers both choices: 600 tokens
        with pytest.raises(BudgetExceededError) as caught:
            api.chat(model="openai/pricey", messages=USER, max_tokens=300, n=2)
        assert (caught.value.output_tokens, caught.value.estimate) == (600, 0.03)
        # the prompt is priced at the input rate
        with pytest.raises(BudgetExceededError) as caught:
            api.chat(model="openai/by-prompt", messages=[{"role": "user", "content": "x" * 40_000}], max_tokens=1)
        assert caught.value.prompt_tokens == 10_000 + estimate_tokens([{"role": "user", "content": ""}])
        assert caught.value.estimate == pytest.approx(caught.value.prompt_tokens * 2e-6 + 1e-5)
        assert emu.requests == []
    finally:
        api.close()


def test_concurrent_threads_never_overspend(emu: Emulator) -> None:
    budget = Budget(0.005)
    emu.set_default(Reply("ok", usage=USAGE, fault=Fault(delay_before_headers=0.2)))  # keep calls in flight
    client = llmplex.Client(provider="openai", api_key="sk-a", base_url=emu.base_url, catalog=CATALOG,
                            router=NO_BREAKER, budget=budget)
    start = threading.Barrier(20)

    def call(_: int) -> str:
        start.wait()
        try:
            client.chat.completions.create(model="openai/metered", messages=USER, max_tokens=100)
        except BudgetExceededError:
            return "refused"
        return "ok"

    try:
        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(call, range(20)))
    finally:
        client.close()
        emu.set_default(None)
    assert (outcomes.count("ok"), outcomes.count("refused")) == (5, 15)
    assert len(emu.requests) == 5
    assert (budget.spent, budget.reserved) == (pytest.approx(0.005), 0.0)


def test_concurrent_tasks_never_overspend(emu: Emulator) -> None:
    budget = Budget(0.005)
    emu.set_default(Reply("ok", usage=USAGE, fault=Fault(delay_before_headers=0.2)))

    async def main() -> list[Any]:
        async with llmplex.AsyncClient(provider="openai", api_key="sk-a", base_url=emu.base_url, catalog=CATALOG,
                                       router=NO_BREAKER, budget=budget) as client:
            calls = [client.chat.completions.create(model="openai/metered", messages=USER, max_tokens=100)
                     for _ in range(20)]
            return await asyncio.gather(*calls, return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        emu.set_default(None)
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert (len(outcomes) - len(refused), len(refused)) == (5, 15)
    assert len(emu.requests) == 5
    assert (budget.spent, budget.reserved) == (pytest.approx(0.005), 0.0)
    assert all(r.reserved == pytest.approx(0.005) for r in refused)  # refused while the others were in flight


def test_a_stream_holds_its_estimate_and_settles_on_its_last_chunk(api: Api, emu: Emulator,
                                                                   client_budget: Budget) -> None:
    emu.enqueue(Reply("a short answer", usage={"prompt_tokens": 7, "completion_tokens": 40}))  # below its estimate
    stream = api.run(api.client.chat.completions.create(model="openai/metered", messages=USER, max_tokens=100,
                                                        stream=True))
    assert (client_budget.spent, client_budget.reserved) == (0.0, CALL)  # handed over, not finished
    if api.loop is None:
        with stream:
            list(stream)
            final = stream.get_final_completion()
    else:
        async def consume() -> Any:
            async with stream:
                _ = [c async for c in stream]
                return await stream.get_final_completion()

        final = api.run(consume())
    assert final.cost is not None and float(final.cost) == 0.0004
    assert (client_budget.spent, client_budget.reserved) == (0.0004, 0.0)  # the real cost, not the estimate


def test_a_stream_that_ends_early_is_charged_its_estimate(api: Api, emu: Emulator, client_budget: Budget) -> None:
    emu.enqueue(Reply("one two three four five", usage=USAGE, fault=Fault(reset_after_chunks=3)))
    chunks, error = api.stream_until_error(model="openai/metered", messages=USER, max_tokens=100)
    assert chunks and isinstance(error, llmplex.StreamInterruptedError)
    assert (client_budget.spent, client_budget.reserved) == (CALL, 0.0)
    # abandoned after its first chunk: the provider billed it, the estimate is charged
    emu.enqueue(Reply("one two three four five", usage=USAGE))
    stream = api.run(api.client.chat.completions.create(model="openai/metered", messages=USER, max_tokens=100,
                                                        stream=True))
    if api.loop is None:
        with stream:
            next(iter(stream))
    else:
        async def first_chunk_only() -> None:
            async with stream:
                await anext(aiter(stream))

        api.run(first_chunk_only())
    assert (client_budget.spent, client_budget.reserved) == (2 * CALL, 0.0)


def test_a_stream_retried_before_its_first_chunk_is_charged_once(api: Api, emu: Emulator,
                                                                 client_budget: Budget) -> None:
    emu.enqueue(Reply("lost", fault=Fault(reset_after_chunks=0)))
    _, final = api.stream(model="openai/metered", messages=USER, max_tokens=100)
    assert len(emu.requests) == 2 and float(final.cost) == CALL
    assert (client_budget.spent, client_budget.reserved) == (CALL, 0.0)
    m = api.client.metrics()
    assert (m.calls, m.errors, m.retries) == (1, 0, 1)  # the retried success counts as a success


def test_session_and_client_budgets_both_apply(api: Api, emu: Emulator, client_budget: Budget) -> None:
    failed: list[Any] = []
    with api.client.session("checkout", budget=0.001) as s:
        s.subscribe(failed.append, llmplex.events.Failed)
        assert s.budget is not None and s.budget.name == "checkout"
        _chat(api)
        with pytest.raises(BudgetExceededError) as caught:
            _chat(api)
        assert (caught.value.budget, caught.value.limit) == ("checkout", 0.001)
        assert s.flush(5.0)
    assert [(e.error_type, e.error) for e in failed] == [("BudgetExceededError", caught.value)]
    assert (s.budget.spent, client_budget.spent) == (CALL, CALL)  # the session's call counts for both
    _chat(api)  # outside the session, only the client's budget applies
    with api.client.session("later", budget=1.0), pytest.raises(BudgetExceededError) as caught:
        _chat(api)  # the session has room; the client's budget has not
    assert caught.value.budget == "client"
    assert len(emu.requests) == 2


def test_nested_sessions_each_limit_and_a_shared_budget_counts_once(mode: str, emu: Emulator) -> None:
    emu.set_default(Reply("ok", usage=USAGE))
    shared = Budget(0.003, name="team")
    api = _api(mode, emu, budget=shared)
    try:
        with llmplex.session("outer", budget=shared), llmplex.session("inner", budget=Budget(0.002)):
            _chat(api)
            _chat(api)
            with pytest.raises(BudgetExceededError) as caught:
                _chat(api)
        assert caught.value.budget == "budget"  # the inner one, named by default
        assert shared.spent == pytest.approx(0.002)  # one budget given twice is charged once
        assert shared.reserved == 0.0  # what the shared budget held for the refused call was given back
    finally:
        api.close()
        emu.set_default(None)


def test_an_unknown_price_is_refused_by_default(api: Api, emu: Emulator) -> None:
    with pytest.raises(BudgetExceededError) as caught:
        api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)
    err = caught.value
    assert err.estimate is None and (err.provider, err.model) == ("groq", "llama-3.3-70b-versatile")
    assert "the catalog has no price for it" in str(err) and "on_unknown_price='allow'" in str(err)
    assert "catalog=" in str(err)
    assert emu.requests == []


def test_an_unknown_price_is_let_through_when_allowed(mode: str, emu: Emulator,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    emu.set_default(Reply("ok", usage=USAGE))
    budget = Budget(0.002, on_unknown_price="allow")
    api = _api(mode, emu, budget=budget)
    try:
        with caplog.at_level(logging.WARNING, logger="llmplex"):
            api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)
            api.chat(model="groq/llama-3.3-70b-versatile", messages=USER)
        assert (budget.unpriced, budget.spent, budget.reserved, len(emu.requests)) == (2, 0.0, 0.0, 2)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == ["budget 'budget': groq/llama-3.3-70b-versatile has no price in the catalog; its calls "
                            "are let through uncounted (on_unknown_price='allow')"]  # once per model
    finally:
        api.close()
        emu.set_default(None)


def test_a_refusal_falls_back_only_to_a_model_that_fits(api: Api, emu: Emulator, client_budget: Budget) -> None:
    _chat(api)  # $0.001 of $0.002 left
    r = _chat(api, model=["openai/pricey", "openai/thrifty"])  # $0.005 refused; $0.0001 fits
    assert r.model == "thrifty" and len(emu.requests) == 2
    assert client_budget.spent == pytest.approx(0.0011)
    # a pricier fallback is refused too, and so is one without a price after a refusal
    with pytest.raises(BudgetExceededError) as caught:
        _chat(api, model=["openai/metered", "openai/pricey", "groq/llama-3.3-70b-versatile"])
    assert [e.model for e in caught.value.attempts] == ["metered", "pricey", "llama-3.3-70b-versatile"]
    assert "a cheaper model was already refused" in str(caught.value)
    assert len(emu.requests) == 2 and client_budget.reserved == 0.0


def test_a_fallback_after_a_failure_is_estimated_at_its_own_price(api: Api, emu: Emulator,
                                                                  client_budget: Budget) -> None:
    emu.enqueue(Reply.error(400, "no", code="invalid_value"))
    with pytest.raises(llmplex.BadRequestError):
        _chat(api, model=["openai/thrifty", "openai/pricey"])  # a 400 does not fall back
    emu.enqueue(*[Reply.error(503, "down")] * 3)
    with pytest.raises(BudgetExceededError) as caught:
        _chat(api, model=["openai/thrifty", "openai/pricey"], max_retries=2)
    assert caught.value.model == "pricey" and caught.value.estimate == pytest.approx(0.005)
    assert len(emu.requests) == 4 and (client_budget.spent, client_budget.reserved) == (0.0, 0.0)


def test_embeddings_and_completions_are_estimated_and_charged(mode: str, emu: Emulator) -> None:
    budget = Budget(1.0)
    catalog = {"openai": {"embedder": {"prices": {"input": 100, "source": "test"}},
                          "writer": {"prices": {"input": 0, "output": 10, "source": "test"}}}}
    api = Api(mode, provider="openai", api_key="sk-a", base_url=emu.base_url, catalog=catalog, budget=budget)
    try:
        with pytest.raises(BudgetExceededError) as caught:
            api.embed(model="openai/embedder", input=["x" * 40_000] * 3)  # 30,000 tokens at $100 per million
        assert (caught.value.estimate, caught.value.output_tokens) == (pytest.approx(3.0), 0)
        r = api.embed(model="openai/embedder", input="a few words")
        assert r.cost is not None and budget.spent == float(r.cost) > 0
        with pytest.raises(BudgetExceededError) as caught:
            api.complete(model="openai/writer", prompt=["a", "b"], max_tokens=60_000)  # two prompts
        assert caught.value.output_tokens == 120_000
    finally:
        api.close()


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "1.50", True])
def test_a_bad_budget_is_a_clear_error(bad: Any) -> None:
    with pytest.raises(llmplex.ConfigurationError, match="USD"):
        llmplex.Client(budget=bad)


def test_bad_budget_options_are_clear_errors() -> None:
    with pytest.raises(llmplex.ConfigurationError, match="'allow' or 'refuse'"):
        Budget(1, on_unknown_price="maybe")  # type: ignore[arg-type]
    with pytest.raises(llmplex.ConfigurationError, match="assumed_output_tokens"):
        Budget(1, assumed_output_tokens=-5)
    assert repr(Budget(1.5, name="n")) == "<Budget 'n' spent=$0.0000 reserved=$0.0000 of $1.5>"
