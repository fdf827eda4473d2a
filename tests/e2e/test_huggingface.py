"""Hugging Face (router, hf-inference, Inference Endpoints / TGI) through the client, over loopback
(sync|async)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

KEY = "hf_test_token_0123456789"
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
MODEL = "huggingface/meta-llama/Llama-3.3-70B-Instruct"
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
         "GAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture
def hf(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"huggingface": {"api_key": KEY, "base_url": emu.base_url}})
    yield api
    api.close()


@pytest.fixture
def endpoint(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"hf_endpoint": {"api_key": KEY, "base_url": emu.url}})
    yield api
    api.close()


# -- the router: chat ---------------------------------------------------------------------------------


def test_router_chat_with_provider_suffix(hf: Api, emu: Emulator) -> None:
    emu.require_api_key(KEY)
    emu.enqueue(Reply("Hi!"))
    r = hf.chat(model=MODEL + ":together", messages=USER, temperature=0.2, stop=["END"], seed=4)
    assert r.choices[0].message.content == "Hi!" and r.choices[0].finish_reason == "stop"
    sent = emu.last_request
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.json()
    assert body["model"] == "meta-llama/Llama-3.3-70B-Instruct:together"
    assert body["messages"] == USER and (body["temperature"], body["stop"], body["seed"]) == (0.2, ["END"], 4)


def test_hf_provider_setting_picks_the_provider(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"huggingface": {"api_key": KEY, "base_url": emu.base_url, "hf_provider": "novita"}})
    api.chat(model=MODEL, messages=USER)
    assert emu.last_request.json()["model"] == "meta-llama/Llama-3.3-70B-Instruct:novita"
    api.chat(model=MODEL + ":cheapest", messages=USER)
    assert emu.last_request.json()["model"] == "meta-llama/Llama-3.3-70B-Instruct:cheapest"
    api.close()


@pytest.mark.parametrize(
    "reply",
    [Reply("one two three four"), Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
     Reply("Four.", reasoning="Two and two.")],
    ids=["text", "tools", "reasoning"],
)
def test_router_stream_accumulates_to_the_non_streamed_reply(hf: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = hf.chat(model=MODEL, messages=USER)
    chunks, streamed = hf.stream(model=MODEL, messages=USER)
    assert len(chunks) > 1
    skip = {"message": {"annotations"}}  # OpenAI sends [] whole and nothing streamed
    assert [c.model_dump(exclude=skip) for c in streamed.choices] == [c.model_dump(exclude=skip) for c in whole.choices]
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == "Two and two."


def test_tool_round_trip_and_vision(hf: Api, emu: Emulator) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]), Reply("Sunny."))
    question = {"role": "user", "content": [{"type": "text", "text": "Weather here?"},
                                            {"type": "image_url", "image_url": {"url": PIXEL}}]}
    first = hf.chat(model=MODEL, messages=[question], tools=tools, tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and json.loads(call.function.arguments) == {"city": "Paris"}
    history = [question, first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    assert hf.chat(model=MODEL, messages=history, tools=tools).choices[0].message.content == "Sunny."
    sent = emu.last_request.json()
    assert sent["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": PIXEL}}
    assert sent["messages"][1]["tool_calls"][0]["id"] == call.id and sent["messages"][2]["tool_call_id"] == call.id


def test_n_is_refused_before_sending(hf: Api, emu: Emulator) -> None:
    with pytest.raises(llmplex.UnsupportedParameterError):
        hf.chat(model=MODEL, messages=USER, n=2)
    assert emu.requests == []


# -- hf-inference: text generation and feature extraction -------------------------------------------------


def test_text_generation_plain_and_streamed(hf: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Paris is the capital."), Reply("Paris is the capital.", chunk_words=2))
    whole = hf.complete(model="huggingface/openai-community/gpt2", prompt="The capital of France:", max_tokens=20)
    sent = emu.last_request
    assert sent.path == "/hf-inference/models/openai-community/gpt2"
    assert sent.json() == {"inputs": "The capital of France:", "stream": False, "parameters": {
        "return_full_text": False, "details": True, "max_new_tokens": 20}}
    assert (whole.choices[0].text, whole.choices[0].finish_reason) == ("Paris is the capital.", "stop")
    pieces = _collect(hf, model="huggingface/openai-community/gpt2", prompt="The capital of France:")
    assert [p.choices[0].text for p in pieces][:3] == ["Paris is", " the capital.", ""]
    assert "".join(p.choices[0].text for p in pieces) == whole.choices[0].text
    assert pieces[-1].choices[0].finish_reason == "stop" and pieces[-1].usage is not None
    assert emu.last_request.json()["stream"] is True


def _collect(api: Api, got: list[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Every streamed completion piece (appended to ``got`` as they come, so a test sees those
    delivered before an error)."""
    got = [] if got is None else got
    made = api.client.completions.create(stream=True, **kwargs)
    if api.loop is None:
        got.extend(made)
        return got

    async def go() -> list[Any]:
        async for piece in await made:
            got.append(piece)
        return got

    result: list[Any] = api.run(go())
    return result


def test_feature_extraction(hf: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(embedding_dims=4))
    r = hf.embed(model="huggingface/BAAI/bge-small-en-v1.5", input=["a", "b"])
    assert emu.last_request.path == "/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction"
    assert [len(e.embedding) for e in r.data] == [4, 4] and r.data[0].embedding != r.data[1].embedding
    single = hf.embed(model="huggingface/BAAI/bge-small-en-v1.5", input="a")
    assert emu.last_request.json() == {"inputs": ["a"]} and len(single.data) == 1
    emu.enqueue(Reply(body=json.dumps([[[0.1, 0.2], [0.3, 0.4]]])))
    with pytest.raises(llmplex.InvalidResponseError, match="token-level"):
        hf.embed(model="huggingface/bert-base-uncased", input=["a"])


# -- errors and faults ---------------------------------------------------------------------------------------


def test_model_loading_is_retryable_with_retry_after(hf: Api, emu: Emulator) -> None:
    loading = {"error": "Model openai-community/gpt2 is currently loading", "estimated_time": 0.01}
    emu.enqueue(Reply(status=503, body=loading), Reply("ready now"))
    r = hf.complete(model="huggingface/openai-community/gpt2", prompt="Hi")
    assert r.choices[0].text == "ready now" and len(emu.requests) == 2
    emu.enqueue(Reply(status=503, body=loading))
    with pytest.raises(llmplex.ServiceUnavailableError) as info:
        hf.complete(model="huggingface/openai-community/gpt2", prompt="Hi", max_retries=0)
    assert info.value.retry_after == 0.01 and "currently loading" in info.value.message


def test_errors_are_typed(hf: Api, emu: Emulator) -> None:
    emu.require_api_key("hf_another_token_000000")
    with pytest.raises(llmplex.AuthenticationError):
        hf.complete(model="huggingface/openai-community/gpt2", prompt="Hi")
    with pytest.raises(llmplex.AuthenticationError):
        hf.chat(model=MODEL, messages=USER)
    emu.require_api_key(None)
    emu.enqueue(Reply.error(422, "Input validation error: `max_new_tokens` must be <= 2048", type="validation"))
    with pytest.raises(llmplex.BadRequestError) as info:
        hf.complete(model="huggingface/openai-community/gpt2", prompt="Hi", max_tokens=99999)
    assert info.value.type == "validation" and info.value.status_code == 422
    emu.enqueue(Reply.error(400, f"Authorization header is correct, but the token {KEY} lacks permission"))
    with pytest.raises(llmplex.BadRequestError) as bad:
        hf.complete(model="huggingface/openai-community/gpt2", prompt="Hi")
    assert KEY not in str(bad.value) and KEY[:12] not in repr(bad.value.args)  # G3: the echoed token is redacted


def test_in_stream_error_after_deltas(hf: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "Request failed during generation: out of memory", text="a b c d e"))
    got: list[Any] = []
    with pytest.raises(llmplex.InternalServerError) as info:
        _collect(hf, got, model="huggingface/gpt2", prompt="x")
    assert len(got) == 2 and info.value.type == "generation"
    emu.enqueue(Reply.stream_error(1, "upstream died"))
    chunks, error = hf.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.APIStatusError) and any(c.choices and c.choices[0].delta.content for c in chunks)


@pytest.mark.parametrize("fault", [Fault(omit_done=True), Fault(reset_after_chunks=2)], ids=["no-final", "reset"])
def test_token_stream_cut_short_raises(hf: Api, emu: Emulator, fault: Fault) -> None:
    emu.enqueue(Reply("one two three four", fault=fault))
    with pytest.raises(llmplex.APIConnectionError):
        _collect(hf, model="huggingface/gpt2", prompt="x", max_retries=0)


# -- dedicated endpoints / TGI -----------------------------------------------------------------------------


def test_endpoint_chat_generate_and_embed(endpoint: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi!"), Reply("Once upon a time"), Reply(embedding_dims=3))
    assert endpoint.chat(model="hf_endpoint/tgi", messages=USER).choices[0].message.content == "Hi!"
    assert emu.last_request.path == "/v1/chat/completions" and emu.last_request.json()["model"] == "tgi"
    done = endpoint.complete(model="hf_endpoint/tgi", prompt="Tell me a story", max_tokens=5, temperature=0)
    assert emu.last_request.path == "/generate" and done.choices[0].text == "Once upon a time"
    assert emu.last_request.json()["parameters"]["do_sample"] is False
    vectors = endpoint.embed(model="hf_endpoint/tei", input=["x", "y"])
    assert emu.last_request.path == "/embed" and [len(v.embedding) for v in vectors.data] == [3, 3]
    pieces = _collect(endpoint, model="hf_endpoint/tgi", prompt="Tell me a story")
    assert emu.last_request.path == "/generate_stream"
    assert "".join(p.choices[0].text for p in pieces) == "Echo: Tell me a story"
    assert pieces[-1].usage is not None and pieces[-1].usage.prompt_tokens == 4


def test_endpoint_needs_a_base_url(mode: str, emu: Emulator) -> None:
    api = Api(mode, env={})
    with pytest.raises(llmplex.ConfigurationError, match="LLMPLEX_HF_ENDPOINT_BASE_URL"):
        api.chat(model="hf_endpoint/tgi", messages=USER)
    api.close()
