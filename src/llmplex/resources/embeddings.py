"""``client.embeddings``: sync and async."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import Unpack

from .._pipeline import run_async, run_sync
from ..types.completion_params import EmbeddingCreateParams
from ..types.embedding import CreateEmbeddingResponse

if TYPE_CHECKING:
    from ..client import AsyncClient, Client

__all__ = ["AsyncEmbeddings", "Embeddings"]


class Embeddings:
    """``client.embeddings``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Embed a string or a list of strings; vectors come back as floats in input order.

        >>> client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])  # doctest: +SKIP
        """
        result: CreateEmbeddingResponse = run_sync(self._client._calls.embedding(dict(params)), self._client._transport)
        return result


class AsyncEmbeddings:
    """``async_client.embeddings``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Async twin of :meth:`Embeddings.create`."""
        call = self._client._calls.embedding(dict(params))
        result: CreateEmbeddingResponse = await run_async(call, self._client._transport)
        return result
