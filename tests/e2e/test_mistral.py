"""Mistral's own chat API through the client, over loopback (sync|async): the parts where it is not
plain OpenAI (thinking chunks, tool_choice "any", finish_reason "error")."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "What is 2+2?"}]
MODEL = "mistral/magistral-medium-latest"
THINKING = {
    "id": "a4e2", "object": "chat.completion", "created": 1, "model": "magistral-medium-latest",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Basic arithmetic."}]},
        {"type": "text", "text": "4"}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}


def _sse(*payloads: object) -> str:
    return "".join(f"data: {json.dumps(p)}\n\n" for p in payloads) + "data: [DONE]\n\n"


def _chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"id": "a4e2", "object": "chat.completion.chunk", "created": 1, "model": "magistral-medium-latest",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@pytest.fixture
def mistral(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"mistral": {"api_key": "mistral-test-key", "base_url": emu.base_url,
                                           "prompt_mode": "reasoning"}})
    yield api
    api.close()


def test_thinking_chunks_streamed_and_whole(mistral: Api, emu: Emulator) -> None:
    stream = _sse(_chunk({"role": "assistant", "content": [{"type": "thinking", "thinking": [
                      {"type": "text", "text": "Basic arithmetic."}]}]}),
                  _chunk({"content": [{"type": "text", "text": "4"}]}), _chunk({"content": ""}, "stop"))
    emu.enqueue(Reply(body=THINKING), Reply(body=stream, headers={"content-type": "text/event-stream"}))
    whole = mistral.chat(model=MODEL, messages=USER, tool_choice="required", tools=[
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
    sent = emu.last_request.json()
    assert sent["tool_choice"] == "any" and sent["prompt_mode"] == "reasoning"
    _, streamed = mistral.stream(model=MODEL, messages=USER)
    for result in (whole, streamed):
        message = result.choices[0].message
        assert (message.reasoning_content, message.content) == ("Basic arithmetic.", "4")
    mistral.chat(model=MODEL, messages=[*USER, whole.choices[0].message, {"role": "user", "content": "Sure?"}])
    assert emu.last_request.json()["messages"][1]["content"][0]["type"] == "thinking"


def test_finish_reason_error_raises_after_the_text(mistral: Api, emu: Emulator) -> None:
    stream = _sse(_chunk({"role": "assistant", "content": "Par"}), _chunk({"content": ""}, "error"))
    emu.enqueue(Reply(body=stream, headers={"content-type": "text/event-stream"}))
    chunks, error = mistral.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.InternalServerError)
    assert [c.choices[0].delta.content for c in chunks] == ["Par"]
