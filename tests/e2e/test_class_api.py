"""The seed's class API over one process-wide client and pool."""

from __future__ import annotations

import asyncio
import gc
import warnings

import llmplex
from llmplex import legacy
from llmplex.testing import Emulator, Reply

USER = [{"role": "user", "content": "hi"}]


def test_class_api_sync_reuses_one_client_and_connection(emu: Emulator) -> None:
    options = {"api_key": "sk-legacy", "base_url": emu.base_url}
    r = llmplex.ChatCompletion.create(model="openai/gpt-4o", messages=USER, **options)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "Echo: hi"
    first = legacy.default_client()
    emu.enqueue(Reply("streamed reply"))
    stream = llmplex.ChatCompletion.create(model="openai/gpt-4o", messages=USER, stream=True, **options)
    assert stream.get_final_completion().choices[0].message.content == "streamed reply"
    text = llmplex.Completion.create(model="openai/gpt-3.5-turbo-instruct", prompt="p", **options)
    assert text.choices[0].text == "Echo: p"
    vectors = llmplex.Embedding.create(model="openai/text-embedding-3-small", input="x", **options)
    assert len(vectors.data) == 1
    assert legacy.default_client() is first
    assert emu.total_connections == 1  # four calls, one pooled connection


def test_class_api_async_works_across_event_loops(emu: Emulator) -> None:
    options = {"api_key": "sk-legacy", "base_url": emu.base_url}

    async def call() -> str | None:
        r = await llmplex.ChatCompletion.acreate(model="openai/gpt-4o", messages=USER, **options)  # type: ignore[arg-type]
        s = await llmplex.ChatCompletion.acreate(model="openai/gpt-4o", messages=USER, stream=True, **options)
        final = await s.get_final_completion()
        assert final.choices[0].message.content == r.choices[0].message.content
        e = await llmplex.Embedding.acreate(model="openai/text-embedding-3-small", input=["a"], **options)
        assert len(e.data) == 1
        return r.choices[0].message.content

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(call()) == "Echo: hi"
        assert asyncio.run(call()) == "Echo: hi"  # a second event loop: a fresh pool, no error
        gc.collect()
    # each loop's pool was closed inside that loop when asyncio.run shut it down
    assert emu.wait_until_idle(2.0)
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
