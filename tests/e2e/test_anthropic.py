"""Anthropic's Messages API through the same client calls, over loopback (sync|async)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]


@pytest.fixture
def anthropic(mode: str, emu: Emulator) -> Api:
    api = Api(mode, providers={"anthropic": {"api_key": "sk-ant-test-123456", "base_url": emu.base_url}})
    yield api  # type: ignore[misc]
    api.close()


def test_chat_maps_both_ways(anthropic: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi!"))
    r = anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=USER, temperature=0.3, stop=["END"])
    assert r.choices[0].message.content == "Hi!"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    sent = emu.last_request
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test-123456"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    body = sent.json()
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "hello there"}]
    assert body["max_tokens"] == 16384 and body["stop_sequences"] == ["END"] and body["temperature"] == 0.3


@pytest.mark.parametrize(
    "reply",
    [
        Reply("one two three four"),
        Reply("Let me check.", tool_calls=[ToolCall("get_weather", {"city": "Paris", "days": [1, 2]})]),
        Reply("Forty-two.", reasoning="Six times seven is forty-two."),
    ],
    ids=["text", "tools", "thinking"],
)
def test_stream_accumulates_to_the_non_streamed_reply(anthropic: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=USER)
    _, streamed = anthropic.stream(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert [c.model_dump() for c in streamed.choices] == [c.model_dump() for c in whole.choices]
    assert streamed.usage == whole.usage
    if reply.tool_calls:
        args = json.loads(streamed.choices[0].message.tool_calls[0].function.arguments)
        assert args == {"city": "Paris", "days": [1, 2]}
        assert streamed.choices[0].finish_reason == "tool_calls"
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == reply.reasoning


def test_errors_are_typed(anthropic: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(529, "Overloaded"))
    with pytest.raises(llmplex.OverloadedError):
        anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=USER, max_retries=0)
    emu.enqueue(Reply.error(401, "invalid x-api-key"))
    with pytest.raises(llmplex.AuthenticationError):
        anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=USER)
    emu.enqueue(Reply.stream_error(2, "Overloaded", type="overloaded_error"))
    chunks, error = anthropic.stream_until_error(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert isinstance(error, llmplex.OverloadedError)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 2


def test_provider_options_reach_the_wire(mode: str, emu: Emulator) -> None:
    settings = {"api_key": "sk-ant-test-123456", "base_url": emu.base_url,
                "anthropic_beta": ["files-api-2025-04-14"], "cache_control": "auto", "cache_ttl": "1h"}
    api = Api(mode, providers={"anthropic": settings})
    try:
        emu.enqueue(Reply("Hi!"))
        r = api.chat(model="anthropic/claude-sonnet-4-5", messages=USER,
                     extra_headers={"anthropic-beta": "context-1m-2025-08-07"})
        assert r.choices[0].message.content == "Hi!"
        sent = emu.last_request
        assert sent.headers["anthropic-beta"] == "files-api-2025-04-14,context-1m-2025-08-07"
        marker = {"type": "ephemeral", "ttl": "1h"}
        body = sent.json()
        assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": marker}]
        assert body["messages"] == [{"role": "user", "content": [
            {"type": "text", "text": "hello there", "cache_control": marker}]}]
    finally:
        api.close()


def test_documents_with_citations_enabled(anthropic: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("It says hello."))
    pdf = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0xLjQK", "filename": "a.pdf"},
           "citations": {"enabled": True}}
    question = {"type": "text", "text": "What does it say?"}
    r = anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": [pdf, question]}])
    assert r.choices[0].message.content == "It says hello."
    assert emu.last_request.json()["messages"][0]["content"][0] == {
        "type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"},
        "title": "a.pdf", "citations": {"enabled": True}}


_SEARCH = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "grass colour"}}
_RESULTS = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
    {"type": "web_search_result", "url": "https://g.example", "title": "Grass", "encrypted_content": "EnC"}]}
_CITATION = {"type": "web_search_result_location", "url": "https://g.example", "title": "Grass",
             "encrypted_index": "Ei", "cited_text": "grass is green"}
_MESSAGE = {
    "id": "msg_search", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 50, "output_tokens": 9, "cache_read_input_tokens": 0,
              "cache_creation_input_tokens": 0},
    "content": [{"type": "text", "text": "Searching."}, _SEARCH, _RESULTS,
                {"type": "text", "text": " Grass is green.", "citations": [_CITATION]}],
}


def _sse(message: dict[str, Any]) -> bytes:
    """The message as Anthropic streams it: server tool input as input_json_delta, citations as
    citations_delta before the text."""
    def event(payload: dict[str, Any]) -> str:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

    out = [event({"type": "message_start", "message": {**message, "content": [], "stop_reason": None}})]
    for i, block in enumerate(message["content"]):
        deltas: list[dict[str, Any]] = []
        start = dict(block)
        if block["type"] == "text":
            start = {"type": "text", "text": "", **({"citations": []} if "citations" in block else {})}
            deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations", [])]
            deltas.append({"type": "text_delta", "text": block["text"]})
        elif block["type"] == "server_tool_use":
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        out.append(event({"type": "content_block_start", "index": i, "content_block": start}))
        out += [event({"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
        out.append(event({"type": "content_block_stop", "index": i}))
    out.append(event({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"]},
                      "usage": message["usage"]}))
    out.append(event({"type": "message_stop"}))
    return "".join(out).encode()


def test_server_tools_and_citations_streamed_and_not(anthropic: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(body=_MESSAGE), Reply(body=_sse(_MESSAGE), headers={"content-type": "text/event-stream"}))
    whole = anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=USER)
    chunks, streamed = anthropic.stream(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert streamed.model_dump() == whole.model_dump()
    message = whole.choices[0].message
    assert message.content == "Searching. Grass is green."
    assert message.tool_calls is None and whole.choices[0].finish_reason == "stop"
    assert message.server_tool_blocks == [_SEARCH, _RESULTS]
    assert message.citations == [{"start_index": 10, "end_index": 26, "citation": _CITATION}]
    assert message.annotations == [{"type": "url_citation", "url_citation": {
        "url": "https://g.example", "title": "Grass", "start_index": 10, "end_index": 26}}]
    streamed_annotations = [a for c in chunks if c.choices for a in getattr(c.choices[0].delta, "annotations", [])]
    assert streamed_annotations == message.annotations
    # the next turn sends the search and the cited text back
    emu.enqueue(Reply("Yes."))
    anthropic.chat(model="anthropic/claude-sonnet-4-5", messages=[*USER, message, {"role": "user", "content": "Sure?"}])
    assert emu.last_request.json()["messages"][1]["content"] == [
        _SEARCH, _RESULTS, {"type": "text", "text": "Searching."},
        {"type": "text", "text": " Grass is green.", "citations": [_CITATION]}]


def test_a_stream_cut_short_is_an_error(anthropic: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four five", fault=Fault(reset_after_chunks=4)))
    chunks, error = anthropic.stream_until_error(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert isinstance(error, llmplex.APIConnectionError)  # StreamInterruptedError is one of them
    # four events got through: message_start, content_block_start, ping, the first text delta
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one"
    emu.enqueue(Reply("one two", fault=Fault(omit_done=True)))
    chunks, error = anthropic.stream_until_error(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)  # no message_stop: never a quiet end
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two"
