"""``response.cost`` on real calls over loopback (sync|async): priced from the usage and the catalog
for the model that answered, streams included; unknown prices give None, never a guess."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from llmplex.catalog import model_info
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "hi"}]
USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = Api(mode, providers={"openai": {"api_key": "sk-a", "base_url": emu.base_url},
                             "groq": {"api_key": "gsk-b", "base_url": emu.base_url}})
    yield a
    a.close()


def _expected(provider: str, model: str) -> Decimal:
    info = model_info(provider, model)
    assert info is not None and info.prices is not None
    assert info.prices.input is not None and info.prices.output is not None
    return (info.prices.input * 1000 + info.prices.output * 200) / Decimal(1_000_000)


def test_a_priced_model_has_its_cost(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("hello", usage=USAGE), Reply("hello", usage=USAGE))
    r = api.chat(model="openai/gpt-4o", messages=USER)
    assert r.cost is not None and r.cost.total == _expected("openai", "gpt-4o")
    assert r.cost.source.url  # where the price comes from
    assert "cost" not in r.model_dump()  # not part of the OpenAI JSON
    _, final = api.stream(model="openai/gpt-4o", messages=USER)
    assert final.cost is not None and final.cost.total == r.cost.total


def test_an_unknown_price_is_none(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("hello", usage=USAGE))
    assert api.chat(model="groq/llama-3.3-70b-versatile", messages=USER).cost is None


def test_a_fallback_is_priced_as_the_model_that_answered(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(503, "down"), Reply.error(503, "down"), Reply.error(503, "down"),
                Reply("hello", usage=USAGE))
    r = api.chat(model=["groq/llama-3.3-70b-versatile", "openai/gpt-4o"], messages=USER)
    assert r.cost is not None and r.cost.model.startswith("gpt-4o")
