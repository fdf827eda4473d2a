"""Typed inputs of ``completions.create`` (legacy text completions) and ``embeddings.create``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from typing_extensions import Required, TypedDict

from .chat_params import ChatCompletionStreamOptionsParam
from .request_options import RequestOptions

__all__ = ["CompletionCreateParams", "CompletionParams", "EmbeddingCreateParams", "EmbeddingParams"]


class CompletionParams(TypedDict, total=False):
    """Every OpenAI legacy completion parameter except ``stream``."""

    model: Required[str | Sequence[str]]
    prompt: Required[str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]]
    best_of: int | None
    echo: bool | None
    frequency_penalty: float | None
    logit_bias: Mapping[str, int] | None
    logprobs: int | None
    max_tokens: int | None
    n: int | None
    presence_penalty: float | None
    seed: int | None
    stop: str | Sequence[str] | None
    stream_options: ChatCompletionStreamOptionsParam | None
    suffix: str | None
    temperature: float | None
    top_p: float | None
    user: str


class CompletionCreateParams(CompletionParams, RequestOptions, total=False):
    """All keyword arguments of ``completions.create`` except ``stream``."""


class EmbeddingParams(TypedDict, total=False):
    """Every OpenAI embeddings parameter."""

    model: Required[str | Sequence[str]]
    input: Required[str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]]
    dimensions: int
    encoding_format: Literal["float", "base64"]
    """How the vectors travel on the wire; the response always holds floats."""
    user: str


class EmbeddingCreateParams(EmbeddingParams, RequestOptions, total=False):
    """All keyword arguments of ``embeddings.create``."""
