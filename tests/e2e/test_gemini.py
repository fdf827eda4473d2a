"""Gemini (and Vertex AI) through the same client calls, over loopback (sync|async)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

KEY = "AIza-test-key-1234567890"
MODEL = "gemini/gemini-2.5-flash"
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
         "awAAAABJRU5ErkJggg==")


@pytest.fixture
def gemini(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"gemini": {"api_key": KEY, "base_url": emu.base_url}})
    yield api
    api.close()


def test_chat_maps_both_ways(gemini: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi!"))
    r = gemini.chat(model=MODEL, messages=USER, temperature=0.3, top_p=0.9, stop="END", max_tokens=50, seed=7)
    assert r.choices[0].message.content == "Hi!"
    assert r.choices[0].finish_reason == "stop" and r.choices[0].native_finish_reason == "STOP"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0
    sent = emu.last_request
    assert sent.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert KEY not in sent.target and "key=" not in sent.target  # the key is a header, never in the URL
    body = sent.json()
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hello there"}]}]
    assert body["generationConfig"] == {"temperature": 0.3, "topP": 0.9, "stopSequences": ["END"],
                                        "maxOutputTokens": 50, "seed": 7}


def test_models_prefix_and_key_header_on_streams(gemini: Api, emu: Emulator) -> None:
    chunks, final = gemini.stream(model="gemini/models/gemini-2.5-flash", messages=USER)
    assert final.choices[0].message.content == "Echo: hello there"
    sent = emu.last_request
    assert sent.path == "/v1/models/gemini-2.5-flash:streamGenerateContent"
    assert sent.query == {"alt": "sse"} and sent.headers["x-goog-api-key"] == KEY and KEY not in sent.target
    assert chunks[0].choices[0].delta.role == "assistant"


@pytest.mark.parametrize(
    "reply",
    [
        Reply("one two three four"),
        Reply("Let me check.", tool_calls=[ToolCall("get_weather", {"city": "Paris", "days": [1, 2]})]),
        Reply("Forty-two.", reasoning="Six times seven is forty-two."),
        Reply(reasoning="I need the weather.", tool_calls=[ToolCall("get_weather", {"city": "Oslo"}),
                                                            ToolCall("get_weather", {"city": "Rome"})]),
    ],
    ids=["text", "tools", "thinking", "thinking-parallel-tools"],
)
def test_stream_accumulates_to_the_non_streamed_reply(gemini: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = gemini.chat(model=MODEL, messages=USER)
    _, streamed = gemini.stream(model=MODEL, messages=USER)
    assert _without_ids(streamed) == _without_ids(whole)  # two responses: each has its own call ids
    assert streamed.usage == whole.usage
    if reply.tool_calls:
        assert streamed.choices[0].finish_reason == "tool_calls"
        calls = streamed.choices[0].message.tool_calls
        assert [json.loads(c.function.arguments) for c in calls] == [c.arguments for c in reply.tool_calls]
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == reply.reasoning
        assert streamed.usage.completion_tokens_details.reasoning_tokens == len(reply.reasoning.split())


def _without_ids(result: Any) -> list[Any]:
    dumped = [c.model_dump() for c in result.choices]
    ids = {call["id"]: f"id{i}" for c in dumped for i, call in enumerate(c["message"]["tool_calls"] or [])}
    return list(json.loads(_replace(json.dumps(dumped), ids)))


def _replace(text: str, ids: dict[str, str]) -> str:
    for old, new in ids.items():
        text = text.replace(old, new)
    return text


def test_json_array_stream_is_decoded(gemini: Api, emu: Emulator) -> None:
    """The API streams a JSON array when alt=sse is missing: the content type picks the framing."""
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "index": 0}],
               "responseId": "r1", "modelVersion": "gemini-2.5-flash"} for t in ("Hel", "lo")]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
    body = "[" + ",\r\n".join(json.dumps(c, indent=2) for c in chunks) + "]"
    emu.enqueue(Reply(body=body, headers={"content-type": "application/json; charset=UTF-8"}))
    got, final = gemini.stream(model=MODEL, messages=USER)
    assert [c.choices[0].delta.content for c in got if c.choices and c.choices[0].delta.content] == ["Hel", "lo"]
    assert final.choices[0].message.content == "Hello" and final.usage.total_tokens == 5


def test_tool_round_trip_keeps_names_ids_and_thought_signatures(gemini: Api, emu: Emulator) -> None:
    calling = Reply(reasoning="Weather first.", tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    emu.enqueue(calling, calling)
    first = gemini.chat(model=MODEL, messages=USER, tools=[WEATHER], tool_choice="required")
    message = first.choices[0].message
    (call,) = message.tool_calls
    assert call.id.startswith("call_gemini_") and call.function.name == "get_weather"
    signature = message.thought_signatures[0]
    assert signature["tool_call_id"] == call.id
    sent = emu.last_request.json()
    assert sent["tools"] == [{"functionDeclarations": [{"name": "get_weather", "description": "Weather for a city",
                                                        "parameters": WEATHER["function"]["parameters"]}]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    again = gemini.chat(model=MODEL, messages=USER, tools=[WEATHER], tool_choice="required")
    assert again.choices[0].message.tool_calls[0].id != call.id  # another response, another id

    history = [*USER, message, {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"}]
    emu.enqueue(Reply("It is sunny."))
    final = gemini.chat(model=MODEL, messages=history, tools=[WEATHER])
    assert final.choices[0].message.content == "It is sunny."
    contents = emu.last_request.json()["contents"]
    assert contents[1] == {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
         "thoughtSignature": signature["signature"]}]}
    assert contents[2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"output": "Sunny, 21C"}}}]}


def test_ids_the_api_sends_are_kept_and_sent_back(gemini: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="fc_123")]), Reply("ok"))
    _, streamed = gemini.stream(model=MODEL, messages=USER, tools=[WEATHER])
    call = streamed.choices[0].message.tool_calls[0]
    assert call.id == "fc_123"
    gemini.chat(model=MODEL, messages=[*USER, streamed.choices[0].message,
                                       {"role": "tool", "tool_call_id": "fc_123", "content": '{"temp": 3}'}])
    contents = emu.last_request.json()["contents"]
    assert contents[1]["parts"][0]["functionCall"]["id"] == "fc_123"
    assert contents[2]["parts"][0]["functionResponse"] == {"name": "get_weather", "response": {"temp": 3},
                                                           "id": "fc_123"}


def test_vision_data_urls_become_inline_data(gemini: Api, emu: Emulator) -> None:
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PIXEL}},
               {"type": "image_url", "image_url": {"url": "gs://bucket/cat.png"}}]
    gemini.chat(model=MODEL, messages=[{"role": "user", "content": content}])
    parts = emu.last_request.json()["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PIXEL.split(",", 1)[1]}}
    assert parts[2] == {"fileData": {"fileUri": "gs://bucket/cat.png", "mimeType": "image/png"}}


def test_reasoning_effort_and_options(mode: str, emu: Emulator) -> None:
    settings = {"api_key": KEY, "base_url": emu.base_url, "include_thoughts": True,
                "safety_settings": {"HARM_CATEGORY_HARASSMENT": "BLOCK_NONE"}}
    api = Api(mode, providers={"gemini": settings})
    emu.enqueue(Reply("42", reasoning="Thinking hard."))
    r = api.chat(model=MODEL, messages=USER, reasoning_effort="low", response_format={"type": "json_object"},
                 extra_body={"generationConfig": {"topK": 5}})
    assert r.choices[0].message.reasoning_content == "Thinking hard."
    body = emu.last_request.json()
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    assert body["generationConfig"] == {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
                                        "responseMimeType": "application/json", "topK": 5}
    api.chat(model="gemini/gemini-3-pro-preview", messages=USER, reasoning_effort="high")
    assert emu.last_request.json()["generationConfig"]["thinkingConfig"] == {"includeThoughts": True,
                                                                            "thinkingLevel": "high"}
    with pytest.raises(llmplex.UnsupportedParameterError):
        api.chat(model=MODEL, messages=USER, logit_bias={"1": 2})
    api.close()


def test_errors_are_typed(gemini: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(429, "Resource exhausted.", headers={"retry-after": "7"}))
    with pytest.raises(llmplex.RateLimitError) as info:
        gemini.chat(model=MODEL, messages=USER, max_retries=0)
    assert info.value.retry_after == 7.0 and info.value.code == "RESOURCE_EXHAUSTED"
    emu.enqueue(Reply.error(503, "The model is overloaded. Please try again later."))
    with pytest.raises(llmplex.ServiceUnavailableError):
        gemini.chat(model=MODEL, messages=USER, max_retries=0)
    emu.enqueue(Reply.error(404, "models/nope is not found"))
    with pytest.raises(llmplex.NotFoundError):
        gemini.chat(model="gemini/nope", messages=USER)
    emu.require_api_key("the-right-key")
    with pytest.raises(llmplex.AuthenticationError) as auth:
        gemini.chat(model=MODEL, messages=USER)
    assert auth.value.status_code == 400 and auth.value.type == "API_KEY_INVALID"  # Google's real answer


def test_blocks_and_failed_calls_are_never_a_plain_stop(gemini: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(refusal="blocked"))
    with pytest.raises(llmplex.ContentFilterError):
        gemini.chat(model=MODEL, messages=USER)
    emu.enqueue(Reply("", finish_reason="MALFORMED_FUNCTION_CALL"))
    with pytest.raises(llmplex.InvalidResponseError, match="MALFORMED_FUNCTION_CALL"):
        gemini.chat(model=MODEL, messages=USER)
    emu.enqueue(Reply("Once upon", finish_reason="RECITATION"))
    r = gemini.chat(model=MODEL, messages=USER)
    assert (r.choices[0].finish_reason, r.choices[0].native_finish_reason) == ("content_filter", "RECITATION")


def test_in_stream_error_after_deltas(gemini: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "Internal error encountered.", text="one two three four"))
    chunks, error = gemini.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.InternalServerError)
    assert [c.choices[0].delta.content for c in chunks] == ["one", " two"]


@pytest.mark.parametrize("fault", [Fault(reset_after_chunks=2), Fault(omit_done=True)], ids=["reset", "no-finish"])
def test_a_cut_stream_raises(gemini: Api, emu: Emulator, fault: Fault) -> None:
    emu.enqueue(Reply("one two three four", fault=fault))
    chunks, error = gemini.stream_until_error(model=MODEL, messages=USER, max_retries=0)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert len(chunks) >= 1


def test_embeddings(gemini: Api, emu: Emulator) -> None:
    one = gemini.embed(model="gemini/gemini-embedding-001", input="hello", dimensions=4)
    assert len(one.data) == 1 and len(one.data[0].embedding) == 4
    assert emu.last_request.path.endswith("/models/gemini-embedding-001:embedContent")
    assert emu.last_request.json() == {"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 4}
    many = gemini.embed(model="gemini/gemini-embedding-001", input=["a", "b", "hello"])
    assert [d.index for d in many.data] == [0, 1, 2] and many.data[2].embedding[:4] != one.data[0].embedding
    assert emu.last_request.path.endswith(":batchEmbedContents")
    assert [r["model"] for r in emu.last_request.json()["requests"]] == ["models/gemini-embedding-001"] * 3


@pytest.fixture
def vertex(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"vertex_ai": {"api_key": "ya29.token", "base_url": emu.base_url,
                                             "project": "my-proj", "location": "europe-west4"}})
    yield api
    api.close()


def test_vertex_ai_urls_and_bearer_token(vertex: Api, emu: Emulator) -> None:
    r = vertex.chat(model="vertex_ai/gemini-2.5-flash", messages=USER)
    assert r.choices[0].message.content == "Echo: hello there"
    sent = emu.last_request
    assert sent.path == ("/v1/projects/my-proj/locations/europe-west4/publishers/google/models/"
                         "gemini-2.5-flash:generateContent")
    assert sent.headers["authorization"] == "Bearer ya29.token" and "x-goog-api-key" not in sent.headers
    _, streamed = vertex.stream(model="vertex_ai/gemini-2.5-flash", messages=USER)
    assert streamed.choices[0].message.content == "Echo: hello there"
    vectors = vertex.embed(model="vertex_ai/gemini-embedding-001", input=["a", "b"], dimensions=3)
    assert [len(d.embedding) for d in vectors.data] == [3, 3]
    assert emu.last_request.path.endswith("/models/gemini-embedding-001:predict")


def test_vertex_ai_without_project_or_token_explains(mode: str, emu: Emulator, monkeypatch: Any) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("VERTEXAI_PROJECT", raising=False)
    api = Api(mode, providers={"vertex_ai": {"api_key": "ya29.token", "base_url": emu.base_url}})
    with pytest.raises(llmplex.ConfigurationError, match="project"):
        api.chat(model="vertex_ai/gemini-2.5-flash", messages=USER)
    api.close()
