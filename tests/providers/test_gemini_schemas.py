"""Schemas reach Gemini in a form it accepts: its OpenAPI subset when the schema fits, full JSON
Schema (``*JsonSchema`` fields) when it does not — for tools and for response formats alike."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from llmplex._requests import CallSettings, ChatRequest
from llmplex.providers.gemini import GeminiAdapter
from llmplex.providers.native import GEMINI_SPEC
from llmplex.tools import as_tool

ADAPTER = GeminiAdapter(GEMINI_SPEC)
CFG = CallSettings(provider="gemini", base_url=GEMINI_SPEC.base_url)
USER = [{"role": "user", "content": "hi"}]


class Address(BaseModel):
    street: str
    city: str | None = None


class Person(BaseModel):
    name: str
    home: Address


class Node(BaseModel):
    value: int
    children: list[Node]


def _body(**params: Any) -> dict[str, Any]:
    sent = ADAPTER.build_chat_request(ChatRequest("gemini-2.5-flash", USER, params), CFG).body
    result: dict[str, Any] = json.loads(sent or b"")
    return result


def _format(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": model.model_json_schema()}}


def test_a_response_schema_in_the_openapi_subset() -> None:
    config = _body(response_format=_format(Person))["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert "$ref" not in json.dumps(schema)  # references inlined
    city = schema["properties"]["home"]["properties"]["city"]
    assert {k: v for k, v in city.items() if k != "title"} == {"type": "string", "nullable": True}
    assert "responseJsonSchema" not in config


def test_a_recursive_schema_goes_as_full_json_schema() -> None:
    config = _body(response_format=_format(Node))["generationConfig"]
    assert "responseSchema" not in config
    assert config["responseJsonSchema"]["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_tool_parameters_follow_the_same_rule() -> None:
    def save(person: Person, tags: dict[str, int]) -> None:
        """Save a person."""

    def lookup(person: Person) -> None:
        """Look a person up."""

    body = _body(tools=[as_tool(lookup).to_param(), as_tool(save).to_param()])
    first, second = body["tools"][0]["functionDeclarations"]
    assert first["parameters"]["properties"]["person"]["properties"]["home"]["type"] == "object"
    assert "parametersJsonSchema" not in first
    # dict[str, int] has no OpenAPI-subset form: the whole schema goes as JSON Schema
    assert second["parametersJsonSchema"]["properties"]["tags"]["additionalProperties"] == {"type": "integer"}
    assert "parameters" not in second
