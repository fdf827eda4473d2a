"""Events of ``client.chat.completions.stream(...)``: the chunks, plus the reply as it grows.

``content.delta`` events carry the text so far and — when a ``response_format`` schema was asked —
the object it already fixes (``parsed``, a partial ``dict``; computed on first access, so a
consumer that never looks pays nothing). ``content.done`` carries the validated object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ..types.chat import ChatCompletionChunk
from ._partial_json import MISSING, parse_partial

__all__ = [
    "ChatStreamEvent",
    "ChunkEvent",
    "ContentDeltaEvent",
    "ContentDoneEvent",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "ToolArgumentsDeltaEvent",
    "ToolArgumentsDoneEvent",
]


def _partial(text: str) -> Any:
    try:
        value = parse_partial(text)
    except ValueError:
        return None  # not JSON (yet, or at all): the done event says which
    return None if value is MISSING else value


@dataclass(eq=False)
class ChunkEvent:
    """Every chunk as it arrived."""

    chunk: ChatCompletionChunk
    type: Literal["chunk"] = "chunk"


@dataclass(eq=False)
class ContentDeltaEvent:
    """New reply text for choice `index`; `snapshot` is all of it so far."""

    index: int
    delta: str
    snapshot: str
    schema: bool = field(default=False, repr=False)
    type: Literal["content.delta"] = "content.delta"

    @cached_property
    def parsed(self) -> Any:
        """The partial object the snapshot fixes (a dict; strings may be cut short); None without a
        schema or before the first key."""
        return _partial(self.snapshot) if self.schema else None


@dataclass(eq=False)
class ContentDoneEvent:
    """The reply text of choice `index` is complete; `parsed` is the validated object (or None
    without a schema)."""

    index: int
    content: str
    parsed: Any
    type: Literal["content.done"] = "content.done"


@dataclass(eq=False)
class RefusalDeltaEvent:
    index: int
    delta: str
    snapshot: str
    type: Literal["refusal.delta"] = "refusal.delta"


@dataclass(eq=False)
class RefusalDoneEvent:
    index: int
    refusal: str
    type: Literal["refusal.done"] = "refusal.done"


@dataclass(eq=False)
class ToolArgumentsDeltaEvent:
    """New argument text of tool call `tool_index` of choice `index`."""

    index: int
    tool_index: int
    name: str
    delta: str
    arguments: str
    type: Literal["tool_calls.function.arguments.delta"] = "tool_calls.function.arguments.delta"

    @cached_property
    def parsed_arguments(self) -> Any:
        """The partial arguments object so far."""
        return _partial(self.arguments)


@dataclass(eq=False)
class ToolArgumentsDoneEvent:
    index: int
    tool_index: int
    name: str
    arguments: str
    type: Literal["tool_calls.function.arguments.done"] = "tool_calls.function.arguments.done"


ChatStreamEvent = (ChunkEvent | ContentDeltaEvent | ContentDoneEvent | RefusalDeltaEvent | RefusalDoneEvent
                   | ToolArgumentsDeltaEvent | ToolArgumentsDoneEvent)
