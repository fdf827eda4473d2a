"""Abandoned and cancelled calls give their connection back (RELIABILITY C8)."""

from __future__ import annotations

import asyncio
import gc

import llmplex
from llmplex.testing import Emulator, Fault, Reply

USER = [{"role": "user", "content": "hi"}]
LONG = " ".join(f"w{i}" for i in range(200))


def test_breaking_out_of_a_sync_stream_closes_the_connection(emu: Emulator) -> None:
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    for _ in range(20):
        emu.enqueue(Reply(LONG, fault=Fault(delay_between_chunks=0.001)))
        for chunk in client.chat.completions.create(model="openai/x", messages=USER, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                break
    assert emu.wait_until_idle(2.0), f"{emu.open_connections} connections still open"
    # the pool still works afterwards
    assert client.chat.completions.create(model="openai/x", messages=USER).choices[0].message.content
    client.close()


def test_context_manager_and_del_close_the_connection(emu: Emulator) -> None:
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    emu.enqueue(Reply(LONG, fault=Fault(stall_after_chunks=2)))
    with client.chat.completions.create(model="openai/x", messages=USER, stream=True) as stream:
        next(iter(stream))
    emu.enqueue(Reply(LONG, fault=Fault(stall_after_chunks=2)))
    stream = client.chat.completions.create(model="openai/x", messages=USER, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert emu.wait_until_idle(2.0), f"{emu.open_connections} connections still open"
    client.close()


def test_cancelling_the_task_aborts_a_pending_call_and_a_stream(emu: Emulator) -> None:
    async def go() -> None:
        client = llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url)
        emu.enqueue(Reply(fault=Fault(no_response=True)))
        task = asyncio.ensure_future(client.chat.completions.create(model="openai/x", messages=USER))
        await asyncio.sleep(0.2)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

        async def consume() -> None:
            s = await client.chat.completions.create(model="openai/x", messages=USER, stream=True)
            async for _ in s:
                pass

        emu.enqueue(Reply(LONG, fault=Fault(stall_after_chunks=3)))
        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        assert await asyncio.get_running_loop().run_in_executor(None, emu.wait_until_idle, 2.0)
        r = await client.chat.completions.create(model="openai/x", messages=USER)
        assert r.choices[0].message.content
        await client.close()

    asyncio.run(go())


def test_repeated_abandoned_async_streams_leave_no_sockets(emu: Emulator) -> None:
    async def go() -> None:
        async with llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url) as client:
            for _ in range(50):
                emu.enqueue(Reply(LONG))
                s = await client.chat.completions.create(model="openai/x", messages=USER, stream=True)
                async with s:
                    async for _ in s:
                        break

    asyncio.run(go())
    assert emu.wait_until_idle(2.0), f"{emu.open_connections} connections still open"
