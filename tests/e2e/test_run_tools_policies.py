"""``run_tools`` policies over loopback, sync and async: tool errors, unknown tools, invalid
arguments, ``max_turns``, and the async twin running one turn's calls concurrently."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from tests.conftest import Api

MODEL = "openai/gpt-4o"
ASK = [{"role": "user", "content": "Weather in Atlantis?"}]
RAN: list[str] = []


def get_weather(city: str) -> str:
    """Current weather in a city."""
    RAN.append(city)
    if city == "Atlantis":
        raise ValueError(f"no weather station in {city}")
    return f"sunny in {city}"


@pytest.fixture(autouse=True)
def _forget_calls() -> Iterator[None]:
    RAN.clear()
    yield
    RAN.clear()


def _call(city: str) -> Reply:
    return Reply(tool_calls=[ToolCall("get_weather", {"city": city})])


def test_a_tool_exception_is_told_to_the_model_by_default(api: Api, emu: Emulator) -> None:
    emu.enqueue(_call("Atlantis"), Reply("Atlantis has no weather station."))
    result = api.run_tools(model=MODEL, messages=ASK, tools=[get_weather])
    assert result.content == "Atlantis has no weather station."
    assert result.messages[2]["content"] == "Error: ValueError: no weather station in Atlantis"
    assert "Error: ValueError: no weather station in Atlantis" in emu.last_request.text()


def test_on_tool_error_raise_stops_the_run(api: Api, emu: Emulator) -> None:
    emu.enqueue(_call("Atlantis"), Reply("never asked"))
    with pytest.raises(llmplex.ToolExecutionError) as info:
        api.run_tools(model=MODEL, messages=ASK, tools=[get_weather], on_tool_error="raise")
    error = info.value
    assert error.tool_name == "get_weather" and error.call_id
    assert isinstance(error.__cause__, ValueError)
    assert error.messages[-1]["tool_calls"][0]["id"] == error.call_id
    assert len(emu.requests) == 1 and emu.pending_replies == 1


@pytest.mark.parametrize("policy", ["return", "raise"])
def test_an_unknown_tool_is_told_to_the_model(api: Api, emu: Emulator, policy: str) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("launch_rockets", {"count": 3})]), Reply("I cannot launch rockets."))
    events = api.run_tools_events(model=MODEL, messages=ASK, tools=[get_weather], on_tool_error=policy)
    (finished,) = [e for e in events if e.type == "tool_finished"]
    assert isinstance(finished.error, LookupError) and finished.result is None
    assert finished.content == "Error: there is no tool named 'launch_rockets'; the tools are: get_weather"
    assert finished.content in emu.last_request.text()
    assert events[-1].result.content == "I cannot launch rockets."


def add(a: int, b: int) -> int:
    """Add two integers."""
    RAN.append(f"{a}+{b}")
    return a + b


def test_invalid_arguments_are_shown_to_the_model_which_tries_again(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("add", {"a": "two", "b": 3})]),
                Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3})]), Reply("5"))
    result = api.run_tools(model=MODEL, messages=ASK, tools=[add])
    assert result.content == "5" and result.turns == 3
    assert RAN == ["2+3"]  # add() never ran with the bad arguments
    assert result.messages[2]["content"] == (
        "Error: invalid arguments for 'add': a: Input should be a valid integer, unable to parse string as an "
        "integer. Call it again with valid arguments."
    )


def test_invalid_arguments_raise_under_the_raise_policy(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": ')]))
    with pytest.raises(llmplex.ToolArgumentsError) as info:
        api.run_tools(model=MODEL, messages=ASK, tools=[add], on_tool_error="raise")
    assert info.value.raw == '{"a": 2, "b": ' and info.value.tool_name == "add"
    assert RAN == []


def test_max_turns_raises_with_the_conversation_to_carry_on(api: Api, emu: Emulator) -> None:
    emu.enqueue(_call("Paris"), _call("Oslo"))
    with pytest.raises(llmplex.MaxTurnsExceededError) as info:
        api.run_tools(model=MODEL, messages=ASK, tools=[get_weather], max_turns=2)
    error = info.value
    assert RAN == ["Paris", "Oslo"] and len(emu.requests) == 2  # the last turn's tools ran
    assert error.completion.choices[0].finish_reason == "tool_calls"
    assert error.messages[-1] == {"role": "tool", "tool_call_id": error.messages[-2]["tool_calls"][0]["id"],
                                  "content": "sunny in Oslo"}

    emu.enqueue(Reply("Sunny in both."))
    result = api.run_tools(model=MODEL, messages=error.messages, tools=[get_weather], max_turns=1)
    assert result.content == "Sunny in both." and result.messages[:len(error.messages)] == error.messages


def test_the_stream_raises_under_the_raise_policy(api: Api, emu: Emulator) -> None:
    emu.enqueue(_call("Atlantis"))
    with pytest.raises(llmplex.ToolExecutionError):
        api.run_tools_events(model=MODEL, messages=ASK, tools=[get_weather], on_tool_error="raise")


@pytest.fixture
def async_api(emu: Emulator) -> Iterator[Api]:
    api = Api("async", provider="openai", api_key="sk-test", base_url=emu.base_url)
    yield api
    api.close()


def test_the_async_twin_runs_one_turns_calls_concurrently(async_api: Api, emu: Emulator) -> None:
    # Each pair of tools waits for its partner: run one after the other, they would time out.
    barrier = threading.Barrier(2, timeout=10)
    events: dict[str, asyncio.Event] = {}

    def blocking(name: str) -> str:
        """A plain function that blocks until the other plain one runs too."""
        barrier.wait()
        return f"blocking {name} done"

    async def waiting(name: str) -> str:
        """A coroutine function that waits until the other one runs too."""
        other = "b" if name == "a" else "a"
        events.setdefault(name, asyncio.Event()).set()
        await asyncio.wait_for(events.setdefault(other, asyncio.Event()).wait(), 10)
        return f"waiting {name} done"

    emu.enqueue(Reply(tool_calls=[ToolCall("blocking", {"name": "a"}), ToolCall("blocking", {"name": "b"}),
                                  ToolCall("waiting", {"name": "a"}), ToolCall("waiting", {"name": "b"})]),
                Reply("all done"))
    result = async_api.run_tools(model=MODEL, messages=ASK, tools=[blocking, waiting], on_tool_error="raise")
    assert result.content == "all done"
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == [
        "blocking a done", "blocking b done", "waiting a done", "waiting b done"]  # in call order


def test_run_tools_forwards_create_arguments(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("fine"))
    kwargs: dict[str, Any] = {"temperature": 0.25, "tool_choice": "auto", "extra_headers": {"x-trace": "t1"}}
    api.run_tools(model=MODEL, messages=ASK, tools=[get_weather], **kwargs)
    sent = emu.last_request
    assert sent.json()["temperature"] == 0.25 and sent.json()["tool_choice"] == "auto"
    assert sent.json()["tools"][0]["function"]["name"] == "get_weather"
    assert sent.headers.get("x-trace") == "t1"


def test_leaving_a_streamed_run_early_closes_the_connection(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(" ".join(f"w{i}" for i in range(50)), fault=Fault(stall_after_chunks=2)))
    events = api.client.chat.completions.run_tools_stream(model=MODEL, messages=ASK, tools=[get_weather])
    if api.loop is None:
        assert next(events).type == "chunk"
        events.close()
    else:
        assert api.run(events.__anext__()).type == "chunk"
        api.run(events.aclose())
    assert emu.wait_until_idle(2.0), f"{emu.open_connections} connections still open"
