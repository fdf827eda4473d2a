"""Ollama's native API through the same client calls, over loopback (sync|async)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator, Reply, ToolCall
from tests.conftest import Api

USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def ollama(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"ollama": {"base_url": emu.url}})
    yield api
    api.close()


def test_chat_maps_both_ways(ollama: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi!"))
    r = ollama.chat(model="ollama/llama3.2", messages=USER, temperature=0.3, max_tokens=20, seed=1)
    assert r.choices[0].message.content == "Hi!"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    sent = emu.last_request
    assert sent.path == "/api/chat"
    body = sent.json()
    assert body["model"] == "llama3.2" and body["stream"] is False
    assert body["options"]["temperature"] == 0.3 and body["options"]["num_predict"] == 20


@pytest.mark.parametrize(
    "reply",
    [
        Reply("one two three four"),
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
        Reply("Forty-two.", reasoning="Six times seven."),
    ],
    ids=["text", "tools", "thinking"],
)
def test_stream_accumulates_to_the_non_streamed_reply(ollama: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = ollama.chat(model="ollama/llama3.2", messages=USER)
    _, streamed = ollama.stream(model="ollama/llama3.2", messages=USER)
    assert [c.model_dump(exclude={"message": {"tool_calls"}}) for c in streamed.choices] == [
        c.model_dump(exclude={"message": {"tool_calls"}}) for c in whole.choices]
    assert streamed.usage == whole.usage
    if reply.tool_calls:
        for got in (whole, streamed):
            call = got.choices[0].message.tool_calls[0]
            assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
            assert call.id
            assert got.choices[0].finish_reason == "tool_calls"
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == reply.reasoning


def test_native_completions_and_embeddings(ollama: Api, emu: Emulator) -> None:
    r = ollama.complete(model="ollama/llama3.2", prompt="Once upon")
    assert r.choices[0].text == "Echo: Once upon"
    assert emu.last_request.path == "/api/generate"
    e = ollama.embed(model="ollama/nomic-embed-text", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in e.data] == [4, 4]
    assert emu.last_request.path == "/api/embed"


def test_errors_are_typed(ollama: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(404, 'model "nope" not found, try pulling it first'))
    with pytest.raises(llmplex.NotFoundError, match="not found"):
        ollama.chat(model="ollama/nope", messages=USER)
    emu.enqueue(Reply.stream_error(2, "model crashed"))
    chunks, error = ollama.stream_until_error(model="ollama/llama3.2", messages=USER, max_retries=0)
    assert isinstance(error, llmplex.APIStatusError)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 2


def test_keep_alive_and_options(mode: str, emu: Emulator) -> None:
    """The provider options reach the body of every endpoint; request parameters and
    extra_body["options"] win over the configured options."""
    settings = {"base_url": emu.url, "keep_alive": "30m", "options": {"num_ctx": 8192, "temperature": 0.9}}
    api = Api(mode, providers={"ollama": settings})
    try:
        emu.enqueue(Reply("Hi!"), Reply("Hi!"), Reply(embedding_dims=3), Reply("Hi!"))
        api.chat(model="ollama/llama3.2", messages=USER, temperature=0.1)
        body = emu.last_request.json()
        assert body["keep_alive"] == "30m"
        assert body["options"] == {"num_ctx": 8192, "temperature": 0.1}
        api.complete(model="ollama/llama3.2", prompt="Say hi", extra_body={"options": {"num_ctx": 2048}})
        body = emu.last_request.json()
        assert body["options"] == {"num_ctx": 2048, "temperature": 0.9} and body["keep_alive"] == "30m"
        api.embed(model="ollama/all-minilm", input=["a"])
        body = emu.last_request.json()
        assert body["keep_alive"] == "30m" and body["options"]["num_ctx"] == 8192
        api.chat(model="ollama/llama3.2", messages=USER, extra_body={"keep_alive": 0})
        assert emu.last_request.json()["keep_alive"] == 0  # extra_body wins for this one call
    finally:
        api.close()


def test_keep_alive_from_the_environment(mode: str, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMPLEX_OLLAMA_KEEP_ALIVE", "-1")  # seconds as a number: keep the model loaded
    api = Api(mode, providers={"ollama": {"base_url": emu.url}})
    try:
        emu.enqueue(Reply("Hi!"))
        api.chat(model="ollama/llama3.2", messages=USER)
        assert emu.last_request.json()["keep_alive"] == -1
    finally:
        api.close()
    bad = Api(mode, providers={"ollama": {"base_url": emu.url, "options": ["num_ctx"]}})
    try:
        with pytest.raises(llmplex.ConfigurationError, match="mapping"):
            bad.chat(model="ollama/llama3.2", messages=USER)
    finally:
        bad.close()
