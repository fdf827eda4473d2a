"""``response.usage`` is always present: the provider's when it reports one, else counted locally
and flagged ``estimated`` (with a cost flagged the same way), streams included, over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from llmplex import events
from llmplex.catalog import count_tokens, model_info
from llmplex.testing import Emulator, Reply, ToolCall
from tests.conftest import Api

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What colour is the sky?"}]
NO_STREAM_USAGE = {"include_usage": False}
"""A stream whose host sends no usage: what an OpenAI-compatible host ignoring include_usage does."""


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = Api(mode, providers={"openai": {"api_key": "sk-a", "base_url": emu.base_url},
                             "gemini": {"api_key": "g-b", "base_url": emu.url}},
            catalog={"gemini": {"gemini-2.5-flash": {"prices": {"input": 0.3, "output": 2.5, "source": "a test"}}}})
    yield a
    a.close()


def _price(model: str, prompt: int, completion: int) -> Decimal:
    info = model_info("openai", model)
    assert info is not None and info.prices is not None and info.prices.input and info.prices.output
    return (info.prices.input * prompt + info.prices.output * completion) / Decimal(1_000_000)


def test_a_stream_without_usage_gets_an_exact_count_flagged_estimated(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("The sky is blue."))
    _, final = api.stream(model="openai/gpt-4o", messages=USER, stream_options=NO_STREAM_USAGE)
    # o200k: 3 per message + "system" "Be brief." (1 + 3) + "user" "What colour is the sky?" (1 + 6) + 3
    assert count_tokens("openai/gpt-4o", USER).tokens == 20
    usage = final.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (20, 5, 25)  # The| sky| is| blue|.
    assert usage.estimated is True and "estimated" not in final.model_dump()["usage"]
    assert final.cost is not None and final.cost.estimated is True
    assert final.cost.total == _price("gpt-4o", 20, 5)
    metrics = api.client.metrics()
    assert (metrics.tokens.input, metrics.tokens.output) == (20, 5)
    assert metrics.cost == pytest.approx(float(final.cost.total))


def test_the_finished_event_carries_the_estimate(api: Api, emu: Emulator) -> None:
    seen: list[events.Finished] = []
    sub = events.subscribe(seen.append, events.Finished)
    try:
        emu.enqueue(Reply("The sky is blue."))
        api.stream(model="openai/gpt-4o", messages=USER, stream_options=NO_STREAM_USAGE)
        assert events.flush(5.0)
    finally:
        events.unsubscribe(sub)
    (finished,) = seen
    assert (finished.input_tokens, finished.output_tokens) == (20, 5)
    assert finished.usage.estimated and finished.cost == pytest.approx(float(_price("gpt-4o", 20, 5)))


def test_a_stream_with_usage_keeps_the_providers(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("The sky is blue.", usage={"prompt_tokens": 31, "completion_tokens": 7}))
    _, final = api.stream(model="openai/gpt-4o", messages=USER)  # include_usage asked automatically
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (31, 7)
    assert final.usage.estimated is False
    assert final.cost is not None and final.cost.estimated is False and final.cost.total == _price("gpt-4o", 31, 7)


def test_a_response_without_usage_counts_its_tool_calls(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})], extra={"usage": None}))
    r = api.chat(model="openai/gpt-4o-mini", messages=USER)
    # "get_weather" (get|_weather) + '{"city": "Paris"}' ({"|city|":| "|Paris|"}) in o200k
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.estimated) == (20, 8, True)
    assert r.cost is not None and r.cost.estimated and r.cost.total == _price("gpt-4o-mini", 20, 8)


def test_reasoning_without_usage_is_counted_as_reasoning_tokens(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Blue.", reasoning="Rayleigh scattering favours short wavelengths.", extra={"usage": None}))
    r = api.chat(model="openai/gpt-4o", messages=USER)
    details = r.usage.completion_tokens_details
    # Ray|leigh| scattering| fav|ours| short| wavelengths|.  and  Blue|.
    assert details is not None and details.reasoning_tokens == 8
    assert r.usage.completion_tokens == 2 + 8 and r.usage.estimated


def test_a_native_protocol_without_usage_gets_the_estimate(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("The sky is blue.", usage={}), Reply("The sky is blue.", usage={}))  # no usage counts
    r = api.chat(model="gemini/gemini-2.5-flash", messages=USER)
    _, final = api.stream(model="gemini/gemini-2.5-flash", messages=USER)
    expected = count_tokens("gemini/gemini-2.5-flash", USER)
    assert not expected.exact  # no Gemini tokenizer offline: about 4 characters a token
    for usage in (r.usage, final.usage):
        assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (expected.tokens, 4, True)
    assert r.cost is not None and r.cost.estimated
    assert r.cost.total == (Decimal("0.3") * expected.tokens + Decimal("2.5") * 4) / Decimal(1_000_000)


def test_a_native_protocol_with_usage_is_not_flagged(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("The sky is blue.", usage={"promptTokenCount": 12, "candidatesTokenCount": 5}))
    r = api.chat(model="gemini/gemini-2.5-flash", messages=USER)
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.estimated) == (12, 5, False)


def test_a_completion_without_usage_is_counted_and_flagged(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("The sky is blue.", usage={}), Reply("The sky is blue."))
    done = api.complete(model="openai/gpt-3.5-turbo-instruct", prompt="What colour is the sky?")
    assert done.usage is not None and done.usage.estimated is True
    # cl100k: What| colour| is| the| sky|?  ->  6; The| sky| is| blue|.  ->  5
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (6, 5)
    reported = api.complete(model="openai/gpt-3.5-turbo-instruct", prompt="What colour is the sky?")
    assert reported.usage is not None and reported.usage.estimated is False


def test_embeddings_without_usage_are_counted_and_flagged(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(embedding_dims=4, usage={}))
    vectors = api.embed(model="openai/text-embedding-3-small", input=["The sky is blue.", "Grass is green."])
    assert vectors.usage is not None and vectors.usage.estimated is True
    # cl100k: The| sky| is| blue|. (5) + Gr|ass| is| green|. (5)
    assert (vectors.usage.prompt_tokens, vectors.usage.total_tokens) == (10, 10)
    assert "estimated" not in vectors.model_dump()["usage"]
    assert vectors.cost is not None and vectors.cost.estimated is True
