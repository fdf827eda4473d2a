"""Tools from Python: functions, pydantic models and the ``@tool`` decorator become OpenAI tool
definitions whose schemas follow each provider's rules (:mod:`._dialects`)."""

from __future__ import annotations

from ._dialects import openapi_schema, strict_schema
from ._tool import Tool, as_tool, tool, tool_param

__all__ = ["Tool", "as_tool", "openapi_schema", "strict_schema", "tool", "tool_param"]
