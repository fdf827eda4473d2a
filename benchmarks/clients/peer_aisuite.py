"""aisuite's async API (chat.completions.acreate). It has no embeddings API."""

from __future__ import annotations

from typing import Any

import aisuite

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, StreamResult, Target

MODEL = f"openai:{OPENAI_CHAT_MODEL}"


class AsyncAisuiteBench:
    def __init__(self, target: Target) -> None:
        self.client = aisuite.Client({"openai": {"api_key": API_KEY, "base_url": target.openai_base}})

    async def chat(self) -> str:
        resp: Any = await self.client.chat.completions.acreate(model=MODEL, messages=MESSAGES)
        content: str = resp.choices[0].message.content
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream: Any = await self.client.chat.completions.acreate(model=MODEL, messages=MESSAGES, stream=True)
        async for chunk in stream:
            if chunk.choices:
                result.add(chunk.choices[0].delta.content)
        return result

    async def embed(self) -> int:
        # Never called: the registry leaves "embed" out of this client's ops.
        raise RuntimeError("aisuite has no embeddings API")

    async def aclose(self) -> None:
        pass


async def create_async(target: Target) -> AsyncAisuiteBench:
    return AsyncAisuiteBench(target)
