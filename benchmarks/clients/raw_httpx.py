"""Raw httpx, sync and async (a reference: the transport most SDKs sit on)."""

from __future__ import annotations

import json

import httpx

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
CHAT = {"model": OPENAI_CHAT_MODEL, "messages": MESSAGES}
STREAM = {**CHAT, "stream": True}
EMBED = {"model": OPENAI_EMBED_MODEL, "input": ["a"]}


def _content(line: str, result: StreamResult) -> None:
    if line.startswith("data: ") and line != "data: [DONE]":
        choices = json.loads(line[6:])["choices"]
        if choices:
            result.add(choices[0]["delta"].get("content"))


class AsyncRawHttpx:
    def __init__(self, target: Target) -> None:
        self.client = httpx.AsyncClient(base_url=target.openai_base, headers=HEADERS)

    async def chat(self) -> str:
        resp = await self.client.post("/chat/completions", content=json.dumps(CHAT))
        resp.raise_for_status()
        content: str = json.loads(resp.content)["choices"][0]["message"]["content"]
        return content

    async def stream(self) -> StreamResult:
        result = StreamResult()
        async with self.client.stream("POST", "/chat/completions", content=json.dumps(STREAM)) as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                _content(line, result)
        return result

    async def embed(self) -> int:
        resp = await self.client.post("/embeddings", content=json.dumps(EMBED))
        resp.raise_for_status()
        return len(json.loads(resp.content)["data"][0]["embedding"])

    async def aclose(self) -> None:
        await self.client.aclose()


class SyncRawHttpx:
    def __init__(self, target: Target) -> None:
        self.client = httpx.Client(base_url=target.openai_base, headers=HEADERS)

    def chat(self) -> str:
        resp = self.client.post("/chat/completions", content=json.dumps(CHAT))
        resp.raise_for_status()
        content: str = json.loads(resp.content)["choices"][0]["message"]["content"]
        return content

    def stream(self) -> StreamResult:
        result = StreamResult()
        with self.client.stream("POST", "/chat/completions", content=json.dumps(STREAM)) as resp:
            resp.raise_for_status()
            for line in resp.iter_lines():
                _content(line, result)
        return result

    def embed(self) -> int:
        resp = self.client.post("/embeddings", content=json.dumps(EMBED))
        resp.raise_for_status()
        return len(json.loads(resp.content)["data"][0]["embedding"])

    def close(self) -> None:
        self.client.close()


async def create_async(target: Target) -> AsyncRawHttpx:
    return AsyncRawHttpx(target)


def create_sync(target: Target) -> SyncRawHttpx:
    return SyncRawHttpx(target)
