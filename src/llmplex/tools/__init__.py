"""Tools from Python: functions, pydantic models and the ``@tool`` decorator become OpenAI tool
definitions whose schemas follow each provider's rules (:mod:`._dialects`); a tool call's arguments
are validated against the function's signature (:mod:`._arguments`), and ``run_tools`` runs the
functions a model calls (:mod:`._run`)."""

from __future__ import annotations

from ._arguments import parse_arguments
from ._dialects import openapi_schema, strict_schema
from ._run import ToolFinished, ToolRunChunk, ToolRunEvent, ToolRunFinished, ToolRunResult, ToolStarted, tool_content
from ._tool import Tool, as_tool, tool, tool_param

__all__ = ["Tool", "ToolFinished", "ToolRunChunk", "ToolRunEvent", "ToolRunFinished", "ToolRunResult", "ToolStarted",
           "as_tool", "openapi_schema", "parse_arguments", "strict_schema", "tool", "tool_content", "tool_param"]
