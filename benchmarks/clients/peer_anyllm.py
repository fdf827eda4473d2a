"""any-llm-sdk with one provider client created once and reused (AnyLLM.create)."""

from __future__ import annotations

from typing import Any

from any_llm import AnyLLM

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target


class AsyncAnyLLMBench:
    def __init__(self, target: Target) -> None:
        self.llm = AnyLLM.create("openai", api_key=API_KEY, api_base=target.openai_base)

    async def chat(self) -> str:
        resp: Any = await self.llm.acompletion(model=OPENAI_CHAT_MODEL, messages=MESSAGES)
        content: str = resp.choices[0].message.content
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream: Any = await self.llm.acompletion(model=OPENAI_CHAT_MODEL, messages=MESSAGES, stream=True)
        async for chunk in stream:
            if chunk.choices:
                result.add(chunk.choices[0].delta.content)
        return result

    async def embed(self) -> int:
        resp = await self.llm.aembedding(model=OPENAI_EMBED_MODEL, inputs=["a"])
        return len(resp.data[0].embedding)

    async def aclose(self) -> None:
        client = getattr(self.llm, "client", None)
        close = getattr(client, "close", None)
        if close is not None:
            await close()


async def create_async(target: Target) -> AsyncAnyLLMBench:
    return AsyncAnyLLMBench(target)
