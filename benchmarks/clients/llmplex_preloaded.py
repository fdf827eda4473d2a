"""llmplex after ``llmplex.preload()``: the deferred imports (aiohttp, urllib3, pydantic types) paid
at start-up, as a server would, so the cold call measures what raw aiohttp's row measures."""

from __future__ import annotations

import llmplex
from clients.base import Target
from clients.llmplex_client import AsyncLlmplexBench, SyncLlmplexBench

llmplex.preload()


async def create_async(target: Target) -> AsyncLlmplexBench:
    return AsyncLlmplexBench(target)


def create_sync(target: Target) -> SyncLlmplexBench:
    return SyncLlmplexBench(target)
