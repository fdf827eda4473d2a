"""A conversation's messages as stored (:class:`Entry`), and the history one provider is sent.

An assistant reply carries, besides the OpenAI fields, what its provider needs back on the next
turn and no other provider accepts: Anthropic's signed ``thinking_blocks`` and ``server_tool_blocks``,
Gemini's ``thought_signatures``, Bedrock's ``reasoning_blocks``, Cohere's ``tool_plan``, citations …
Signatures are only valid for the provider that made them (a thinking block with a foreign or
missing signature is a 400), so :func:`history_for` keeps a reply's extras only when it goes back to
the provider that wrote it. Sent elsewhere, the reply keeps its OpenAI fields (text, tool calls —
every adapter converts those) and its plain ``reasoning_content`` only where the target row says
``accepts_reasoning_content``.

>>> entries = [Entry({"role": "user", "content": "Hi"}),
...            Entry({"role": "assistant", "content": "Hello", "reasoning_content": "greet",
...                   "thinking_blocks": [{"type": "thinking", "thinking": "greet", "signature": "s"}]},
...                  provider="anthropic")]
>>> history_for(entries, "anthropic")[1]["thinking_blocks"][0]["signature"]
's'
>>> history_for(entries, "openai")[1]
{'role': 'assistant', 'content': 'Hello'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PORTABLE_KEYS", "Entry", "history_for", "portable"]

PORTABLE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal"})
"""Message fields every adapter understands (the OpenAI input schema). Everything else on an
assistant reply is its provider's own and travels back to that provider only."""


@dataclass(frozen=True)
class Entry:
    """One message of a conversation, with the provider and model that wrote it (``None`` for
    messages the caller added: system prompts, user turns, tool results).

    >>> Entry({"role": "user", "content": "Hi"}).message["content"]
    'Hi'
    """

    message: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    model: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what stores persist)."""
        return {"message": self.message, "provider": self.provider, "model": self.model}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        """The inverse of :meth:`to_json`."""
        return cls(dict(data["message"]), data.get("provider"), data.get("model"))


def portable(message: Mapping[str, Any], *, keep_reasoning: bool) -> dict[str, Any]:
    """The message without its provider's own fields; ``reasoning_content`` kept if asked."""
    out = {k: v for k, v in message.items() if k in PORTABLE_KEYS}
    if keep_reasoning and message.get("reasoning_content"):
        out["reasoning_content"] = message["reasoning_content"]
    return out


def history_for(
    entries: Sequence[Entry], provider: str, *, accepts_reasoning_content: bool = False
) -> list[dict[str, Any]]:
    """The messages to send to ``provider``: one per entry, in order (pure; entries unchanged).

    A reply written by ``provider`` goes back as it was. A reply written by another provider goes
    back :func:`portable`: its text and tool calls, and its ``reasoning_content`` only when
    ``accepts_reasoning_content`` (the target row's flag). Messages the caller added (no provider)
    are sent as given.
    """
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry.provider is None or entry.provider == provider:
            out.append(dict(entry.message))
        else:
            out.append(portable(entry.message, keep_reasoning=accepts_reasoning_content))
    return out
