"""Completions whose message carries the validated object: ``client.chat.completions.parse``.

The openai SDK's shape: ``completion.choices[0].message.parsed`` is the object of the type given as
``response_format`` (``None`` when the model refused: ``message.refusal`` says why).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .chat import ChatCompletion, ChatCompletionMessage, Choice

__all__ = ["ParsedChatCompletion", "ParsedChatCompletionMessage", "ParsedChoice"]

T = TypeVar("T")


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    """The assistant's message with ``parsed``: the reply validated into the requested type."""

    parsed: T | None = None


class ParsedChoice(Choice, Generic[T]):
    message: ParsedChatCompletionMessage[T]


class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """A `ChatCompletion` whose choices' messages carry ``parsed``."""

    choices: list[ParsedChoice[T]]  # type: ignore[assignment]


def parsed_completion(completion: ChatCompletion, values: list[Any]) -> ParsedChatCompletion[Any]:
    """The completion with ``parsed`` set on each choice's message (no copy of the payloads)."""
    choices = [
        ParsedChoice[Any].model_construct(**{
            **dict(choice),
            "message": ParsedChatCompletionMessage[Any].model_construct(**{**dict(choice.message), "parsed": value}),
        })
        for choice, value in zip(completion.choices, values, strict=True)
    ]
    return ParsedChatCompletion[Any].model_construct(**{**dict(completion), "choices": choices})
