"""AWS Bedrock (Converse, ConverseStream, InvokeModel) through the same client calls, over loopback
(sync|async). The emulator checks every SigV4 signature with the secret key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

MODEL = "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
PATH = "/v1/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0"
SECRET = "emu-Secret-Access-Key-0123456789abcdef"
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOLS = [{"type": "function",
          "function": {"name": "get_weather", "description": "Weather in a city", "parameters": CITY}}]


def _settings(emu: Emulator, **overrides: str) -> dict[str, str]:
    return {"base_url": emu.base_url, "aws_access_key_id": "AKIDEMULATOR", "aws_secret_access_key": SECRET,
            "region": "eu-central-1", **overrides}


@pytest.fixture
def bedrock(mode: str, emu: Emulator) -> Iterator[Api]:
    emu.require_api_key(SECRET)
    api = Api(mode, providers={"bedrock": _settings(emu)})
    yield api
    api.close()


def test_chat_is_signed_and_maps_both_ways(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi!"))
    r = bedrock.chat(model=MODEL, messages=USER, temperature=0.3, stop=["END"], max_tokens=50)
    assert r.choices[0].message.content == "Hi!"
    assert r.choices[0].finish_reason == "stop" and r.choices[0].model_extra == {"native_finish_reason": "end_turn"}
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    sent = emu.last_request
    assert sent.path == f"{PATH}/converse"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/")
    assert "/eu-central-1/bedrock/aws4_request" in sent.headers["authorization"]
    assert "x-amz-security-token" not in sent.headers
    body = sent.json()
    assert body["system"] == [{"text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hello there"}]}]
    assert body["inferenceConfig"] == {"temperature": 0.3, "stopSequences": ["END"], "maxTokens": 50}


@pytest.mark.parametrize(
    "reply",
    [
        Reply("one two three four"),
        Reply("Let me check.", tool_calls=[ToolCall("get_weather", {"city": "Paris", "days": [1, 2]})]),
        Reply("Forty-two.", reasoning="Six times seven is forty-two."),
    ],
    ids=["text", "tools", "reasoning"],
)
def test_stream_accumulates_to_the_non_streamed_reply(bedrock: Api, emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = bedrock.chat(model=MODEL, messages=USER)
    chunks, streamed = bedrock.stream(model=MODEL, messages=USER)
    assert emu.last_request.path == f"{PATH}/converse-stream"
    assert emu.last_request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert [c.model_dump() for c in streamed.choices] == [c.model_dump() for c in whole.choices]
    assert streamed.usage == whole.usage and streamed.usage is not None
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == whole.choices[0].message.content and len(pieces) == len(reply.text.split())
    if reply.tool_calls:
        call = streamed.choices[0].message.tool_calls[0]
        assert json.loads(call.function.arguments) == {"city": "Paris", "days": [1, 2]}
        assert streamed.choices[0].finish_reason == "tool_calls"
    if reply.reasoning:
        assert streamed.choices[0].message.reasoning_content == reply.reasoning


def test_tool_round_trip_and_reasoning_sent_back(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(reasoning="I need the weather.", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]),
                Reply("It is 3 degrees in Oslo."))
    messages: list[object] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = bedrock.chat(model=MODEL, messages=messages, tools=TOOLS, tool_choice="auto", reasoning_effort="low")
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    body = emu.last_request.json()
    spec = {"name": "get_weather", "description": "Weather in a city", "inputSchema": {"json": CITY}}
    assert body["toolConfig"] == {"tools": [{"toolSpec": spec}], "toolChoice": {"auto": {}}}
    assert body["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    messages += [first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "3 degrees"}]
    second = bedrock.chat(model=MODEL, messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "It is 3 degrees in Oslo."
    turns = emu.last_request.json()["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    reasoning, tool_use = turns[1]["content"]
    assert reasoning["reasoningContent"]["reasoningText"]["text"] == "I need the weather."
    assert reasoning["reasoningContent"]["reasoningText"]["signature"]  # the signature goes back unchanged
    assert tool_use == {"toolUse": {"toolUseId": call.id, "name": "get_weather", "input": {"city": "Oslo"}}}
    assert turns[2]["content"] == [{"toolResult": {"toolUseId": call.id, "content": [{"text": "3 degrees"}]}}]


def test_vision_sends_image_bytes(bedrock: Api, emu: Emulator) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    bedrock.chat(model=MODEL, messages=[{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}])
    assert emu.last_request.json()["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}


def test_session_token_and_bearer_token(mode: str, emu: Emulator) -> None:
    emu.require_api_key(SECRET)
    temporary = Api(mode, providers={"bedrock": _settings(emu, aws_session_token="FwoGZXIvYXdzEXAMPLETOKEN")})
    temporary.chat(model=MODEL, messages=USER)
    sent = emu.last_request.headers
    assert sent["x-amz-security-token"] == "FwoGZXIvYXdzEXAMPLETOKEN"
    assert "x-amz-security-token" in sent["authorization"]  # signed, not merely sent
    temporary.close()
    bearer = Api(mode, providers={"bedrock": {"base_url": emu.base_url, "api_key": SECRET}})
    bearer.chat(model=MODEL, messages=USER)
    assert emu.last_request.headers["authorization"] == f"Bearer {SECRET}"
    bearer.close()


@pytest.mark.parametrize("settings,message", [
    ({"aws_secret_access_key": "wrong-secret-0123456789"}, "signature we calculated does not match"),
    ({"api_key": "ABSK-wrong-api-key"}, "security token included in the request is invalid"),
])
def test_bad_credentials_get_bedrocks_403(mode: str, emu: Emulator, settings: dict[str, str], message: str) -> None:
    emu.require_api_key(SECRET)
    api = Api(mode, providers={"bedrock": _settings(emu, **settings)})
    with pytest.raises(llmplex.AuthenticationError) as info:
        api.chat(model=MODEL, messages=USER)
    assert info.value.status_code == 403 and message in info.value.message
    assert emu.requests[-1].headers.get("authorization")
    api.close()


def test_errors_are_typed(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(429, "Too many requests, please wait before trying again."))
    with pytest.raises(llmplex.RateLimitError) as info:
        bedrock.chat(model=MODEL, messages=USER, max_retries=0)
    assert info.value.type == "ThrottlingException" and info.value.request_id
    emu.enqueue(Reply.error(400, "Input is too long for requested model."))
    with pytest.raises(llmplex.ContextWindowExceededError):
        bedrock.chat(model=MODEL, messages=USER)
    emu.enqueue(Reply.error(404, "Could not resolve the foundation model", type="ResourceNotFoundException"))
    with pytest.raises(llmplex.NotFoundError):
        bedrock.chat(model=MODEL, messages=USER)
    with pytest.raises(llmplex.BadRequestError, match="start with a user message"):  # emulator validation
        bedrock.chat(model=MODEL, messages=[{"role": "assistant", "content": "first"}])


def test_in_stream_exception_after_deltas(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "Model is overloaded", type="throttlingException", text="a b c d e"))
    chunks, error = bedrock.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.RateLimitError) and error.message == "Model is overloaded"
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == ["a", " b"]
    assert len(emu.requests) == 1  # never retried after the first byte


def test_faults_retry_resigned_and_interrupted(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(503, "Service unavailable"), Reply("after the retry"))
    r = bedrock.chat(model=MODEL, messages=USER, max_retries=1)
    assert r.choices[0].message.content == "after the retry"
    first, second = emu.requests
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256") and second.headers["authorization"]
    emu.enqueue(Reply("one two three four five", fault=Fault(reset_after_chunks=3)))
    _, error = bedrock.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert error.partial_text == "one two"
    emu.enqueue(Reply("cut short", fault=Fault(omit_done=True)))
    _, error = bedrock.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError) and "messageStop" in error.message
    emu.enqueue(Reply("bad bytes here", fault=Fault(malformed_event_at=2)))
    _, error = bedrock.stream_until_error(model=MODEL, messages=USER)
    assert isinstance(error, llmplex.StreamParseError) and "CRC" in error.message


def test_embeddings(bedrock: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(embedding_dims=4))
    titan = bedrock.embed(model="bedrock/amazon.titan-embed-text-v2:0", input="hello world", dimensions=4)
    assert len(titan.data) == 1 and len(titan.data[0].embedding) == 4
    assert titan.usage is not None and titan.usage.prompt_tokens == 2
    assert emu.last_request.json() == {"inputText": "hello world", "dimensions": 4}
    cohere = bedrock.embed(model="bedrock/cohere.embed-multilingual-v3", input=["a b", "c"])
    assert [d.index for d in cohere.data] == [0, 1] and cohere.usage is not None and cohere.usage.total_tokens == 3
    assert emu.last_request.path == "/v1/model/cohere.embed-multilingual-v3/invoke"
