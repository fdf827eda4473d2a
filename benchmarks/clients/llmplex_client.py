"""llmplex, sync and async, one client reused (the library under test)."""

from __future__ import annotations

from typing import Any

import llmplex
from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

CHAT_MODEL = f"openai/{OPENAI_CHAT_MODEL}"
EMBED_MODEL = f"openai/{OPENAI_EMBED_MODEL}"


class AsyncLlmplexBench:
    def __init__(self, target: Target) -> None:
        self.client: Any = llmplex.AsyncClient(provider="openai", api_key=API_KEY, base_url=target.openai_base)

    async def chat(self) -> str:
        resp = await self.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        content: str = resp.choices[0].message.content
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream = await self.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True)
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    result.add(chunk.choices[0].delta.content)
        return result

    async def embed(self) -> int:
        resp = await self.client.embeddings.create(model=EMBED_MODEL, input=["a"])
        return len(resp.data[0].embedding)

    async def aclose(self) -> None:
        await self.client.close()


class SyncLlmplexBench:
    def __init__(self, target: Target) -> None:
        self.client: Any = llmplex.Client(provider="openai", api_key=API_KEY, base_url=target.openai_base)

    def chat(self) -> str:
        resp = self.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        content: str = resp.choices[0].message.content
        return content

    def stream(self) -> StreamResult:
        result = StreamResult()
        with self.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True) as stream:
            for chunk in stream:
                if chunk.choices:
                    result.add(chunk.choices[0].delta.content)
        return result

    def embed(self) -> int:
        resp = self.client.embeddings.create(model=EMBED_MODEL, input=["a"])
        return len(resp.data[0].embedding)

    def close(self) -> None:
        self.client.close()


async def create_async(target: Target) -> AsyncLlmplexBench:
    return AsyncLlmplexBench(target)


def create_sync(target: Target) -> SyncLlmplexBench:
    return SyncLlmplexBench(target)
