"""``chat.completions.stream``: a reply that does not validate raises after its deltas; leaving the
block early frees the connection (sync|async, over loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import Api


class Person(BaseModel):
    name: str
    born: int


USER = [{"role": "user", "content": "Ada?"}]


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"openai": {"api_key": "sk-test", "base_url": emu.base_url}})
    yield api
    api.close()


def _events_until_error(api: Api, **kwargs: Any) -> tuple[list[Any], BaseException | None]:
    got: list[Any] = []
    if api.loop is None:
        try:
            with api.client.chat.completions.stream(**kwargs) as stream:
                got.extend(stream)
        except llmplex.LLMError as exc:
            return got, exc
        return got, None

    async def go() -> tuple[list[Any], BaseException | None]:
        try:
            async with api.client.chat.completions.stream(**kwargs) as stream:
                async for event in stream:
                    got.append(event)
        except llmplex.LLMError as exc:
            return got, exc
        return got, None

    return api.run(go())


def test_a_reply_that_does_not_validate_raises_after_its_deltas(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(json.dumps({"name": "Ada", "born": "long ago"}), chunk_words=1))
    events, error = _events_until_error(api, model="openai/gpt-4o", messages=USER, response_format=Person)
    assert isinstance(error, llmplex.StructuredOutputError)
    assert error.errors == ["born: Input should be a valid integer, unable to parse string as an integer"]
    assert [e for e in events if e.type == "content.delta"][-1].snapshot == error.raw
    assert not [e for e in events if e.type == "content.done"]


def test_a_broken_stream_raises_typed(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(3, "upstream failed"))
    events, error = _events_until_error(api, model="openai/gpt-4o", messages=USER, response_format=Person,
                                        max_retries=0)
    assert isinstance(error, llmplex.APIStatusError)
    with_text = [e for e in events if e.type == "chunk" and e.chunk.choices and e.chunk.choices[0].delta.content]
    assert sum(1 for e in events if e.type == "content.delta") == len(with_text) >= 2  # all delivered first


def test_leaving_the_block_early_frees_the_connection(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(json.dumps({"name": "Ada Lovelace " * 50, "born": 1815}), chunk_words=1))
    if api.loop is None:
        with api.client.chat.completions.stream(model="openai/gpt-4o", messages=USER, response_format=Person) as s:
            first = next(iter(s))
    else:
        async def go() -> Any:
            async with api.client.chat.completions.stream(model="openai/gpt-4o", messages=USER,
                                                          response_format=Person) as s:
                got = await s.__anext__()
            # asyncio closes a transport's socket on the loop's next iteration: give it that one
            # (a running application's loop does; this test stops its loop right after the block)
            await asyncio.sleep(0)
            return got

        first = api.run(go())
    assert first.type == "chunk"
    assert emu.wait_until_idle()


def test_parse_with_tools_gives_none_when_the_model_calls_a_tool(api: Api, emu: Emulator) -> None:
    from llmplex.testing import ToolCall

    def lookup(name: str) -> str:
        """Look a person up."""
        return name

    emu.enqueue(Reply(tool_calls=[ToolCall("lookup", {"name": "Ada"})]))
    r = api.run(api.client.chat.completions.parse(model="openai/gpt-4o", messages=USER, response_format=Person,
                                                  tools=[lookup]))
    message = r.choices[0].message
    assert message.parsed is None and message.tool_calls[0].parsed_arguments == {"name": "Ada"}
