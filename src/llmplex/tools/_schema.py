"""JSON schemas of tool parameters, from Python functions and pydantic models.

The schema of a function comes from its signature (type hints, defaults) and its docstring
(parameter descriptions), through pydantic, so every annotation pydantic understands works:
``Literal`` and ``Enum``, ``Optional``, lists and dicts, nested pydantic models, dataclasses and
``TypedDict``, ``Annotated[..., Field(description=...)]``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from ..errors import SchemaError
from ._docstring import parse_docstring

__all__ = ["clean_schema", "function_parameters", "model_parameters", "walk_schemas"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


def walk_schemas(schema: Any, visit: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """A copy of `schema` with `visit` applied to every sub-schema, innermost first.

    Only schema positions are visited: a property *named* ``title`` is not a ``title`` keyword.
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: walk_schemas(sub, visit) for name, sub in value.items()}
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = walk_schemas(value, visit)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [walk_schemas(sub, visit) for sub in value]
        else:
            out[key] = value
    return visit(out)


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's generated ``title`` keywords (noise in a prompt) from every sub-schema."""

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        node.pop("title", None)
        return node

    result: dict[str, Any] = walk_schemas(schema, visit)
    return result


def function_parameters(fn: Callable[..., Any]) -> tuple[str, dict[str, Any], type[Any]]:
    """``(description, parameters schema, arguments model)`` of a function, from its signature and
    docstring; the pydantic arguments model validates what a model sends.

    Raises `SchemaError` for what a model cannot call: ``*args`` / ``**kwargs``, a parameter
    without a type hint, or a type pydantic cannot describe.
    """
    from pydantic import Field, create_model
    from pydantic.errors import PydanticUserError

    description, documented = parse_docstring(inspect.getdoc(fn))
    name = getattr(fn, "__name__", type(fn).__name__)
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise SchemaError(f"cannot read the signature of tool {name!r}: {exc}") from None
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SchemaError(
                f"tool {name!r} takes *{param.name}: a model can only pass named arguments; "
                f"give every parameter a name and a type"
            )
        if param.name not in hints:
            raise SchemaError(
                f"parameter {param.name!r} of tool {name!r} has no type hint; annotate it "
                f"(e.g. {param.name}: str) so the model knows what to send"
            )
        default = ... if param.default is param.empty else param.default
        info = Field(default, description=documented[param.name]) if param.name in documented else Field(default)
        fields[param.name] = (hints[param.name], info)
    try:
        model = create_model(f"{name}_arguments", **fields)
        schema = model.model_json_schema()
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise SchemaError(f"tool {name!r} has a parameter type that has no JSON schema: {exc}") from None
    return description, clean_schema(schema), model


def model_parameters(model: type[Any]) -> tuple[str, dict[str, Any]]:
    """``(description, parameters schema)`` of a pydantic model used as a tool."""
    description, _ = parse_docstring(model.__dict__.get("__doc__"))  # its own, not BaseModel's
    schema = clean_schema(model.model_json_schema())
    schema.pop("description", None)
    return description, schema
