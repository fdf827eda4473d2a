"""Cohere response pieces -> OpenAI shapes, shared by the non-streamed parser and the stream decoder
(STYLE.md rule 15: accumulate(stream) == parse(non-stream)).

Wire reference: https://docs.cohere.com/reference/chat (``message.content`` text / thinking items,
``tool_calls``, ``tool_plan``, ``citations``, ``finish_reason``, ``usage.billed_units`` / ``tokens`` /
``cached_tokens``) and the v1 reference for the legacy ``text`` / ``generation_id`` / ``meta`` shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import APIStatusError, InvalidResponseError
from ..types._base import ResponseModel
from ..types.chat import ChatCompletionMessage, ChatCompletionMessageToolCall, Function
from ..types.usage import CompletionUsage, PromptTokensDetails
from ._errors import make_error
from ._shared import json_arguments, with_extra

__all__ = [
    "CohereCitation",
    "citation",
    "finish_error",
    "finish_reason",
    "message_from_v2",
    "tool_arguments",
    "usage_from",
]

# Native finish reason -> OpenAI. ERROR and TIMEOUT are absent on purpose: they raise (finish_error).
_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "ERROR_LIMIT": "length",  # v1: the context window filled up
    "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter",
    "USER_CANCEL": "stop",  # v1: the generation was cancelled on the client's request
}
# Finish reasons that mean the generation failed: reported as the 5xx the provider would have sent.
_FAILED = {"ERROR": 500, "TIMEOUT": 504}


class CohereCitation(ResponseModel):
    """One Cohere citation: the cited span of the reply (``start`` / ``end`` character offsets and
    ``text``) and the ``sources`` (documents or tool results) that support it.

    Kept on ``message.citations`` (and streamed as ``delta.citations``).

    >>> CohereCitation(start=0, end=5, text="Paris", sources=[{"type": "document", "id": "doc:0"}]).text
    'Paris'
    """

    start: int | None = None
    end: int | None = None
    text: str | None = None
    sources: list[dict[str, Any]] = []
    type: str | None = None
    """``TEXT_CONTENT``, ``THINKING_CONTENT`` or ``PLAN`` (what the span belongs to)."""
    content_index: int | None = None


def citation(raw: Mapping[str, Any]) -> CohereCitation:
    """A citation object from the wire."""
    return CohereCitation.model_validate(dict(raw))


def finish_reason(native: Any) -> str | None:
    """The OpenAI finish reason for Cohere's; an unknown one stays visible rather than becoming ``stop``."""
    if native is None:
        return None
    return _FINISH.get(str(native), str(native).lower())


def finish_error(native: Any, provider: str, message: Any = None) -> APIStatusError | None:
    """The error a failed generation is reported as: finish reason ``ERROR`` (500) or ``TIMEOUT``
    (504), or an ``error`` message next to any finish reason (500). None when it did not fail."""
    status = _FAILED.get(str(native))
    if status is None and not message:
        return None
    text = str(message) if message else f"{provider} ended the generation with finish_reason {native}"
    return make_error(status or 500, text, provider=provider, code=str(native) if native is not None else None)


def usage_from(raw: Any) -> CompletionUsage | None:
    """``usage`` (v2) or ``meta`` (v1) -> ``CompletionUsage``.

    ``tokens`` counts what the model processed (the prompt includes Cohere's own preamble, and
    ``cached_tokens`` relates to it); ``billed_units`` is what is charged and is kept as
    ``usage.billed_units``. Without ``tokens`` the billed units are the counts.
    """
    if not isinstance(raw, Mapping):
        return None
    tokens = raw.get("tokens") if isinstance(raw.get("tokens"), Mapping) else None
    billed = raw.get("billed_units") if isinstance(raw.get("billed_units"), Mapping) else None
    counts = tokens or billed
    if counts is None:
        return None
    prompt = int(counts.get("input_tokens") or 0)
    completion = int(counts.get("output_tokens") or 0)
    cached = raw.get("cached_tokens")
    details = PromptTokensDetails(cached_tokens=int(cached)) if isinstance(cached, (int, float)) else None
    usage = CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                            prompt_tokens_details=details)
    return with_extra(usage, billed_units=dict(billed)) if billed is not None else usage


def tool_arguments(value: Any) -> str:
    """Tool-call arguments as JSON text; a call without arguments (``""`` or ``"null"``, as Cohere
    sends for parameterless tools) becomes ``"{}"`` so that ``json.loads`` gives a mapping."""
    text = json_arguments(value)
    return "{}" if text.strip() in ("", "null") else text


def message_from_v2(raw: Mapping[str, Any], provider: str) -> ChatCompletionMessage:
    """The v2 ``message`` object -> ``ChatCompletionMessage``.

    Text items join into ``content``, thinking items into ``reasoning_content``; ``tool_plan``
    and ``citations`` are kept as extra fields.
    """
    texts: list[str] = []
    thinking: list[str] = []
    content = raw.get("content")
    if isinstance(content, str):
        texts.append(content)
    else:
        for item in content or []:
            kind = item.get("type")
            if kind == "text":
                texts.append(str(item.get("text") or ""))
            elif kind == "thinking":
                thinking.append(str(item.get("thinking") or ""))
            else:
                raise InvalidResponseError(f"{provider} returned a {kind!r} content item, which llmplex cannot map",
                                           provider=provider)
    calls = [
        ChatCompletionMessageToolCall(id=str(call.get("id") or f"call_{i}"), function=Function(
            name=str(call["function"]["name"]), arguments=tool_arguments(call["function"].get("arguments"))))
        for i, call in enumerate(raw.get("tool_calls") or [])
    ]
    text = "".join(texts)
    message = ChatCompletionMessage(content=text if text or not calls else None, tool_calls=calls or None,
                                    reasoning_content="".join(thinking) or None)
    extra: dict[str, Any] = {}
    if raw.get("tool_plan"):
        extra["tool_plan"] = str(raw["tool_plan"])
    if raw.get("citations"):
        extra["citations"] = [citation(c) for c in raw["citations"]]
    return with_extra(message, **extra) if extra else message


def message_from_v1(data: Mapping[str, Any]) -> ChatCompletionMessage:
    """The legacy v1 body (``text``, ``tool_calls`` with ``parameters`` objects, ``citations``)."""
    calls = [
        ChatCompletionMessageToolCall(id=f"call_{i}", function=Function(
            name=str(call["name"]), arguments=tool_arguments(call.get("parameters"))))
        for i, call in enumerate(data.get("tool_calls") or [])
    ]
    text = str(data.get("text") or "")
    message = ChatCompletionMessage(content=text if text or not calls else None, tool_calls=calls or None)
    if data.get("citations"):
        message = with_extra(message, citations=[citation(c) for c in data["citations"]])
    return message
