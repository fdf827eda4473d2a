"""The official anthropic SDK (async), against the Anthropic messages bodies. It has no embeddings."""

from __future__ import annotations

import anthropic

from clients.base import ANTHROPIC_MODEL, API_KEY, MESSAGES, StreamResult, Target

MAX_TOKENS = 1024


class AsyncAnthropicBench:
    def __init__(self, target: Target) -> None:
        self.client = anthropic.AsyncAnthropic(api_key=API_KEY, base_url=target.anthropic_base)

    async def chat(self) -> str:
        resp = await self.client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=MESSAGES,
        )
        block = resp.content[0]
        return block.text if block.type == "text" else ""

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream = await self.client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=MESSAGES,
            stream=True,
        )
        async with stream:
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    result.add(event.delta.text)
        return result

    async def embed(self) -> int:
        # Never called: the registry leaves "embed" out of this client's ops.
        raise RuntimeError("anthropic has no embeddings API")

    async def aclose(self) -> None:
        await self.client.close()


async def create_async(target: Target) -> AsyncAnthropicBench:
    return AsyncAnthropicBench(target)
