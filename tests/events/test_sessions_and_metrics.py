"""Sessions scope events and metrics; the metrics' numbers are right; the sketch is bounded and accurate."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

import llmplex
from llmplex import events
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "one two three"}]


def _usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


def test_metrics_add_up(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(usage=_usage(10, 5, cached=4, reasoning=2)), Reply(usage=_usage(20, 1)),
                Reply.error(400, "bad", code="invalid_value"), Reply(usage=_usage(1, 1)))
    api.chat(model="openai/gpt-4o", messages=USER)
    api.chat(model="openai/gpt-4o", messages=USER)
    with pytest.raises(llmplex.BadRequestError):
        api.chat(model="openai/gpt-4o", messages=USER)
    api.chat(model="openai/gpt-4o-mini", messages=USER)
    m = api.client.metrics()
    assert (m.calls, m.errors, m.errors_by_type, m.retries) == (4, 1, {"BadRequestError": 1}, 0)
    assert m.tokens == events.TokenCounts(input=31, output=7, cached=4, reasoning=2)
    # gpt-4o and gpt-4o-mini are priced by the catalog: the cost is the sum of the three calls
    assert m.cost is not None and m.cost_unknown == 0 and m.cost > 0
    assert m.latency.count == 3 and m.latency.p50 is not None and m.latency.max is not None
    assert 0 < m.latency.p50 <= m.latency.p95 <= m.latency.p99 <= m.latency.max * 1.0001
    assert set(m.by_model) == {"openai/gpt-4o", "openai/gpt-4o-mini"}
    assert (m.by_model["openai/gpt-4o"].calls, m.by_model["openai/gpt-4o"].tokens.input) == (3, 30)
    assert m.by_provider["openai"].calls == 4 and m.ttft.count == 0
    assert api.client.metrics(reset=True).calls == 4
    assert api.client.metrics().calls == 0 and api.client.metrics().by_model == {}


def test_reset_and_cost_sum_when_known() -> None:
    metrics = events.Metrics()
    metrics.record_success("openai", "a", 0.1, None, 0, (1, 2, 0, 0), 0.25)
    metrics.record_success("openai", "a", 0.2, 0.05, 1, None, None)
    metrics.record_success("anthropic", "b", 0.3, None, 0, (3, 4, 1, 1), 0.5)
    metrics.record_failure("anthropic", "b", "RateLimitError", 2)
    snap = metrics()
    assert snap.cost == 0.75 and snap.cost_unknown == 1 and snap.retries == 3
    assert snap.by_provider["openai"].cost == 0.25 and snap.by_provider["anthropic"].errors == 1
    assert snap.tokens == events.TokenCounts(4, 6, 1, 1) and snap.ttft.count == 1
    metrics.reset()
    assert metrics().calls == 0 and metrics().cost is None


def test_a_session_scopes_metrics_and_events(emu: Emulator) -> None:
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    client.chat.completions.create(model="openai/x", messages=USER)
    seen: list[Any] = []
    with client.session("checkout-flow") as s:
        sub = s.subscribe(seen.append, events.Finished)
        client.chat.completions.create(model="openai/x", messages=USER)
        for _ in client.chat.completions.create(model="openai/x", messages=USER, stream=True):
            pass
        with llmplex.session("inner") as inner:
            client.chat.completions.create(model="openai/y", messages=USER)
        assert s.flush(5.0)
    assert sub.closed and not s.bus.active  # cleaned up at the end
    client.chat.completions.create(model="openai/x", messages=USER)
    assert (s.metrics().calls, inner.metrics().calls, client.metrics().calls) == (3, 1, 5)
    assert [e.session for e in seen] == ["checkout-flow", "checkout-flow", "inner"]
    assert events.active_sessions() == ()
    client.close()


def test_concurrent_tasks_keep_their_own_sessions(emu: Emulator) -> None:
    async def go() -> None:
        client = llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url)

        async def work(name: str, calls: int) -> events.MetricsSnapshot:
            async with client.session(name) as s:
                for _ in range(calls):
                    await client.chat.completions.create(model=f"openai/{name}", messages=USER)
                    await asyncio.sleep(0)
            return s.metrics()

        a, b = await asyncio.gather(work("a", 3), work("b", 5))
        assert (a.calls, list(a.by_model), b.calls, list(b.by_model)) == (3, ["openai/a"], 5, ["openai/b"])
        assert client.metrics().calls == 8
        await client.close()

    asyncio.run(go())


def test_the_sketch_is_accurate_and_bounded() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-3, 1.5) for _ in range(50_000)]
    sketch = events.QuantileSketch()
    for v in values:
        sketch.add(v)
    ordered = sorted(values)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[max(0, int(-(-q * len(values) // 1)) - 1)]
        assert sketch.quantile(q) == pytest.approx(exact, rel=0.011)
    assert len(sketch.buckets) < 1_000 and sketch.count == 50_000
    merged = events.QuantileSketch()
    merged.merge(sketch)
    assert merged.quantile(0.5) == sketch.quantile(0.5) and events.QuantileSketch().quantile(0.5) is None
