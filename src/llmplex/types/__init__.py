"""OpenAI-shaped response types (pydantic) and typed request parameters (TypedDicts)."""

from .chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    Function,
    TopLogprob,
)
from .chat_params import ChatCompletionCreateParams, ChatCompletionMessageParam, ChatCompletionToolParam
from .completion import Completion, CompletionChoice
from .completion_params import CompletionCreateParams, EmbeddingCreateParams
from .embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from .usage import CompletionTokensDetails, CompletionUsage, PromptTokensDetails

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionCreateParams",
    "ChatCompletionMessage",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "ChatCompletionToolParam",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "CompletionCreateParams",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingCreateParams",
    "EmbeddingUsage",
    "Function",
    "PromptTokensDetails",
    "TopLogprob",
]
