"""Structured output: JSON replies parsed, validated and (while streaming) partially parsed."""

from __future__ import annotations

from ._events import (
    ChatStreamEvent,
    ChunkEvent,
    ContentDeltaEvent,
    ContentDoneEvent,
    RefusalDeltaEvent,
    RefusalDoneEvent,
    ToolArgumentsDeltaEvent,
    ToolArgumentsDoneEvent,
)
from ._format import OutputFormat, output_format
from ._parse import ValidationRetries, parse_completion, require_plan, retry_messages
from ._partial_json import MISSING, parse_partial
from ._plan import MappedDecoder, StructuredPlan, structured_plan

__all__ = [
    "MISSING",
    "ChatStreamEvent",
    "ChunkEvent",
    "ContentDeltaEvent",
    "ContentDoneEvent",
    "MappedDecoder",
    "OutputFormat",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "StructuredPlan",
    "ToolArgumentsDeltaEvent",
    "ToolArgumentsDoneEvent",
    "ValidationRetries",
    "output_format",
    "parse_completion",
    "parse_partial",
    "require_plan",
    "retry_messages",
    "structured_plan",
]
