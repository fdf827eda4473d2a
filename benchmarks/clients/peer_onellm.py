"""onellm's async API, with its opt-in connection pool (``pooled``) and without it (``default``).

onellm reads the base URL from ONELLM_PROVIDERS__OPENAI__API_BASE, which the worker sets.
"""

from __future__ import annotations

from typing import Any

import onellm

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

CHAT_MODEL = f"openai/{OPENAI_CHAT_MODEL}"
EMBED_MODEL = f"openai/{OPENAI_EMBED_MODEL}"


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


class AsyncOneLLMBench:
    def __init__(self, pooled: bool) -> None:
        self.pooled = pooled
        if pooled:
            onellm.init_pooling()
        self.client = onellm.Client(api_key=API_KEY)

    async def chat(self) -> str:
        resp: Any = await self.client.chat.completions.acreate(model=CHAT_MODEL, messages=MESSAGES)
        content: str = _get(resp.choices[0].message, "content")
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        stream: Any = await self.client.chat.completions.acreate(model=CHAT_MODEL, messages=MESSAGES, stream=True)
        async for chunk in stream:
            if chunk.choices:
                result.add(_get(chunk.choices[0].delta, "content"))
        return result

    async def embed(self) -> int:
        resp: Any = await self.client.embeddings.acreate(model=EMBED_MODEL, input=["a"])
        return len(_get(resp.data[0], "embedding"))

    async def aclose(self) -> None:
        if self.pooled:
            await onellm.close_pooling()


async def create_pooled(target: Target) -> AsyncOneLLMBench:
    return AsyncOneLLMBench(pooled=True)


async def create_default(target: Target) -> AsyncOneLLMBench:
    return AsyncOneLLMBench(pooled=False)
