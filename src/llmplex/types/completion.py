"""Legacy text completion objects (``/v1/completions``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import ResponseModel
from .usage import CompletionUsage

__all__ = ["Completion", "CompletionChoice", "CompletionLogprobs"]


class CompletionLogprobs(ResponseModel):
    text_offset: list[int] | None = None
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None


class CompletionChoice(ResponseModel):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | Any | None = None


class Completion(ResponseModel):
    """A text completion, or one streamed piece of it (same shape, as in the OpenAI API)."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice] = []
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    cost: Any = Field(default=None, exclude=True)
    """What the call cost in USD: a ``llmplex.catalog.Cost`` (``float(r.cost)``, ``r.cost.items``,
    ``r.cost.source``) computed from the usage and the catalog's prices, or ``None`` when the catalog
    has no price for the model (see ``llmplex.catalog.price`` for why). Not part of the OpenAI JSON."""
    cached: bool = Field(default=False, exclude=True)
    """Whether this response was replayed from llmplex's response cache (then ``cost`` is zero and
    ``usage`` is the original call's). Not part of the OpenAI JSON."""
