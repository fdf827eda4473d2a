"""Legacy text completion objects (``/v1/completions``)."""

from __future__ import annotations

from typing import Any

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
