"""Embedding objects (``/v1/embeddings``)."""

from __future__ import annotations

from ._base import ResponseModel

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage"]


class Embedding(ResponseModel):
    index: int = 0
    object: str = "embedding"
    embedding: list[float]


class EmbeddingUsage(ResponseModel):
    prompt_tokens: int = 0
    total_tokens: int = 0


class CreateEmbeddingResponse(ResponseModel):
    """The vectors for each input, in input order."""

    object: str = "list"
    data: list[Embedding]
    model: str = ""
    usage: EmbeddingUsage | None = None
