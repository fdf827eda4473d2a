"""litellm: module-level acompletion/completion (and aembedding/embedding) with the base URL per call."""

from __future__ import annotations

from typing import Any

import litellm

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

CHAT_MODEL = f"openai/{OPENAI_CHAT_MODEL}"
EMBED_MODEL = f"openai/{OPENAI_EMBED_MODEL}"


def _vector_length(resp: Any) -> int:
    item = resp.data[0]
    vector = item["embedding"] if isinstance(item, dict) else item.embedding
    return len(vector)


class AsyncLitellmBench:
    def __init__(self, target: Target) -> None:
        self.kw = {"api_base": target.openai_base, "api_key": API_KEY}

    async def chat(self) -> str:
        resp: Any = await litellm.acompletion(model=CHAT_MODEL, messages=MESSAGES, **self.kw)
        content: str = resp.choices[0].message.content
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream: Any = await litellm.acompletion(model=CHAT_MODEL, messages=MESSAGES, stream=True, **self.kw)
        async for chunk in stream:
            if chunk.choices:
                result.add(chunk.choices[0].delta.content)
        return result

    async def embed(self) -> int:
        return _vector_length(await litellm.aembedding(model=EMBED_MODEL, input=["a"], **self.kw))

    async def aclose(self) -> None:
        pass


class SyncLitellmBench:
    def __init__(self, target: Target) -> None:
        self.kw = {"api_base": target.openai_base, "api_key": API_KEY}

    def chat(self) -> str:
        resp: Any = litellm.completion(model=CHAT_MODEL, messages=MESSAGES, **self.kw)
        content: str = resp.choices[0].message.content
        return content

    def stream(self) -> StreamResult:
        result = StreamResult()
        stream: Any = litellm.completion(model=CHAT_MODEL, messages=MESSAGES, stream=True, **self.kw)
        for chunk in stream:
            if chunk.choices:
                result.add(chunk.choices[0].delta.content)
        return result

    def embed(self) -> int:
        return _vector_length(litellm.embedding(model=EMBED_MODEL, input=["a"], **self.kw))

    def close(self) -> None:
        pass


async def create_async(target: Target) -> AsyncLitellmBench:
    return AsyncLitellmBench(target)


def create_sync(target: Target) -> SyncLitellmBench:
    return SyncLitellmBench(target)
