"""Anthropic's Messages API through the same client calls, over loopback (sync|async)."""

from __future__ import annotations

import json

import pytest

import llmplex
from llmplex.testing import Emulator, Reply, ToolCall
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
