"""Cohere's v2 API through the same client calls, over loopback (sync|async)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import llmplex
from llmplex.providers.cohere import CohereCitation
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

KEY = "co-test-key-1234567890"
MODEL = "cohere/command-a-03-2025"
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture
def cohere(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"cohere": {"api_key": KEY, "base_url": emu.base_url, "client_name": "e2e"}})
    yield api
    api.close()


def test_chat_maps_both_ways(cohere: Api, emu: Emulator) -> None:
    emu.require_api_key(KEY)
    emu.enqueue(Reply("Hi!"))
    r = cohere.chat(model=MODEL, messages=USER, temperature=0.3, top_p=0.9, stop="END", max_tokens=50, seed=3)
    assert r.choices[0].message.content == "Hi!"
    assert r.choices[0].finish_reason == "stop" and r.choices[0].native_finish_reason == "COMPLETE"
    assert r.model == "command-a-03-2025"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.billed_units == {"input_tokens": 4, "output_tokens": 1}
    sent = emu.last_request
    assert sent.path == "/v2/chat"
    assert sent.headers["authorization"] == f"Bearer {KEY}" and sent.headers["x-client-name"] == "e2e"
    body = sent.json()
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
    assert (body["temperature"], body["p"], body["stop_sequences"], body["max_tokens"], body["seed"]) == (
        0.3, 0.9, ["END"], 50, 3)
    assert body["stream"] is False


@pytest.mark.parametrize(
    "reply",
    [
        Reply("one two three four"),
        Reply("I will look it up.", tool_calls=[ToolCall("get_weather", {"city": "Paris", "days": [1, 2]}),
                                                ToolCall("get_time", {})]),
        Reply("Forty-two.", reasoning="Six times seven is forty-two."),
    ],
    ids=["text", "tools", "thinking"],
)
def test_stream_accumulates_to_the_non_streamed_reply(cohere: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = cohere.chat(model=MODEL, messages=USER, tools=[WEATHER])
    chunks, streamed = cohere.stream(model=MODEL, messages=USER, tools=[WEATHER])
    assert [c.model_dump() for c in streamed.choices] == [c.model_dump() for c in whole.choices]
    assert streamed.usage == whole.usage
    assert emu.last_request.json()["stream"] is True
    if reply.tool_calls:
        calls = streamed.choices[0].message.tool_calls
        assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris", "days": [1, 2]}, {}]
        assert streamed.choices[0].finish_reason == "tool_calls"
        assert streamed.choices[0].message.tool_plan == "I will look it up."
        assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) > 2  # argument pieces
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == reply.reasoning


def test_tool_round_trip_sends_the_plan_and_results_back(cohere: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("I will check.", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]), Reply("Sunny."))
    messages: list[object] = [{"role": "user", "content": "Weather in Paris?"}]
    first = cohere.chat(model=MODEL, messages=messages, tools=[WEATHER], tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    assert emu.last_request.json()["tool_choice"] == "REQUIRED"
    messages += [first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "22C"}]
    second = cohere.chat(model=MODEL, messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == "Sunny."
    assistant, tool = emu.last_request.json()["messages"][1:]
    assert assistant == {"role": "assistant", "tool_plan": "I will check.", "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
    assert tool == {"role": "tool", "tool_call_id": call.id, "content": "22C"}
    with pytest.raises(llmplex.UnsupportedParameterError):
        cohere.chat(model=MODEL, messages=messages, tools=[WEATHER],
                    tool_choice={"type": "function", "function": {"name": "get_weather"}})


def test_vision_and_reasoning(cohere: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("A cat.", reasoning="Whiskers, so a cat."), Reply("Yes."))
    image = "data:image/png;base64,iVBORw0KGgo="
    messages: list[object] = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]
    r = cohere.chat(model="cohere/command-a-vision-07-2025", messages=messages, reasoning_effort="medium")
    assert r.choices[0].message.reasoning_content == "Whiskers, so a cat."
    body = emu.last_request.json()
    assert body["thinking"] == {"type": "enabled", "token_budget": 16384}
    assert body["messages"][0]["content"][1:] == [
        {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    cohere.chat(model=MODEL, messages=[*messages, r.choices[0].message, {"role": "user", "content": "Sure?"}])
    assert emu.last_request.json()["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Whiskers, so a cat."}, {"type": "text", "text": "A cat."}]


def test_documents_come_back_as_citations(cohere: Api, emu: Emulator) -> None:
    cite = {"start": 0, "end": 5, "text": "Paris", "type": "TEXT_CONTENT",
            "sources": [{"type": "document", "id": "doc:0", "document": {"id": "doc:0", "text": "Paris is..."}}]}
    body = {"id": "r1", "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "Paris."}], "citations": [cite]},
            "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}}}
    events = [
        {"type": "message-start", "id": "r2"},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Paris."}}}},
        {"type": "citation-start", "index": 0, "delta": {"message": {"citations": cite}}},
        {"type": "citation-end", "index": 0},
        {"type": "content-end", "index": 0},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE",
                                          "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}}}},
    ]
    sse = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    emu.enqueue(Reply(body=body), Reply(body=sse, headers={"content-type": "text/event-stream"}))
    docs = {"documents": [{"id": "doc:0", "data": {"text": "Paris is the capital of France."}}]}
    r = cohere.chat(model=MODEL, messages=USER, extra_body=docs)
    assert emu.last_request.json()["documents"] == docs["documents"]
    (citation,) = r.choices[0].message.citations
    assert isinstance(citation, CohereCitation) and citation.text == "Paris"
    assert citation.sources[0]["document"]["id"] == "doc:0"
    chunks, streamed = cohere.stream(model=MODEL, messages=USER, extra_body=docs)
    assert [c.text for c in streamed.choices[0].message.citations] == ["Paris"]
    streamed_cites = [cite for c in chunks for cite in (c.choices[0].delta.model_extra or {}).get("citations", [])]
    assert [c.end for c in streamed_cites] == [5]
    assert streamed.choices[0].message.content == "Paris."


def test_embeddings(cohere: Api, emu: Emulator) -> None:
    r = cohere.embed(model="cohere/embed-v4.0", input=["alpha", "beta gamma"], dimensions=16)
    assert [len(d.embedding) for d in r.data] == [16, 16] and [d.index for d in r.data] == [0, 1]
    assert r.usage.prompt_tokens == 3
    body = emu.last_request.json()
    assert emu.last_request.path == "/v2/embed"
    assert body == {"model": "embed-v4.0", "texts": ["alpha", "beta gamma"], "input_type": "search_document",
                    "output_dimension": 16, "embedding_types": ["float"]}
    as_b64 = cohere.embed(model="cohere/embed-v4.0", input="alpha", dimensions=16, encoding_format="base64",
                          extra_body={"input_type": "search_query"})
    assert as_b64.data[0].embedding == pytest.approx(r.data[0].embedding)
    assert emu.last_request.json()["input_type"] == "search_query"


def test_errors_are_typed(cohere: Api, emu: Emulator) -> None:
    emu.require_api_key("another-key-0000")
    with pytest.raises(llmplex.AuthenticationError) as auth:
        cohere.chat(model=MODEL, messages=USER)
    assert auth.value.message == "invalid api token" and auth.value.request_id
    emu.require_api_key(None)
    emu.enqueue(Reply.error(429, "You are using a Trial key", headers={"retry-after": "7"}))
    with pytest.raises(llmplex.RateLimitError) as limited:
        cohere.chat(model=MODEL, messages=USER, max_retries=0)
    assert limited.value.retry_after == 7
    emu.enqueue(Reply.error(503, "service unavailable"))
    with pytest.raises(llmplex.ServiceUnavailableError):
        cohere.chat(model=MODEL, messages=USER, max_retries=0)
    with pytest.raises(llmplex.UnsupportedParameterError):
        cohere.chat(model=MODEL, messages=USER, n=2)
    emu.enqueue(Reply.stream_error(2, "generation failed", text="one two three four"))
    chunks, error = cohere.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.InternalServerError) and error.code == "ERROR"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two"


def test_a_cut_stream_is_interrupted(cohere: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("one two three", fault=Fault(omit_done=True)))
    chunks, error = cohere.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    emu.enqueue(Reply("split across writes", fault=Fault(delay_between_chunks=0.01, sse_comments=2,
                                                         line_ending="\r\n")))
    _, streamed = cohere.stream(model=MODEL, messages=USER)
    assert streamed.choices[0].message.content == "split across writes"
