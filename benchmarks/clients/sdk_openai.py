"""The official openai SDK, sync and async, one client reused."""

from __future__ import annotations

import openai

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target


class AsyncOpenAIBench:
    def __init__(self, target: Target) -> None:
        self.client = openai.AsyncOpenAI(api_key=API_KEY, base_url=target.openai_base)

    async def chat(self) -> str:
        resp = await self.client.chat.completions.create(model=OPENAI_CHAT_MODEL, messages=MESSAGES)
        return resp.choices[0].message.content or ""

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream = await self.client.chat.completions.create(
            model=OPENAI_CHAT_MODEL,
            messages=MESSAGES,
            stream=True,
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    result.add(chunk.choices[0].delta.content)
        return result

    async def embed(self) -> int:
        resp = await self.client.embeddings.create(model=OPENAI_EMBED_MODEL, input=["a"])
        return len(resp.data[0].embedding)

    async def aclose(self) -> None:
        await self.client.close()


class SyncOpenAIBench:
    def __init__(self, target: Target) -> None:
        self.client = openai.OpenAI(api_key=API_KEY, base_url=target.openai_base)

    def chat(self) -> str:
        resp = self.client.chat.completions.create(model=OPENAI_CHAT_MODEL, messages=MESSAGES)
        return resp.choices[0].message.content or ""

    def stream(self) -> StreamResult:
        result = StreamResult()
        stream = self.client.chat.completions.create(
            model=OPENAI_CHAT_MODEL,
            messages=MESSAGES,
            stream=True,
        )
        with stream:
            for chunk in stream:
                if chunk.choices:
                    result.add(chunk.choices[0].delta.content)
        return result

    def embed(self) -> int:
        resp = self.client.embeddings.create(model=OPENAI_EMBED_MODEL, input=["a"])
        return len(resp.data[0].embedding)

    def close(self) -> None:
        self.client.close()


async def create_async(target: Target) -> AsyncOpenAIBench:
    return AsyncOpenAIBench(target)


def create_sync(target: Target) -> SyncOpenAIBench:
    return SyncOpenAIBench(target)
