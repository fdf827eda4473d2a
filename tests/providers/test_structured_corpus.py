"""Recorded exchanges with tools or a structured-output schema, every protocol: what llmplex
parses out of the recorded response validates against the schema recorded in the request.

Tool-call arguments are checked against the recorded tool's parameter schema, a structured reply
against the recorded response schema (through llmplex's own ``OutputFormat``, as ``parse()`` does).
This is issue 4's "against the corpus recordings that contain tools, structured output or parallel
tool calls": the unified objects are exact enough to validate, on real traffic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from llmplex._http import HttpResponse
from llmplex._requests import ChatRequest
from llmplex.errors import APIStatusError
from llmplex.registry import Registry, builtin_specs
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.structured import output_format
from llmplex.types.chat import ChatCompletion

from . import corpus

# protocol -> (provider whose adapter parses it, stream framing)
PROTOCOLS: dict[str, tuple[str, Any]] = {
    "openai-chat": ("openai", "sse"),
    "mistral-native": ("mistral", "sse"),
    "huggingface": ("huggingface", "sse"),
    "anthropic-messages": ("anthropic", "sse"),
    "gemini-generatecontent": ("gemini", "sse-or-json-array"),
    "ollama": ("ollama", "ndjson"),
    "cohere-chat": ("cohere", "sse"),
    "bedrock-converse": ("bedrock", "aws-eventstream"),
}


# -- what the recorded request asked for, per protocol ---------------------------------------------


def _openai_tools(body: dict[str, Any]) -> dict[str, Any]:
    return {t["function"]["name"]: t["function"].get("parameters") or {} for t in body.get("tools") or []
            if t.get("type", "function") == "function" and "function" in t}


def _openai_schema(body: dict[str, Any]) -> Any:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt["json_schema"].get("schema")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and "json_schema" in fmt:  # Cohere v2
        return fmt["json_schema"]
    return None


def _anthropic_tools(body: dict[str, Any]) -> dict[str, Any]:
    return {t["name"]: t["input_schema"] for t in body.get("tools") or [] if "input_schema" in t}


def _anthropic_schema(body: dict[str, Any]) -> Any:
    fmt = body.get("output_format")
    return fmt.get("schema") if isinstance(fmt, dict) else None


def _gemini_tools(body: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for tool in body.get("tools") or []:
        for fn in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            found[fn["name"]] = _json_schema(fn.get("parametersJsonSchema") or fn.get("parameters") or {})
    return found


def _gemini_schema(body: dict[str, Any]) -> Any:
    config = body.get("generationConfig") or body.get("generation_config") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or config.get("response_schema")
    return _json_schema(schema) if schema else None


def _ollama_schema(body: dict[str, Any]) -> Any:
    return body["format"] if isinstance(body.get("format"), dict) else None


def _bedrock_tools(body: dict[str, Any]) -> dict[str, Any]:
    return {t["toolSpec"]["name"]: t["toolSpec"]["inputSchema"]["json"]
            for t in (body.get("toolConfig") or {}).get("tools") or [] if "toolSpec" in t}


def _none(body: dict[str, Any]) -> Any:
    return None


ASKED: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = {
    "openai-chat": (_openai_tools, _openai_schema),
    "mistral-native": (_openai_tools, _openai_schema),
    "huggingface": (_openai_tools, _openai_schema),
    "cohere-chat": (_openai_tools, _openai_schema),
    "ollama": (_openai_tools, _ollama_schema),
    "anthropic-messages": (_anthropic_tools, _anthropic_schema),
    "gemini-generatecontent": (_gemini_tools, _gemini_schema),
    "bedrock-converse": (_bedrock_tools, _none),
}


def _json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-subset spelling (``"type": "OBJECT"``, ``nullable``) as JSON Schema."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _json_schema(v) for k, v in schema.items() if k not in ("nullable", "propertyOrdering", "format")}
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].lower()
        if schema.get("nullable"):
            out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {k: _json_schema(v) for k, v in schema["properties"].items()}
    return out


def _cases() -> list[str]:
    def wanted(ex: corpus.Exchange) -> bool:
        body = ex.request_body
        if body is None or ex.kind not in ("json", "sse") or ex.protocol not in ASKED:
            return False
        tools, schema = ASKED[ex.protocol]
        return bool(tools(body)) or schema(body) is not None

    return [n for protocol in PROTOCOLS for n in corpus.names(protocol, where=wanted)]


def _binary_or_stream(ex: corpus.Exchange) -> bool:
    return ex.body_encoding == "base64" or ex.kind == "sse"


def _completion(ex: corpus.Exchange) -> ChatCompletion:
    provider, framing = PROTOCOLS[ex.protocol]
    registry = Registry()
    spec = builtin_specs()[provider]
    adapter = registry.adapter(registry.resolve(f"{provider}/m", None))
    model = str((ex.request_body or {}).get("model") or "m")
    if not _binary_or_stream(ex):
        result: ChatCompletion = adapter.parse_chat_response(HttpResponse(200, ex.headers, ex.body),
                                                             ChatRequest(model, [], {}))
        return result
    proc = StreamProcessor(framing, adapter.chat_stream_decoder(ChatRequest(model, [], {}, stream=True)),
                           ChatCompletionAccumulator(), provider=spec.name, model=model, secrets=[],
                           content_type=ex.content_type)
    data = ex.body if ex.body_encoding == "base64" else ex.sse_bytes()
    list(proc.feed(data))
    proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion()


CASES = _cases()


def test_the_corpus_has_such_exchanges_in_most_protocols() -> None:
    protocols = {corpus.load(n).protocol for n in CASES}
    assert len(CASES) >= 40 and len(protocols) >= 6, (len(CASES), protocols)


@pytest.mark.parametrize("name", CASES)
def test_what_we_parse_validates_against_the_recorded_schema(name: str) -> None:
    ex = corpus.load(name)
    body = ex.request_body
    assert body is not None
    tools_of, schema_of = ASKED[ex.protocol]
    tools, schema = tools_of(body), schema_of(body)
    try:
        completion = _completion(ex)
    except APIStatusError:  # the recorded stream carries an error event (typed, tested per protocol)
        assert b"error" in (ex.body if ex.body_encoding == "base64" else ex.sse_bytes()).lower()
        return
    checked = 0
    for choice in completion.choices:
        for call in choice.message.tool_calls or []:
            assert call.function.name in tools, f"the model called {call.function.name!r}, not a declared tool"
            arguments = json.loads(call.function.arguments)
            jsonschema.validate(arguments, _json_schema(tools[call.function.name]))
            checked += 1
        if schema is not None and choice.message.content and choice.finish_reason == "stop":
            fmt = output_format({"type": "json_schema", "json_schema": {"name": "recorded", "schema": schema}})
            assert fmt is not None
            fmt.parse(choice.message.content)  # raises StructuredOutputError if it does not fit
            checked += 1
    calls = sum(len(c.message.tool_calls or []) for c in completion.choices)
    assert checked >= calls  # every tool call was checked (plain-text answers to tool requests are fine)
