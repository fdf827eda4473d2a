"""Checked by ``mypy --strict`` in ``./dev test`` (never run): editors and type checkers know what
every call returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

import llmplex
from llmplex.types import ChatCompletion, ChatCompletionChunk, Completion, CreateEmbeddingResponse
from llmplex.types.parsed import ParsedChatCompletion


class Person(BaseModel):
    name: str


def lookup(city: str) -> str:
    return city

MSGS: list[llmplex.types.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def sync_calls(client: llmplex.Client) -> None:
    assert_type(client.chat.completions.create(model="m", messages=MSGS), ChatCompletion)
    assert_type(client.chat.completions.create(model="m", messages=MSGS, stream=False), ChatCompletion)
    stream = client.chat.completions.create(model="m", messages=MSGS, stream=True, temperature=0.1)
    assert_type(stream, llmplex.Stream[ChatCompletionChunk])
    assert_type(stream.get_final_completion(), ChatCompletion)
    assert_type(client.completions.create(model="m", prompt="p"), Completion)
    text_stream = client.completions.create(model="m", prompt="p", stream=True)
    assert_type(text_stream.get_final_completion(), Completion)
    assert_type(client.embeddings.create(model="m", input="x"), CreateEmbeddingResponse)
    assert_type(llmplex.ChatCompletion.create(model="m", messages=MSGS), ChatCompletion)
    assert_type(llmplex.Embedding.create(model="m", input=["x"]), CreateEmbeddingResponse)
    parsed = client.chat.completions.parse(model="m", messages=MSGS, response_format=Person, max_validation_retries=1)
    assert_type(parsed, ParsedChatCompletion[Person])
    assert_type(parsed.choices[0].message.parsed, Person | None)
    chained = client.chat.completions.create(
        model=["anthropic/claude-sonnet-4-5", "openai/gpt-4o"], messages=MSGS,
        fallbacks=["groq/llama-3.3-70b-versatile"], deadline=30.0,
        timeout=llmplex.Timeout(connect=5, read=120, first_token=30, idle=30),
    )
    assert_type(chained, ChatCompletion)
    assert_type(client.embeddings.create(model=["openai/a", "together/b"], input="x", timeout={"read": 5}),
                CreateEmbeddingResponse)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert_type(client.chat.completions.parse(model="m", messages=MSGS, response_format=schema),
                ParsedChatCompletion[Any])
    assert_type(client.chat.completions.create(model="m", messages=MSGS, tools=[lookup, llmplex.tool(lookup)],
                                               response_format=Person), ChatCompletion)
    with client.chat.completions.stream(model="m", messages=MSGS, response_format=Person) as events:
        for event in events:
            if event.type == "content.delta":
                assert_type(event.snapshot, str)
        assert_type(events.get_final_completion(), ParsedChatCompletion[Any])


async def async_calls(client: llmplex.AsyncClient) -> None:
    assert_type(await client.chat.completions.create(model="m", messages=MSGS), ChatCompletion)
    stream = await client.chat.completions.create(model="m", messages=MSGS, stream=True)
    assert_type(stream, llmplex.AsyncStream[ChatCompletionChunk])
    assert_type(await stream.get_final_completion(), ChatCompletion)
    assert_type(await llmplex.ChatCompletion.acreate(model="m", messages=MSGS, stream=True),
                llmplex.AsyncStream[ChatCompletionChunk])
    assert_type(await client.embeddings.create(model="m", input="x"), CreateEmbeddingResponse)
    parsed = await client.chat.completions.parse(model="m", messages=MSGS, response_format=Person)
    assert_type(parsed, ParsedChatCompletion[Person])
    async with client.chat.completions.stream(model="m", messages=MSGS) as events:
        async for event in events:
            if event.type == "chunk":
                assert_type(event.chunk, ChatCompletionChunk)


def tool_runs(client: llmplex.Client) -> None:
    result = client.chat.completions.run_tools(model="m", messages=MSGS, tools=[lookup], max_turns=3,
                                               on_tool_error="raise", temperature=0.2)
    assert_type(result, llmplex.ToolRunResult)
    assert_type(result.completion, ChatCompletion)
    assert_type(result.content, str | None)
    assert_type(result.messages, list[Any])
    for call in result.completion.choices[0].message.tool_calls or []:
        assert_type(call.parsed_arguments, Any)
    for event in client.chat.completions.run_tools_stream(model="m", messages=MSGS, tools=[lookup]):
        assert_type(event, llmplex.ToolRunEvent)
        if isinstance(event, llmplex.ToolFinished):
            assert_type(event.content, str)
            assert_type(event.error, Exception | None)
        elif event.type == "finished":
            assert_type(event, llmplex.ToolRunFinished)
            assert_type(event.result, llmplex.ToolRunResult)


async def async_tool_runs(client: llmplex.AsyncClient) -> None:
    result = await client.chat.completions.run_tools(model="m", messages=MSGS, tools=[lookup])
    assert_type(result, llmplex.ToolRunResult)
    async for event in client.chat.completions.run_tools_stream(model="m", messages=MSGS, tools=[lookup]):
        assert_type(event, llmplex.ToolRunEvent)
        if event.type == "chunk":
            assert_type(event.chunk, ChatCompletionChunk)


def routing() -> None:
    client = llmplex.Client(router={"models": {"fast": ["groq/llama-3.3-70b-versatile"]}}, state=llmplex.MemoryState())
    choice = client.router.order("fast")[0]
    assert_type(choice.model, str)
    assert_type(choice.deployment.id, str)
    assert_type([s.latency for s in client.router.stats()], list[float | None])
    llmplex.AsyncClient(state=llmplex.RedisState("redis://127.0.0.1:6379/0", on_error="closed"))
