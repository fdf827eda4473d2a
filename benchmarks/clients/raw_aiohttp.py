"""Raw aiohttp, the async floor: one ClientSession, json.dumps/json.loads, SSE parsed line by line."""

from __future__ import annotations

import json

import aiohttp

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


class RawAiohttp:
    def __init__(self, target: Target) -> None:
        self.session = aiohttp.ClientSession()
        self.chat_url = f"{target.openai_base}/chat/completions"
        self.embed_url = f"{target.openai_base}/embeddings"

    async def chat(self) -> str:
        body = json.dumps({"model": OPENAI_CHAT_MODEL, "messages": MESSAGES})
        async with self.session.post(self.chat_url, data=body, headers=HEADERS) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            data = json.loads(await resp.read())
        content: str = data["choices"][0]["message"]["content"]
        return content

    async def stream(self) -> StreamResult:
        body = json.dumps({"model": OPENAI_CHAT_MODEL, "messages": MESSAGES, "stream": True})
        result = StreamResult()
        async with self.session.post(self.chat_url, data=body, headers=HEADERS) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            # Read to the end (past [DONE]) so the connection goes back to the pool.
            async for line in resp.content:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    choices = json.loads(line[6:])["choices"]
                    if choices:
                        result.add(choices[0]["delta"].get("content"))
        return result

    async def embed(self) -> int:
        body = json.dumps({"model": OPENAI_EMBED_MODEL, "input": ["a"]})
        async with self.session.post(self.embed_url, data=body, headers=HEADERS) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            data = json.loads(await resp.read())
        return len(data["data"][0]["embedding"])

    async def aclose(self) -> None:
        await self.session.close()


async def create_async(target: Target) -> RawAiohttp:
    return RawAiohttp(target)
