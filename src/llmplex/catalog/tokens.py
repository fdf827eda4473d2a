"""How many tokens a list of chat messages takes: an estimate, the same for every provider.

Each provider tokenises differently and most publish no tokenizer, so this counts characters, not
tokens: about 4 characters of English text per token (OpenAI's rule of thumb, close for Claude and
Gemini too), plus a fixed overhead per message for the role markers every chat template adds
(OpenAI's cookbook counts 3-4), plus a flat figure per image (the size of an image is not known
without decoding it: OpenAI bills 765 tokens for a 1024x1024 high-detail image, Anthropic about
1,400). Code and non-Latin scripts take more tokens per character, so the estimate runs low there:
the context-window budget keeps a margin (:data:`SAFETY_MARGIN`).

This module is the one place that counts. Issue 6 replaces the estimate by exact counting where a
tokenizer is known (tiktoken for OpenAI models) behind the same :func:`estimate_tokens`.

>>> estimate_tokens([{"role": "user", "content": "Hello there, how are you?"}])
14
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "REPLY_OVERHEAD",
    "SAFETY_MARGIN",
    "estimate_message_tokens",
    "estimate_tokens",
]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens each message costs besides its text (role and separators)."""
REPLY_OVERHEAD = 3
"""Tokens that prime the reply (``<|start|>assistant<|message|>``), counted once per request."""
IMAGE_TOKENS = 1000
"""Flat estimate for one image part, whatever its size."""
SAFETY_MARGIN = 0.9
"""Share of the context window the estimate may fill: 10 % is left for estimation error."""


def _chars(value: Any) -> tuple[int, int]:
    """(characters of text, number of images) in a message field, walking content parts."""
    if value is None:
        return 0, 0
    if isinstance(value, str):
        return len(value), 0
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind in ("image_url", "input_image", "image"):
            return 0, 1
        if kind == "text" or "text" in value:
            return _chars(value.get("text"))
        return len(json.dumps(value, ensure_ascii=False, default=str)), 0
    if isinstance(value, Iterable):
        chars = images = 0
        for part in value:
            c, i = _chars(part)
            chars, images = chars + c, images + i
        return chars, images
    return len(str(value)), 0


def estimate_message_tokens(message: Mapping[str, Any]) -> int:
    """Tokens of one message: its text (content, name, reasoning, tool calls with their arguments),
    its images, and :data:`MESSAGE_OVERHEAD`. Provider extras (signed thinking blocks …) are not
    counted: providers do not bill earlier turns' reasoning as input."""
    chars, images = _chars(message.get("content"))
    for key in ("name", "reasoning_content", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            chars += len(value)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {} if isinstance(call, Mapping) else {}
        chars += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    return -(-chars // CHARS_PER_TOKEN) + images * IMAGE_TOKENS + MESSAGE_OVERHEAD


def estimate_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated prompt tokens of a request with these messages (see the module docstring)."""
    return sum(estimate_message_tokens(m) for m in messages) + REPLY_OVERHEAD
