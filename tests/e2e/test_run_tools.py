"""``run_tools`` over every provider protocol of the conversation matrix, sync and async: the
model calls two Python functions in one turn, sees their results, then answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmplex.testing import Emulator, Reply, ToolCall
from tests.conftest import Api
from tests.e2e import test_conversation_matrix as matrix

PROVIDERS = matrix.PROVIDERS
provider = matrix.provider  # the matrix's fixtures: one row per provider protocol, sync and async
api = matrix.api


@dataclass
class Reading:
    city: str
    celsius: float


def get_weather(city: str) -> Reading:
    """Current weather in a city.

    Args:
        city: The city name, e.g. Paris.
    """
    return Reading(city, 21.5)


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TWO_CALLS = Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("add", {"a": "2", "b": 3})])
ANSWER = "Paris is at 21.5 C, and 2 + 3 = 5."
QUESTION = [{"role": "user", "content": "Weather in Paris, and 2 + 3?"}]


def test_two_tools_in_one_turn_then_an_answer(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(TWO_CALLS, Reply(ANSWER))
    result = api.run_tools(model=PROVIDERS[provider].model, messages=QUESTION, tools=[get_weather, add])

    assert result.content == ANSWER and result.completion.choices[0].finish_reason == "stop"
    assert result.turns == 2 and len(emu.requests) == 2
    roles = [m["role"] for m in result.messages]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    weather, total = result.messages[1]["tool_calls"]
    assert (weather["function"]["name"], total["function"]["name"]) == ("get_weather", "add")
    assert [m["tool_call_id"] for m in result.messages[2:4]] == [weather["id"], total["id"]]
    assert json.loads(result.messages[2]["content"]) == {"city": "Paris", "celsius": 21.5}  # a dataclass, as JSON
    assert result.messages[3]["content"] == "5"  # "2" validated into an int before add() ran

    sent = emu.last_request.text()  # the second request carried the calls, both results and the tools
    for text in ("get_weather", "celsius", "21.5", "Current weather in a city.", "Add two integers."):
        assert text in sent


def test_streamed_run_reports_chunks_and_tool_events(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(TWO_CALLS, Reply(ANSWER, chunk_words=2))
    row = PROVIDERS[provider]
    events = api.run_tools_events(model=row.model, messages=QUESTION, tools=[get_weather, add],
                                  **row.stream_kwargs or {})

    kinds = [e.type for e in events]
    assert kinds[-1] == "finished" and kinds.count("finished") == 1
    tool_events = [e for e in events if e.type in ("tool_started", "tool_finished")]
    started = [e.call.function.name for e in tool_events if e.type == "tool_started"]
    finished = {e.call.function.name: e for e in tool_events if e.type == "tool_finished"}
    assert started == ["get_weather", "add"] and set(finished) == {"get_weather", "add"}
    assert finished["add"].result == 5 and finished["add"].content == "5" and finished["add"].error is None
    assert finished["get_weather"].result == Reading("Paris", 21.5)
    assert all(e.turn == 1 for e in tool_events)
    # every tool event comes after turn 1's chunks and before turn 2's
    first_tool, last_tool = kinds.index("tool_started"), len(kinds) - 1 - kinds[::-1].index("tool_finished")
    chunk_turns = [(i, e.turn) for i, e in enumerate(events) if e.type == "chunk"]
    assert all(turn == (1 if i < first_tool else 2) for i, turn in chunk_turns)
    assert all(i < first_tool or i > last_tool for i, _ in chunk_turns)
    answer = "".join(c.content or "" for e in events if e.type == "chunk" and e.turn == 2
                     for c in (ch.delta for ch in e.chunk.choices))
    assert answer == ANSWER
    result = events[-1].result
    assert result.content == ANSWER and [m["role"] for m in result.messages][-3:] == ["tool", "tool", "assistant"]


def test_parsed_arguments_of_a_create_call(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("add", {"a": "40", "b": 2})]),
                Reply(tool_calls=[ToolCall("add", {"a": "40", "b": 2})]))
    kwargs: dict[str, Any] = {"model": PROVIDERS[provider].model, "messages": QUESTION, "tools": [add]}
    whole = api.chat(**kwargs)
    streamed = api.stream(**kwargs)[1]
    for completion in (whole, streamed):
        (call,) = completion.choices[0].message.tool_calls
        assert call.parsed_arguments == {"a": 40, "b": 2}  # validated: "40" became an int
