"""The seed's class API: ``llmplex.ChatCompletion.create / .acreate`` and friends.

They run on one process-wide :class:`~llmplex.Client` (and one ``AsyncClient``), built on first
use and reused, so every call shares one connection pool — never a new HTTP client per call.
Per-call ``api_key`` / ``base_url`` / ``timeout`` … work as on the client.
"""

from __future__ import annotations

import threading
from typing import Any

from .client import AsyncClient, Client

__all__ = ["ChatCompletion", "Completion", "Embedding", "default_async_client", "default_client"]

_lock = threading.Lock()
_sync: Client | None = None
_async: AsyncClient | None = None


def default_client() -> Client:
    """The process-wide sync client used by the class API."""
    global _sync
    if _sync is None:
        with _lock:
            if _sync is None:
                _sync = Client()
    return _sync


def default_async_client() -> AsyncClient:
    """The process-wide async client used by the class API (one pool per event loop)."""
    global _async
    if _async is None:
        with _lock:
            if _async is None:
                _async = AsyncClient()
    return _async


class ChatCompletion:
    """``llmplex.ChatCompletion.create(model=..., messages=...)`` — same arguments and results as
    ``client.chat.completions.create``."""

    @staticmethod
    def create(**kwargs: Any) -> Any:
        """Sync chat completion (``stream=True`` returns a ``Stream``)."""
        return default_client().chat.completions.create(**kwargs)

    @staticmethod
    async def acreate(**kwargs: Any) -> Any:
        """Async chat completion (``stream=True`` returns an ``AsyncStream``)."""
        return await default_async_client().chat.completions.create(**kwargs)


class Completion:
    """``llmplex.Completion.create(model=..., prompt=...)``: legacy text completions."""

    @staticmethod
    def create(**kwargs: Any) -> Any:
        """Sync text completion."""
        return default_client().completions.create(**kwargs)

    @staticmethod
    async def acreate(**kwargs: Any) -> Any:
        """Async text completion."""
        return await default_async_client().completions.create(**kwargs)


class Embedding:
    """``llmplex.Embedding.create(model=..., input=...)``."""

    @staticmethod
    def create(**kwargs: Any) -> Any:
        """Sync embeddings."""
        return default_client().embeddings.create(**kwargs)

    @staticmethod
    async def acreate(**kwargs: Any) -> Any:
        """Async embeddings."""
        return await default_async_client().embeddings.create(**kwargs)
