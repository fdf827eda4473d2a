"""Tool definitions from Python: what a model is told about a function, and the provider dialects."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal, Optional

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

import llmplex
from llmplex.tools import Tool, as_tool, openapi_schema, strict_schema, tool
from llmplex.tools._docstring import parse_docstring


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    lat: float
    lon: float


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name")
    point: Point | None = None


class Window(TypedDict):
    start: str
    end: str


def get_weather(
    city: str,
    unit: Literal["c", "f"] = "c",
    days: list[int] | None = None,
    where: Optional[Address] = None,  # the typing spelling must work too
    scale: Unit = Unit.CELSIUS,
    count: Annotated[int, Field(ge=1, description="How many readings")] = 1,
    window: Window | None = None,
) -> str:
    """Get the current weather.

    Looks it up in the weather service.

    Args:
        city: The city, e.g. Paris.
        unit (str): Temperature unit,
            c or f.
        where: A full address instead of a city.
    """
    return f"sunny in {city}"


def test_a_function_becomes_an_openai_tool() -> None:
    param = as_tool(get_weather).to_param()
    assert param["type"] == "function"
    fn = param["function"]
    assert fn["name"] == "get_weather"
    assert fn["description"] == "Get the current weather.\n\nLooks it up in the weather service."
    schema = fn["parameters"]
    props = schema["properties"]
    assert schema["type"] == "object" and schema["required"] == ["city"]
    assert props["city"] == {"type": "string", "description": "The city, e.g. Paris."}
    assert props["unit"] == {"type": "string", "enum": ["c", "f"], "default": "c",
                             "description": "Temperature unit, c or f."}
    assert props["days"]["anyOf"] == [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]
    assert props["where"]["description"] == "A full address instead of a city."
    assert props["count"] == {"type": "integer", "minimum": 1, "default": 1, "description": "How many readings"}
    assert schema["$defs"]["Unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"]}
    assert schema["$defs"]["Address"]["required"] == ["street", "city"]
    assert schema["$defs"]["Point"]["properties"] == {"lat": {"type": "number"}, "lon": {"type": "number"}}
    assert schema["$defs"]["Window"]["required"] == ["start", "end"]
    assert "title" not in str(schema)  # pydantic's generated titles are noise in a prompt
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"city": "Paris", "where": {"street": "1 rue", "city": "Paris", "point": {"lat": 1, "lon": 2}},
                         "scale": "celsius", "window": {"start": "a", "end": "b"}}, schema)


def test_the_decorator_overrides_and_keeps_the_function_callable() -> None:
    @llmplex.tool(name="weather_now", description="Weather, now.", strict=True)
    def weather(city: str, unit: str = "c") -> str:
        """Ignored description."""
        return f"{city}:{unit}"

    assert isinstance(weather, llmplex.Tool)
    assert weather("Oslo") == "Oslo:c" and weather.__name__ == "weather"
    fn = weather.to_param()["function"]
    assert fn["name"] == "weather_now" and fn["description"] == "Weather, now." and fn["strict"] is True
    assert fn["parameters"]["required"] == ["city", "unit"]  # strict: all required, optional ones nullable
    assert fn["parameters"]["properties"]["unit"] == {"type": ["string", "null"]}
    assert fn["parameters"]["additionalProperties"] is False

    @tool
    def plain(x: int) -> int:
        return x

    assert plain.to_param()["function"]["name"] == "plain" and plain(2) == 2


def test_a_pydantic_model_is_a_tool() -> None:
    param = as_tool(Address).to_param()["function"]
    assert param["name"] == "Address" and param["description"] == "A postal address."
    assert param["parameters"]["required"] == ["street", "city"]
    assert as_tool(Address) is as_tool(Address)  # generated once

    class NoDoc(BaseModel):
        x: int

    assert "description" not in as_tool(NoDoc).to_param()["function"]  # not BaseModel's docstring


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda *args: None, "takes \\*args"),
        (lambda **kw: None, "takes \\*kw"),
    ],
)
def test_what_a_model_cannot_call_is_refused_clearly(fn: Any, message: str) -> None:
    with pytest.raises(llmplex.SchemaError, match=message):
        as_tool(fn)


def test_missing_hints_and_bad_names_and_objects() -> None:
    def untyped(city, days: int) -> None:  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(llmplex.SchemaError, match="parameter 'city' of tool 'untyped' has no type hint"):
        as_tool(untyped)
    with pytest.raises(llmplex.SchemaError, match="1-64 letters"):
        Tool("has space", "", {"type": "object", "properties": {}})
    with pytest.raises(llmplex.InvalidRequestError, match="not int"):
        as_tool(3)


def test_strict_dialect() -> None:
    schema = as_tool(get_weather).parameters
    strict = strict_schema(schema)
    assert strict["required"] == list(strict["properties"])
    assert strict["additionalProperties"] is False
    assert strict["$defs"]["Address"]["additionalProperties"] is False
    assert strict["$defs"]["Address"]["required"] == ["street", "city", "point"]
    assert "default" not in str(strict)
    # optional values accept null, required ones do not
    assert strict["properties"]["city"] == {"type": "string", "description": "The city, e.g. Paris."}
    assert {"type": "null"} in strict["properties"]["unit"]["anyOf"]
    jsonschema.validate({"city": "x", "unit": None, "days": None, "where": None, "scale": None, "count": None,
                         "window": None}, strict)
    assert schema == as_tool(get_weather).parameters  # the input is not changed

    def mapping(scores: dict[str, int]) -> None:
        pass

    with pytest.raises(llmplex.SchemaError, match=r"dict\[str, X\].*strict"):
        strict_schema(as_tool(mapping).parameters)


def test_gemini_dialect() -> None:
    gemini = openapi_schema(as_tool(get_weather).parameters)
    text = str(gemini)
    assert "$ref" not in text and "$defs" not in text and "anyOf" not in text
    props = gemini["properties"]
    assert props["days"] == {"type": "array", "items": {"type": "integer"}, "nullable": True}
    assert props["where"]["type"] == "object" and props["where"]["nullable"] is True
    assert props["where"]["properties"]["point"]["properties"]["lat"] == {"type": "number"}
    assert props["scale"]["enum"] == ["celsius", "fahrenheit"]

    class Node(BaseModel):
        children: list[Node]

    with pytest.raises(llmplex.SchemaError, match="'Node' contains itself"):
        openapi_schema(as_tool(Node).parameters)
    with pytest.raises(llmplex.SchemaError, match="only string enums"):
        openapi_schema({"type": "integer", "enum": [1, 2]})
    assert openapi_schema({"type": "string", "format": "uri"}) == {"type": "string"}
    assert openapi_schema({"const": "x"}) == {"enum": ["x"], "type": "string"}


def test_docstring_styles() -> None:
    sphinx = parse_docstring("Find.\n\n:param str query: what to find\n    more.\n:param limit: how many\n:returns: x")
    assert sphinx == ("Find.", {"query": "what to find more.", "limit": "how many"})
    numpy = parse_docstring("Sum.\n\nParameters\n----------\nx : int\n    First.\ny : float, optional\n"
                            "    Second.\n\nReturns\n-------\nint\n    The sum.\n")
    assert numpy == ("Sum.", {"x": "First.", "y": "Second."})
    assert parse_docstring(None) == ("", {})


_TYPES = st.sampled_from([
    (int, {"type": "integer"}, 3), (str, {"type": "string"}, "a"), (float, {"type": "number"}, 1.5),
    (bool, {"type": "boolean"}, True), (list[int], {"type": "array", "items": {"type": "integer"}}, [1]),
    (Literal["x", "y"], {"type": "string", "enum": ["x", "y"]}, "y"), (Point, None, {"lat": 1.0, "lon": 2.0}),
])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TYPES, st.booleans()), min_size=0, max_size=6))
def test_random_signatures_give_valid_schemas_in_every_dialect(spec: list[tuple[Any, bool]]) -> None:
    names = [f"p{i}" for i in range(len(spec))]
    ordered = sorted(zip(names, spec, strict=True), key=lambda item: item[1][1])  # required first
    annotations = {name: kind for name, ((kind, _, _), _) in ordered}

    def fn(*args: Any, **kwargs: Any) -> None:
        pass

    import inspect

    params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotations[name],
                                default=example if optional else inspect.Parameter.empty)
              for name, ((_, _, example), optional) in ordered]
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = annotations
    made = as_tool(fn)
    schema = made.parameters
    required = [name for name, (_, optional) in ordered if not optional]
    assert schema.get("required", []) == required
    for name, ((_, expected, _), _) in ordered:
        if expected is not None:
            assert {k: v for k, v in schema["properties"][name].items() if k not in ("default",)} == expected
    example = {name: ex for name, ((_, _, ex), _) in ordered}
    jsonschema.validate(example, schema)
    jsonschema.validate({name: example[name] for name in required}, schema)
    strict = strict_schema(schema)
    jsonschema.validate(example, strict)
    jsonschema.validate({name: (example[name] if name in required else None) for name in example}, strict)
    gemini = openapi_schema(schema)
    assert "$ref" not in str(gemini) and set(gemini.get("properties", {})) == set(names)
