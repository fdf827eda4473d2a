"""A tool call's arguments: the JSON text a model wrote in, validated Python values out.

``call.parsed_arguments`` (on :class:`~llmplex.types.chat.ChatCompletionMessageToolCall`) and
``run_tools`` both go through :func:`parse_arguments`. Validation is pydantic's default lax mode,
so the small slips models make are accepted as pydantic accepts them: ``"3"`` for an ``int``,
``"true"`` for a ``bool``, keys the signature does not know (ignored). Two more are forgiven here,
before pydantic sees the value: ``null`` for an optional parameter whose type does not take
``None`` means "not given" (OpenAI strict mode makes models send exactly that), and arguments
JSON-encoded twice (a string holding the object) are decoded once more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ToolArgumentsError
from ._dialects import _accepts_null

if TYPE_CHECKING:
    from ..types.chat import ChatCompletion
    from ._tool import Tool

__all__ = ["bind_tools", "parse_arguments"]


def parse_arguments(raw: str, tool: Tool | None, *, tool_name: str, call_id: str | None = None) -> Any:
    """The arguments of one call of `tool_name`.

    With a `Tool` that has an arguments model: for a function, a dict of the keyword arguments the
    model gave, validated and converted (nested models and dataclasses constructed), ready for
    ``function(**arguments)``; for a pydantic model tool, the model instance. Otherwise the decoded
    JSON object. Raises `ToolArgumentsError` (``.raw``, ``.errors``, ``.tool_name``).

    >>> parse_arguments('{"city": "Paris"}', None, tool_name="get_weather")
    {'city': 'Paris'}
    """
    value = _decode(raw, tool_name, call_id)
    model = tool.arguments_model if tool is not None else None
    if tool is None or model is None:
        return value
    from ..structured._format import error_lines

    try:
        validated = model.model_validate(_without_absent_nulls(value, tool.parameters))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = error_lines(exc)
        raise ToolArgumentsError(
            f"the arguments of {tool_name!r} do not match its parameters: {'; '.join(errors)[:500]}",
            raw=raw, errors=errors, tool_name=tool_name, call_id=call_id,
        ) from None
    if tool.function is None:
        return validated
    # Only what the model gave: the function's own defaults apply to the rest.
    return {name: getattr(validated, name) for name in validated.model_fields_set}


def _decode(raw: str, tool_name: str, call_id: str | None) -> dict[str, Any]:
    if not raw.strip():  # some providers send "" for a call without arguments
        return {}
    try:
        value = json.loads(raw)
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)  # encoded twice
    except ValueError as exc:
        raise ToolArgumentsError(
            f"the arguments of {tool_name!r} are not valid JSON ({exc}); the raw text is on .raw",
            raw=raw, errors=[str(exc)], tool_name=tool_name, call_id=call_id,
        ) from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            f"the arguments of {tool_name!r} must be a JSON object, not {type(value).__name__}",
            raw=raw, errors=[f"(root): expected an object, got {type(value).__name__}"],
            tool_name=tool_name, call_id=call_id,
        )
    return value


def _without_absent_nulls(value: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``null`` for an optional parameter that does not accept null means "not given"."""
    properties = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    return {
        key: item for key, item in value.items()
        if not (item is None and key not in required and isinstance(properties.get(key), dict)
                and not _accepts_null(properties[key]))
    }


def bind_tools(completion: ChatCompletion, tools: Mapping[str, Tool]) -> ChatCompletion:
    """Let each tool call of `completion` know the `Tool` it calls (for ``parsed_arguments``)."""
    if tools:
        for choice in completion.choices:
            for call in choice.message.tool_calls or ():
                call._tool = tools.get(call.function.name)
    return completion
