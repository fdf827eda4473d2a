"""What every client module provides, so each client is measured doing the same work.

A module exposes factories named in the registry (``clients/__init__.py``):
  async clients: ``async def create_async(target) -> AsyncBench`` (called inside the running loop)
  sync clients:  ``def create_sync(target) -> SyncBench``
``chat`` returns the answer's text, ``stream`` a :class:`StreamResult`, ``embed`` the vector's length.
An operation the client does not offer raises NotImplementedError (and the registry leaves it out).
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Protocol

from payloads import ANTHROPIC_MODEL, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL

__all__ = ["ANTHROPIC_MODEL", "API_KEY", "MESSAGES", "OPENAI_CHAT_MODEL", "OPENAI_EMBED_MODEL", "Target"]

API_KEY = "sk-bench-not-a-real-key"
MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base(self) -> str:
        return f"{self.origin}/v1"

    @property
    def anthropic_base(self) -> str:
        return self.origin


class StreamResult:
    """Content chunks of one stream: how many, their text, and when the first arrived."""

    __slots__ = ("chunks", "first", "parts")

    def __init__(self) -> None:
        self.chunks = 0
        self.first: float | None = None
        self.parts: list[str] = []

    def add(self, piece: str | None) -> None:
        if piece:
            if self.first is None:
                self.first = perf_counter()
            self.chunks += 1
            self.parts.append(piece)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class AsyncBench(Protocol):
    async def chat(self) -> str: ...
    async def stream(self) -> StreamResult: ...
    async def embed(self) -> int: ...
    async def aclose(self) -> None: ...


class SyncBench(Protocol):
    def chat(self) -> str: ...
    def stream(self) -> StreamResult: ...
    def embed(self) -> int: ...
    def close(self) -> None: ...
