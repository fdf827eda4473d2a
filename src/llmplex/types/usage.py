"""Token usage, with cached and reasoning token details, as OpenAI reports it."""

from __future__ import annotations

from pydantic import Field

from ._base import ResponseModel

__all__ = ["CompletionTokensDetails", "CompletionUsage", "PromptTokensDetails"]


class PromptTokensDetails(ResponseModel):
    cached_tokens: int | None = None
    """Prompt tokens read from the provider's prompt cache."""
    audio_tokens: int | None = None
    cache_creation_tokens: int | None = None
    """Prompt tokens written to the provider's prompt cache (Anthropic ``cache_creation_input_tokens``)."""


class CompletionTokensDetails(ResponseModel):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class CompletionUsage(ResponseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    estimated: bool = Field(default=False, exclude=True)
    """``True`` when the provider reported no usage and llmplex counted it locally: the prompt with
    ``llmplex.count_tokens``, the reply's text, reasoning and tool calls the same way (exact token
    counts for OpenAI models with ``llmplex[tokens]``, else about 4 characters a token; either way
    provider-side framing is not known, so it is an estimate). Its cost is flagged too
    (``Cost.estimated``). Not part of the OpenAI JSON."""
