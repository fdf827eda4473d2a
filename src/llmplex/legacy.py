"""The seed's class API: ``llmplex.ChatCompletion.create / .acreate`` and friends.

They run on one process-wide :class:`~llmplex.Client` (and one ``AsyncClient``), built on first
use and reused, so every call shares one connection pool — never a new HTTP client per call.
Per-call ``api_key`` / ``base_url`` / ``timeout`` … work as on the client.

Note: ``llmplex.ChatCompletion`` here is this entry point; the response type of the same name
is ``llmplex.types.ChatCompletion``.
"""

from __future__ import annotations

import threading
from typing import Any, Literal, overload

from typing_extensions import Unpack

from .client import AsyncClient, Client
from .streaming import AsyncStream, Stream
from .types import chat as chat_types
from .types import completion as completion_types
from .types.chat_params import ChatCompletionCreateParams
from .types.completion_params import CompletionCreateParams, EmbeddingCreateParams
from .types.embedding import CreateEmbeddingResponse

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
    """The process-wide async client used by the class API (its pool follows the event loop)."""
    global _async
    if _async is None:
        with _lock:
            if _async is None:
                _async = AsyncClient()
    return _async


_Chat = chat_types.ChatCompletion
_Chunk = chat_types.ChatCompletionChunk
_Text = completion_types.Completion


class ChatCompletion:
    """``llmplex.ChatCompletion.create(model=..., messages=...)``: the arguments and results of
    ``client.chat.completions.create``."""

    @overload
    @staticmethod
    def create(*, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]) -> _Chat: ...
    @overload
    @staticmethod
    def create(*, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]) -> Stream[_Chunk]: ...
    @staticmethod
    def create(*, stream: bool = False, **params: Any) -> _Chat | Stream[_Chunk]:
        """Sync chat completion (``stream=True`` returns a ``Stream``)."""
        return default_client().chat.completions.create(stream=stream, **params)

    @overload
    @staticmethod
    async def acreate(*, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]) -> _Chat: ...
    @overload
    @staticmethod
    async def acreate(
        *, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]
    ) -> AsyncStream[_Chunk]: ...
    @staticmethod
    async def acreate(*, stream: bool = False, **params: Any) -> _Chat | AsyncStream[_Chunk]:
        """Async chat completion (``stream=True`` returns an ``AsyncStream``)."""
        return await default_async_client().chat.completions.create(
            stream=stream, **params
        )


class Completion:
    """``llmplex.Completion.create(model=..., prompt=...)``: legacy text completions."""

    @overload
    @staticmethod
    def create(*, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]) -> _Text: ...
    @overload
    @staticmethod
    def create(*, stream: Literal[True], **params: Unpack[CompletionCreateParams]) -> Stream[_Text]: ...
    @staticmethod
    def create(*, stream: bool = False, **params: Any) -> _Text | Stream[_Text]:
        """Sync text completion."""
        return default_client().completions.create(stream=stream, **params)

    @overload
    @staticmethod
    async def acreate(*, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]) -> _Text: ...
    @overload
    @staticmethod
    async def acreate(*, stream: Literal[True], **params: Unpack[CompletionCreateParams]) -> AsyncStream[_Text]: ...
    @staticmethod
    async def acreate(*, stream: bool = False, **params: Any) -> _Text | AsyncStream[_Text]:
        """Async text completion."""
        return await default_async_client().completions.create(
            stream=stream, **params
        )


class Embedding:
    """``llmplex.Embedding.create(model=..., input=...)``."""

    @staticmethod
    def create(**params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Sync embeddings."""
        return default_client().embeddings.create(**params)

    @staticmethod
    async def acreate(**params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Async embeddings."""
        return await default_async_client().embeddings.create(**params)
