"""`Tool`: one function a model may call, and how anything given as ``tools=`` becomes one."""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from ..errors import InvalidRequestError, SchemaError
from ._dialects import strict_schema
from ._schema import function_parameters, model_parameters

__all__ = ["Tool", "as_tool", "tool", "tool_param"]

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CACHE: weakref.WeakKeyDictionary[Any, Tool] = weakref.WeakKeyDictionary()


@dataclass(eq=False)  # not frozen: @tool copies the function's __name__ / __doc__ onto it
class Tool:
    """A function a model may call: its name, description and parameter schema, and (for Python
    functions) the function itself and the pydantic model that validates its arguments.

    Calling a `Tool` calls the function, so ``@llmplex.tool`` leaves a function usable as before.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    arguments_model: type[Any] | None = field(default=None, repr=False, compare=False)
    strict: bool | None = None
    """OpenAI strict mode: the schema is rewritten to its dialect (closed objects, all required)."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SchemaError(
                f"tool name {self.name!r} is not accepted by providers: use 1-64 letters, digits, '_' or '-'"
            )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.function is None:
            raise TypeError(f"tool {self.name!r} has no Python function to call")
        return self.function(*args, **kwargs)

    def to_param(self) -> dict[str, Any]:
        """The OpenAI tool dict (``{"type": "function", "function": {...}}``) sent to providers."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = strict_schema(self.parameters) if self.strict else self.parameters
        if self.strict is not None:
            function["strict"] = self.strict
        return {"type": "function", "function": function}

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None, strict: bool | None = None) -> Tool:
        """A tool from a Python function: the schema from its type hints, the descriptions from
        its docstring (Google, Sphinx or NumPy style)."""
        documented, parameters, model = function_parameters(fn)
        return cls(name or fn.__name__, description if description is not None else documented,
                   parameters, fn, model, strict)

    @classmethod
    def from_model(cls, model: type[Any], *, name: str | None = None, description: str | None = None,
                   strict: bool | None = None) -> Tool:
        """A tool whose arguments are a pydantic model (the model's fields are the parameters)."""
        documented, parameters = model_parameters(model)
        return cls(name or model.__name__, description if description is not None else documented,
                   parameters, None, model, strict)


@overload
def tool(fn: F, /) -> Tool: ...
@overload
def tool(*, name: str | None = None, description: str | None = None,
         strict: bool | None = None) -> Callable[[F], Tool]: ...


def tool(fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None, strict: bool | None = None) -> Tool | Callable[[F], Tool]:
    """Make a function a `Tool`, optionally overriding its name and description.

    >>> @tool(name="weather")
    ... def get_weather(city: str) -> str:
    ...     '''Current weather.
    ...
    ...     Args:
    ...         city: A city name.
    ...     '''
    ...     return "sunny"
    >>> get_weather.to_param()["function"]["name"], get_weather("Paris")
    ('weather', 'sunny')
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        made = Tool.from_function(f, name=name, description=description, strict=strict)
        functools.update_wrapper(made, f)
        return made

    return wrap(fn) if fn is not None else wrap


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and hasattr(value, "model_json_schema")


def as_tool(value: Any) -> Tool:
    """A `Tool` from a function, a pydantic model class or a `Tool` (cached per object)."""
    if isinstance(value, Tool):
        return value
    try:
        cached = _CACHE.get(value)
    except TypeError:  # not weakly referenceable
        cached = None
    if cached is not None:
        return cached
    if _is_model(value):
        made = Tool.from_model(value)
    elif callable(value):
        made = Tool.from_function(value)
    else:
        raise InvalidRequestError(
            f"tools=[...] takes OpenAI tool dicts, functions, pydantic models or llmplex.Tool objects, "
            f"not {type(value).__name__}"
        )
    try:
        _CACHE[value] = made
    except TypeError:
        pass
    return made


def tool_param(value: Any) -> Mapping[str, Any]:
    """What goes in the request's ``tools`` list for one item of ``tools=``."""
    if isinstance(value, Mapping):
        return value
    return as_tool(value).to_param()
