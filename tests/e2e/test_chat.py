"""Chat, streams, completions and embeddings through Client and AsyncClient over loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Reply, ToolCall
from llmplex.types import ChatCompletion
from tests.conftest import Api

USER = [{"role": "user", "content": "hello there world"}]


def test_chat_returns_openai_shaped_completion(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Hi! How can I help?"))
    r = api.chat(model="openai/gpt-4o-mini", messages=USER, temperature=0.2, seed=7, max_tokens=50)
    assert isinstance(r, ChatCompletion)
    assert r.choices[0].message.content == "Hi! How can I help?"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    dumped = r.model_dump(exclude_none=True)
    # the OpenAI JSON round-trips; llmplex's own cost is not part of it
    assert ChatCompletion.model_validate_json(json.dumps(dumped)) == r.model_copy(update={"cost": None})
    sent = emu.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-key-123456"
    body = sent.json()
    assert body == {"model": "gpt-4o-mini", "messages": USER, "temperature": 0.2, "seed": 7, "max_tokens": 50}


def test_every_openai_parameter_reaches_the_wire(api: Api, emu: Emulator) -> None:
    params: dict[str, Any] = {
        "temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "max_completion_tokens": 12, "stop": ["\n"],
        "n": 2, "seed": 1, "logprobs": True, "top_logprobs": 2, "presence_penalty": 0.1,
        "frequency_penalty": 0.2, "logit_bias": {"50256": -100}, "user": "u-1",
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": "auto", "parallel_tool_calls": False, "reasoning_effort": "low",
        "metadata": {"k": "v"}, "store": False, "service_tier": "auto",
    }
    r = api.chat(model="openai/gpt-4o", messages=USER, **params)
    assert len(r.choices) == 2
    body = emu.last_request.json()
    for key, value in params.items():
        assert body[key] == value, key


def test_stream_concatenates_to_the_text_and_reports_usage(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four five"))
    chunks, final = api.stream(model="openai/gpt-4o", messages=USER, stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the usage-only last chunk
    assert final.choices[0].message.content == text
    assert final.usage == chunks[-1].usage
    assert emu.last_request.json()["stream"] is True


def test_accumulated_stream_equals_the_non_streamed_parse(api: Api, emu: Emulator) -> None:
    reply = Reply("The answer is 42.", reasoning="Think: six times seven.",
                  tool_calls=[ToolCall("lookup", {"q": "life", "deep": [1, 2]}, id="call_a"),
                              ToolCall("calc", '{"expr": "6*7"}', id="call_b")],
                  finish_reason="tool_calls")
    emu.enqueue(reply, reply)
    whole = api.chat(model="openai/gpt-4o", messages=USER, stream_options=None)
    _, streamed = api.stream(model="openai/gpt-4o", messages=USER, stream_options={"include_usage": True})
    # OpenAI sends "annotations": [] only in non-streamed replies; everything else must be equal.
    drop = {"message": {"annotations"}}
    assert [c.model_dump(exclude=drop) for c in streamed.choices] == [c.model_dump(exclude=drop) for c in whole.choices]
    assert streamed.usage == whole.usage
    calls = streamed.choices[0].message.tool_calls
    assert [json.loads(c.function.arguments) for c in calls] == [{"q": "life", "deep": [1, 2]}, {"expr": "6*7"}]
    assert streamed.choices[0].message.reasoning_content == "Think: six times seven."


def test_text_stream_yields_only_text(mode: str, emu: Emulator) -> None:
    emu.enqueue(Reply("alpha beta gamma"))
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url)
    if mode == "sync":
        with client.chat.completions.create(model="openai/x", messages=USER, stream=True) as s:
            assert list(s.text_stream) == ["alpha", " beta", " gamma"]
    else:
        import asyncio

        async def go() -> list[str]:
            ac = llmplex.AsyncClient(provider="openai", api_key="k", base_url=emu.base_url)
            s = await ac.chat.completions.create(model="openai/x", messages=USER, stream=True)
            out = [t async for t in s.text_stream]
            await ac.close()
            return out

        assert asyncio.run(go()) == ["alpha", " beta", " gamma"]
    client.close()


def test_native_text_completion(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("Once upon a time"))
    r = api.complete(model="openai/gpt-3.5-turbo-instruct", prompt="Tell a story", max_tokens=5, echo=False)
    assert r.object == "text_completion"
    assert r.choices[0].text == "Once upon a time"
    assert emu.last_request.path == "/v1/completions"
    assert emu.last_request.json()["prompt"] == "Tell a story"


def test_completion_through_chat_where_the_provider_has_no_endpoint(mode: str, emu: Emulator) -> None:
    api = Api(mode, provider="groq", api_key="gsk_test", base_url=emu.base_url)
    emu.enqueue(Reply("via chat"))
    r = api.complete(model="groq/llama-3.1-8b-instant", prompt="Say it", max_tokens=5)
    assert r.choices[0].text == "via chat"
    assert emu.last_request.path == "/v1/chat/completions"
    assert emu.last_request.json()["messages"] == [{"role": "user", "content": "Say it"}]
    with pytest.raises(llmplex.UnsupportedParameterError, match="echo"):
        api.complete(model="groq/llama-3.1-8b-instant", prompt="x", echo=True)
    api.close()


def test_embeddings_come_back_as_floats(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(embedding_dims=16))
    r = api.embed(model="openai/text-embedding-3-small", input=["a", "b", "c"])
    assert [d.index for d in r.data] == [0, 1, 2]
    assert all(len(d.embedding) == 16 and isinstance(d.embedding[0], float) for d in r.data)
    assert emu.last_request.json()["encoding_format"] == "base64"  # smaller on the wire; decoded for you
    r2 = api.embed(model="openai/text-embedding-3-small", input="a", encoding_format="float", dimensions=4)
    assert len(r2.data[0].embedding) == 4


def test_per_request_overrides(api: Api, emu: Emulator) -> None:
    api.chat(
        model="openai/gpt-4o", messages=USER, api_key="sk-per-request-000",
        extra_headers={"X-Trace": "t1"}, extra_query={"tenant": "a b"}, extra_body={"custom_field": [1]},
    )
    sent = emu.last_request
    assert sent.headers["authorization"] == "Bearer sk-per-request-000"
    assert sent.headers["x-trace"] == "t1"
    assert sent.query == {"tenant": "a b"}
    assert sent.json()["custom_field"] == [1]


def test_model_ids_keep_their_slashes(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"openrouter": {"api_key": "sk-or", "base_url": emu.base_url,
                                              "app_name": "My App", "app_url": "https://example.com"}})
    api.chat(model="openrouter/anthropic/claude-3.5-sonnet", messages=USER)
    sent = emu.last_request
    assert sent.json()["model"] == "anthropic/claude-3.5-sonnet"
    assert sent.headers["x-title"] == "My App" and sent.headers["http-referer"] == "https://example.com"
    api.close()


def test_azure_deployment_urls_and_api_key_header(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"azure": {"api_key": "azure-key-123456789", "base_url": emu.url,
                                         "api_version": "2024-10-21"}})
    api.chat(model="azure/my-gpt4o", messages=USER)
    sent = emu.last_request
    assert sent.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "azure-key-123456789"
    assert "authorization" not in sent.headers
    api.close()
    entra = Api(mode, providers={"azure": {"azure_ad_token": "eyJ-entra-token", "base_url": emu.url}})
    entra.chat(model="azure/dep", messages=USER)
    assert emu.last_request.headers["authorization"] == "Bearer eyJ-entra-token"
    assert "api-key" not in emu.last_request.headers
    entra.close()


def test_reasoning_content_round_trips_where_the_provider_takes_it(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"deepseek": {"api_key": "sk-ds", "base_url": emu.base_url},
                               "openai": {"api_key": "sk-oa", "base_url": emu.base_url}})
    emu.enqueue(Reply("4", reasoning="2+2 is 4"))
    r = api.chat(model="deepseek/deepseek-reasoner", messages=USER)
    assert r.choices[0].message.reasoning_content == "2+2 is 4"
    history = [*USER, r.choices[0].message, {"role": "user", "content": "thanks"}]
    api.chat(model="deepseek/deepseek-reasoner", messages=history)
    sent = emu.last_request.json()["messages"][1]
    assert sent == {"role": "assistant", "content": "4", "reasoning_content": "2+2 is 4"}  # DeepSeek wants it back
    api.chat(model="openai/gpt-4o", messages=history)  # switching provider mid-conversation
    sent = emu.last_request.json()["messages"][1]
    assert sent == {"role": "assistant", "content": "4"}  # not part of OpenAI's input schema: stripped
    api.close()


def test_perplexity_citations_are_kept(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"perplexity": {"api_key": "pplx-1", "base_url": emu.base_url}})
    cites = ["https://a.example", "https://b.example"]
    emu.enqueue(Reply("cited", extra={"citations": cites}), Reply("cited", extra={"citations": cites}))
    r = api.chat(model="perplexity/sonar", messages=USER)
    assert r.citations == cites  # type: ignore[attr-defined]
    _, final = api.stream(model="perplexity/sonar", messages=USER)
    assert final.citations == cites
    api.close()


def test_mock_provider_needs_no_network(mode: str) -> None:
    api = Api(mode)
    assert api.chat(model="mock/echo", messages=USER).choices[0].message.content == "Echo: hello there world"
    r = api.chat(model="mock/echo", messages=USER, extra_body={"mock_response": "scripted"})
    assert r.choices[0].message.content == "scripted"
    _, final = api.stream(model="mock/echo", messages=USER)
    assert final.choices[0].message.content == "Echo: hello there world"
    with pytest.raises(llmplex.RateLimitError):
        api.chat(model="mock/echo", messages=USER, max_retries=0,
                 extra_body={"mock_error": {"status": 429, "message": "slow down"}})
    api.close()
