"""Keeping a conversation inside the model's context window: strategies that decide, pure.

Before a request would exceed the window (and earn a provider 400), the conversation asks its
strategy what to keep. A strategy sees the messages, their token sizes and the budget, and
returns a :class:`Fit`: the indices to keep, and those to fold into one summary (with the request
that writes it). It never calls a model itself: the conversation (sync or async) does.

Both strategies cut at the same seams:

* system and developer messages are always kept;
* an assistant message with tool calls and the tool results that answer it move together;
* whole turns go first, oldest first (a turn starts at a user message), so the history still
  opens with a user turn; the current turn is never dropped whole: only its older tool rounds,
  after its user message, when it alone is too large;
* when even that does not fit, :class:`~llmplex.ContextWindowExceededError` is raised before
  anything is sent.

>>> msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "old"},
...         {"role": "assistant", "content": "old reply"}, {"role": "user", "content": "new"}]
>>> DropOldest().fit(msgs, [5, 50, 50, 5], budget=20).keep
(0, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ContextWindowExceededError

__all__ = ["ContextStrategy", "DropOldest", "Fit", "Summarize", "SummaryRequest", "turns"]

_PINNED = frozenset({"system", "developer"})
_RESULTS = frozenset({"tool", "function"})

SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
DEFAULT_SUMMARY_PROMPT = (
    "Summarise the conversation below for whoever continues it: keep names, numbers, decisions, "
    "open questions, tool results that matter and the user's preferences. Write plain prose, at most "
    "{words} words, no preamble."
)


@dataclass(frozen=True)
class SummaryRequest:
    """The model call that writes a summary: ``model`` (``None``: the conversation's model),
    ``messages`` and ``max_tokens``."""

    model: str | None
    messages: list[dict[str, Any]]
    max_tokens: int

    @staticmethod
    def message(text: str) -> dict[str, Any]:
        """The summary as the message that replaces the summarised turns."""
        return {"role": "user", "content": SUMMARY_PREFIX + text.strip()}


@dataclass(frozen=True)
class Fit:
    """A strategy's decision: the indices to keep (ascending) and those to replace by one summary
    message, placed where the first of them was."""

    keep: tuple[int, ...]
    summarize: tuple[int, ...] = ()
    summary: SummaryRequest | None = None


class ContextStrategy(Protocol):
    """What the conversation asks when the history exceeds the budget (tokens)."""

    def fit(self, messages: Sequence[Mapping[str, Any]], sizes: Sequence[int], budget: int) -> Fit:
        """The messages to keep; ``sizes[i]`` is the token count of ``messages[i]``."""
        ...


def _groups(messages: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Indices of the non-pinned messages in atomic groups: an assistant message with tool calls
    together with the tool results that follow it; any other message alone."""
    groups: list[list[int]] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        if message.get("role") in _PINNED:
            continue
        group = [i - 1]
        if message.get("role") == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            while i < len(messages) and messages[i].get("role") in _RESULTS:
                group.append(i)
                i += 1
        groups.append(group)
    return groups


def turns(messages: Sequence[Mapping[str, Any]]) -> list[list[list[int]]]:
    """The non-pinned messages as turns of groups; a turn starts at a user message.

    >>> turns([{"role": "system"}, {"role": "user"}, {"role": "assistant", "tool_calls": [{}]},
    ...        {"role": "tool"}, {"role": "assistant"}, {"role": "user"}])
    [[[1], [2, 3], [4]], [[5]]]
    """
    out: list[list[list[int]]] = []
    for group in _groups(messages):
        if not out or messages[group[0]].get("role") == "user":
            out.append([])
        out[-1].append(group)
    return out


def _select(
    messages: Sequence[Mapping[str, Any]], sizes: Sequence[int], turn_target: int, budget: int
) -> tuple[list[int], list[int]]:
    """(kept, dropped) indices: old turns dropped until the rest fits ``turn_target``, then the
    current turn's older groups until it fits ``budget``."""
    pinned = [i for i, m in enumerate(messages) if m.get("role") in _PINNED]
    kept = turns(messages)
    dropped: list[int] = []
    total = sum(sizes)
    while len(kept) > 1 and total > turn_target:
        for group in kept.pop(0):
            dropped += group
            total -= sum(sizes[i] for i in group)
    if kept and total > budget:
        last = kept[-1]
        first = 1 if messages[last[0][0]].get("role") == "user" else 0  # the user message stays
        while len(last) - first > 1 and total > budget:
            group = last.pop(first)
            dropped += group
            total -= sum(sizes[i] for i in group)
    if total > budget:
        raise ContextWindowExceededError(
            f"the conversation needs about {total} tokens even after trimming (system prompt and the "
            f"current turn), over the budget of {budget}: shorten the system prompt or the last message, "
            "or use a model with a larger context window"
        )
    keep = sorted(pinned + [i for turn in kept for group in turn for i in group])
    return keep, sorted(dropped)


@dataclass(frozen=True)
class DropOldest:
    """Drop the oldest turns (then the current turn's oldest tool rounds) until the rest fits.

    >>> conv = llmplex.Conversation(client, strategy=DropOldest())  # doctest: +SKIP
    """

    def fit(self, messages: Sequence[Mapping[str, Any]], sizes: Sequence[int], budget: int) -> Fit:
        """Keep what fits, newest first; see the module docstring for the seams."""
        keep, _ = _select(messages, sizes, budget, budget)
        return Fit(tuple(keep))


def render_transcript(messages: Sequence[Mapping[str, Any]]) -> str:
    """The messages as plain text for a summariser: ``role: text`` lines, tool calls and results
    spelled out (any model can read it; no provider's tool-block rules apply)."""
    lines: list[str] = []
    for message in messages:
        role = str(message.get("role", "user"))
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", f"[{p.get('type', 'part')}]")) for p in content
                               if isinstance(p, Mapping))
        if content:
            lines.append(f"{role}: {content}")
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            lines.append(f"{role} called {function.get('name')}({function.get('arguments', '')})")
    return "\n".join(lines)


@dataclass(frozen=True)
class Summarize:
    """Replace the oldest turns by one summary written by a model.

    When the history exceeds the budget, the oldest turns are summarised until what is left fills
    at most ``keep_ratio`` of the budget (so the next turns fit without another summary). The
    summary (at most ``max_summary_tokens``) becomes one user message, ``"Summary of the earlier
    conversation: …"``, where those turns were; a later summary folds it in again. ``model``
    writes it (default: the model of the request being sent).

    >>> conv = llmplex.Conversation(client, strategy=Summarize(model="openai/gpt-4o-mini"))  # doctest: +SKIP
    """

    model: str | None = None
    keep_ratio: float = 0.5
    max_summary_tokens: int = 512
    prompt: str = DEFAULT_SUMMARY_PROMPT

    def fit(self, messages: Sequence[Mapping[str, Any]], sizes: Sequence[int], budget: int) -> Fit:
        """Keep the newest turns within ``keep_ratio`` of the budget; summarise the others."""
        room = budget - self.max_summary_tokens
        keep, fold = _select(messages, sizes, int(room * self.keep_ratio), room)
        if not fold:
            return Fit(tuple(keep))
        words = max(20, self.max_summary_tokens * 3 // 4)
        request = SummaryRequest(
            self.model,
            [{"role": "system", "content": self.prompt.format(words=words)},
             {"role": "user", "content": render_transcript([messages[i] for i in fold])}],
            self.max_summary_tokens,
        )
        return Fit(tuple(keep), tuple(fold), request)
