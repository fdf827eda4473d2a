"""Embedding objects (``/v1/embeddings``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import ResponseModel

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage"]


class Embedding(ResponseModel):
    index: int = 0
    object: str = "embedding"
    embedding: list[float]


class EmbeddingUsage(ResponseModel):
    prompt_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = Field(default=False, exclude=True)
    """``True`` when the provider reported no usage and llmplex counted the input locally
    (``llmplex.catalog.tokens.count_text``). Not part of the OpenAI JSON."""


class CreateEmbeddingResponse(ResponseModel):
    """The vectors for each input, in input order."""

    object: str = "list"
    data: list[Embedding]
    model: str = ""
    usage: EmbeddingUsage | None = None
    cost: Any = Field(default=None, exclude=True)
    """What the call cost in USD: a ``llmplex.catalog.Cost`` (``float(r.cost)``, ``r.cost.items``,
    ``r.cost.source``) computed from the usage and the catalog's prices, or ``None`` when the catalog
    has no price for the model (see ``llmplex.catalog.price`` for why). Not part of the OpenAI JSON."""
    cached: bool = Field(default=False, exclude=True)
    """Whether this response was replayed from llmplex's response cache (then ``cost`` is zero and
    ``usage`` is the original call's). Not part of the OpenAI JSON."""
