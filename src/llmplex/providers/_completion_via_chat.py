"""Legacy text completions for providers that only offer chat.

The prompt is sent as one user message; the reply comes back as a ``Completion`` (streamed
pieces too). Parameters that only make sense for a raw completion endpoint (``echo``,
``suffix``, ``best_of``, ``logprobs``) raise ``UnsupportedParameterError`` unless dropped.
"""

from __future__ import annotations

from typing import Any

from .._framing import SSEEvent
from .._requests import ChatRequest, CompletionRequest
from ..errors import UnsupportedParameterError
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.completion import Completion, CompletionChoice
from .base import StreamDecoder

__all__ = ["ChatBackedCompletionDecoder", "chat_request_for", "completion_from_chat", "completion_from_chunk"]

_COMPLETION_ONLY = frozenset({"echo", "suffix", "best_of", "logprobs"})


def chat_request_for(req: CompletionRequest, provider: str, drop_unsupported: bool) -> ChatRequest:
    """The chat request that stands in for a text completion."""
    prompt = req.prompt
    if isinstance(prompt, (list, tuple)) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise UnsupportedParameterError(
            f"{provider} has no native text-completion endpoint, so the prompt must be one string "
            f"(token ids and batches of prompts need a provider with /completions)",
            provider=provider, model=req.model, param="prompt",
        )
    params: dict[str, Any] = {}
    for key, value in req.params.items():
        if key in _COMPLETION_ONLY:
            if drop_unsupported:
                continue
            raise UnsupportedParameterError(
                f"{provider} serves completions through chat, which has no {key!r}; remove it or "
                f"pass drop_unsupported=True", provider=provider, model=req.model, param=key,
            )
        params[key] = value
    return ChatRequest(req.model, [{"role": "user", "content": prompt}], params, req.stream)


def completion_from_chat(chat: ChatCompletion) -> Completion:
    """A ``ChatCompletion`` as a legacy ``Completion``."""
    return Completion(
        id=chat.id,
        created=chat.created,
        model=chat.model,
        choices=[
            CompletionChoice(index=c.index, text=c.message.content or "", finish_reason=c.finish_reason)
            for c in chat.choices
        ],
        usage=chat.usage,
        system_fingerprint=chat.system_fingerprint,
    )


def completion_from_chunk(chunk: ChatCompletionChunk) -> Completion:
    """A streamed chat chunk as a streamed ``Completion`` piece."""
    return Completion(
        id=chunk.id,
        created=chunk.created,
        model=chunk.model,
        choices=[
            CompletionChoice(index=c.index, text=c.delta.content or "", finish_reason=c.finish_reason)
            for c in chunk.choices
        ],
        usage=chunk.usage,
    )


class ChatBackedCompletionDecoder:
    """Wraps a chat stream decoder; yields ``Completion`` pieces."""

    def __init__(self, inner: StreamDecoder[ChatCompletionChunk]) -> None:
        self._inner = inner

    @property
    def done(self) -> bool:
        """Whether the inner decoder saw its terminal event."""
        return self._inner.done

    def feed(self, frame: SSEEvent | bytes) -> list[Completion]:
        """Decode one frame."""
        return [completion_from_chunk(c) for c in self._inner.feed(frame)]

    def close(self) -> list[Completion]:
        """End of input."""
        return [completion_from_chunk(c) for c in self._inner.close()]
