"""One client shared by many threads or tasks: every call answered, nothing mixed up."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmplex
from llmplex.testing import Emulator


def test_one_sync_client_across_threads(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)

    def call(i: int) -> str:
        r = client.chat.completions.create(model="openai/x", messages=[{"role": "user", "content": f"n{i}"}])
        return r.choices[0].message.content or ""

    with caplog.at_level(logging.WARNING), ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(call, range(400)))
    assert answers == [f"Echo: n{i}" for i in range(400)]
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]  # no "pool is full" churn
    client.close()


def test_one_async_client_with_many_tasks_in_flight(emu: Emulator) -> None:
    async def go() -> list[str]:
        async with llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url,
                                       max_connections=20) as client:
            async def call(i: int) -> str:
                r = await client.chat.completions.create(
                    model="openai/x", messages=[{"role": "user", "content": f"n{i}"}])
                return r.choices[0].message.content or ""

            return await asyncio.gather(*(call(i) for i in range(400)))

    assert asyncio.run(go()) == [f"Echo: n{i}" for i in range(400)]
    assert emu.total_connections <= 20
