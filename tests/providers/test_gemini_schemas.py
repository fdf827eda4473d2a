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


def _call(call_id: str, city: str) -> dict[str, Any]:
    arguments = json.dumps({"city": city})
    return {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}


def test_gemini_3_gets_the_placeholder_signature_for_calls_it_did_not_make() -> None:
    history = [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"role": "assistant", "tool_calls": [  # written by another provider: no thought signature
            _call("toolu_1", "Paris"), _call("toolu_2", "Oslo")]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"},
        {"role": "assistant", "content": "Sunny, then rain.", "tool_calls": [
            _call("toolu_3", "Rome")],
         "thought_signatures": [{"tool_call_id": "toolu_3", "signature": "REAL"}]},
        {"role": "tool", "tool_call_id": "toolu_3", "content": "warm"},
    ]

    def model_turns(model: str) -> list[list[dict[str, Any]]]:
        sent = ADAPTER.build_chat_request(ChatRequest(model, history, {}), CFG).body
        return [t["parts"] for t in json.loads(sent or b"")["contents"] if t["role"] == "model"]

    first, second = model_turns("gemini-3-pro-preview")
    assert [p.get("thoughtSignature") for p in first] == ["skip_thought_signature_validator", None]  # first call only
    assert [p.get("thoughtSignature") for p in second if "functionCall" in p] == ["REAL"]  # never replaced
    assert all("thoughtSignature" not in p for turn in model_turns("gemini-2.5-flash")[:1] for p in turn)
