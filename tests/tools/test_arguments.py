"""Tool-call arguments: JSON text in, validated Python values out (pure: no sockets)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import pickle
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import llmplex
from llmplex.tools import parse_arguments, tool_content
from llmplex.tools._arguments import bind_tools
from llmplex.tools._run import ToolLoop
from llmplex.types.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    Function,
)


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Route(BaseModel):
    """A route between two points."""

    start: Point
    end: Point
    name: str | None = None


def plan(route: Route, stops: list[Point], speed: float = 1.0, mode: Literal["walk", "ride"] = "walk",
         note: str | None = "none") -> str:
    """Plan a trip."""
    return f"{route.name}: {len(stops)} stops at {speed} ({mode})"


PLAN = llmplex.Tool.from_function(plan)
ROUTE = {"start": {"x": 0, "y": 0}, "end": {"x": 3, "y": 4}}


def _parse(arguments: Any, tool: llmplex.Tool | None = PLAN) -> Any:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return parse_arguments(raw, tool, tool_name="plan", call_id="call_1")


def test_a_function_tool_gives_its_keyword_arguments_with_nested_types_built() -> None:
    args = _parse({"route": {**ROUTE, "name": "home"}, "stops": [{"x": 1, "y": 1}]})
    assert args == {"route": Route(start=Point(0, 0), end=Point(3, 4), name="home"), "stops": [Point(1, 1)]}
    assert isinstance(args["route"], Route) and isinstance(args["stops"][0], Point)
    assert plan(**args) == "home: 1 stops at 1.0 (walk)"  # ready to call; the function's defaults apply


def test_lax_mode_accepts_what_pydantic_accepts() -> None:
    args = _parse({"route": ROUTE, "stops": [{"x": "1", "y": 2.0}], "speed": "2.5", "unexpected": True})
    assert args["stops"] == [Point(1, 2)] and args["speed"] == 2.5
    assert "unexpected" not in args  # keys the signature does not know are ignored


def test_null_for_an_optional_parameter_means_not_given() -> None:
    # OpenAI strict mode makes every property required and nullable: null is "not given".
    args = _parse({"route": ROUTE, "stops": [], "speed": None, "mode": None, "note": None})
    assert "speed" not in args and "mode" not in args
    assert args["note"] is None  # a parameter that takes None keeps the null


def test_arguments_encoded_twice_and_empty_arguments() -> None:
    assert _parse(json.dumps(json.dumps({"route": ROUTE, "stops": []})))["stops"] == []

    def now() -> str:
        return "noon"

    assert parse_arguments("", llmplex.Tool.from_function(now), tool_name="now") == {}


def test_invalid_arguments_raise_a_typed_error_with_the_raw_text() -> None:
    raw = json.dumps({"route": {"start": {"x": "far"}}, "stops": "none"})
    with pytest.raises(llmplex.ToolArgumentsError) as info:
        _parse(raw)
    error = info.value
    assert isinstance(error, llmplex.StructuredOutputError)
    assert error.raw == raw and error.tool_name == "plan" and error.call_id == "call_1"
    assert "route.start.x: Input should be a valid integer, unable to parse string as an integer" in error.errors
    assert "route.end: Field required" in error.errors
    assert "stops: Input should be a valid list" in error.errors


@pytest.mark.parametrize(("raw", "problem"), [
    ('{"route": ', "Expecting value"),
    ("[1, 2]", "expected an object, got list"),
    ('"Paris"', "expected an object, got str"),
])
def test_what_is_not_a_json_object_is_refused_with_or_without_a_tool(raw: str, problem: str) -> None:
    for tool in (PLAN, None):
        with pytest.raises(llmplex.ToolArgumentsError) as info:
            _parse(raw, tool)
        assert info.value.raw == raw
        assert problem in info.value.errors[0]


def test_without_a_tool_the_decoded_object_and_a_model_tool_gives_an_instance() -> None:
    assert _parse({"anything": [1, "2"]}, None) == {"anything": [1, "2"]}
    hand_made = llmplex.Tool("plan", "", {"type": "object", "properties": {}})
    assert _parse({"x": "1"}, hand_made) == {"x": "1"}
    route = parse_arguments(json.dumps(ROUTE), llmplex.Tool.from_model(Route), tool_name="Route")
    assert route == Route(start=Point(0, 0), end=Point(3, 4))


def _completion(*calls: tuple[str, str]) -> ChatCompletion:
    tool_calls = [ChatCompletionMessageToolCall(id=f"call_{i}", function=Function(name=name, arguments=arguments))
                  for i, (name, arguments) in enumerate(calls)]
    return ChatCompletion(choices=[Choice(message=ChatCompletionMessage(tool_calls=tool_calls),
                                          finish_reason="tool_calls")])


def test_a_tool_call_validates_against_the_tool_bound_to_it() -> None:
    completion = _completion(("plan", json.dumps({"route": ROUTE, "stops": [{"x": "1", "y": 1}]})),
                             ("other", '{"a": "1"}'))
    first, second = completion.choices[0].message.tool_calls or []
    assert first.parsed_arguments["stops"] == [{"x": "1", "y": 1}]  # unbound: decoded JSON only
    bind_tools(completion, {"plan": PLAN})
    assert first.parsed_arguments["stops"] == [Point(1, 1)]
    assert second.parsed_arguments == {"a": "1"}  # no tool of that name: decoded JSON
    # the binding is not data: it is not dumped and does not change equality
    assert "_tool" not in json.dumps(completion.model_dump())
    assert completion == _completion(*((c.function.name, c.function.arguments) for c in (first, second)))

    def local(a: int) -> int:  # a closure: not picklable
        return a

    bind_tools(completion, {"plan": llmplex.Tool.from_function(local, name="plan")})
    copy = pickle.loads(pickle.dumps(completion))  # the binding stays behind
    assert copy == completion
    assert (copy.choices[0].message.tool_calls or [])[0].parsed_arguments["stops"] == [{"x": "1", "y": 1}]


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(("value", "content"), [
    ("sunny", "sunny"),
    (21, "21"),
    (None, "null"),
    ({"t": 21.5, "ok": True}, '{"t":21.5,"ok":true}'),
    (Route(start=Point(0, 0), end=Point(1, 1)), '{"start":{"x":0,"y":0},"end":{"x":1,"y":1},"name":null}'),
    ([Point(1, 2)], '[{"x":1,"y":2}]'),
    ({"when": datetime.date(2025, 1, 2), "colour": Colour.RED}, '{"when":"2025-01-02","colour":"red"}'),
])
def test_tool_results_become_text_or_json(value: Any, content: str) -> None:
    assert tool_content(value) == content


def _loop(**params: Any) -> ToolLoop:
    defaults: dict[str, Any] = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                "tools": [plan]}
    options = {k: params.pop(k) for k in ("max_turns", "on_tool_error", "is_async") if k in params}
    return ToolLoop({**defaults, **params}, **{"max_turns": 10, "on_tool_error": "return", "is_async": False,
                                               **options})


async def _async_tool(city: str) -> str:
    return city


@pytest.mark.parametrize(("params", "message"), [
    ({"tools": []}, r"run_tools needs tools=\[...\]"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "not tool dicts"),
    ({"tools": [Route]}, "has no Python function"),
    ({"tools": [_async_tool]}, "is an async function: run it with AsyncClient"),
    ({"stream": True}, "use run_tools_stream"),
    ({"max_turns": 0}, "max_turns must be a positive int"),
    ({"on_tool_error": "ignore"}, "on_tool_error must be 'return' or 'raise'"),
    ({"messages": None}, "run_tools needs messages="),
])
def test_run_tools_refuses_what_it_cannot_run(params: dict[str, Any], message: str) -> None:
    with pytest.raises(llmplex.InvalidRequestError, match=message):
        _loop(**params)
    _loop(tools=[_async_tool], is_async=True)  # the async loop takes async tools
