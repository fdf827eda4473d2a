"""Conversation and AsyncConversation over loopback (sync|async): one thread that moves from
Anthropic to Gemini to OpenAI to Ollama with tool calls and reasoning in it, trimming before the
window overflows, summaries written by a model call, and threads resumed from a store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmplex
from llmplex.conversation import DropOldest, SQLiteStore, Summarize
from llmplex.testing import Emulator, Reply, ToolCall
from tests.conftest import Api

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CLAUDE, GEMINI, GPT, LLAMA = ("anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash", "openai/gpt-4o",
                              "ollama/llama3.2")


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    keyed = {p: {"api_key": f"{p}-test-key", "base_url": emu.base_url} for p in ("openai", "anthropic", "gemini")}
    a = Api(mode, providers={**keyed, "ollama": {"base_url": emu.url}})
    yield a
    a.close()


class Thread:
    """A Conversation or an AsyncConversation, driven the same way."""

    def __init__(self, api: Api, **kwargs: Any) -> None:
        self.api = api
        cls = llmplex.AsyncConversation if api.mode == "async" else llmplex.Conversation
        self.conv: Any = cls(api.client, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> Any:
        return self.api.run(self.conv.send(*args, **kwargs))


def _tool_round(thread: Thread, emu: Emulator, model: str, city: str, result: str, answer: str) -> dict[str, Any]:
    """The model calls get_weather (thinking first), gets the result, answers; returns the
    request body that carried the result back."""
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": city})], reasoning=f"Look up {city}."),
                Reply(answer, reasoning=f"{city}: {result}."))
    first = thread.send(f"Weather in {city}?", model=model, tools=[WEATHER])
    (call,) = first.choices[0].message.tool_calls
    thread.conv.add({"role": "tool", "tool_call_id": call.id, "content": result})
    second = thread.send(model=model, tools=[WEATHER])
    assert second.choices[0].message.content == answer
    body: dict[str, Any] = emu.last_request.json()
    return body


def test_one_thread_across_four_providers(api: Api, emu: Emulator) -> None:
    thread = Thread(api, system="You are terse.")
    # Anthropic: its signed thinking block goes back to Anthropic with the tool result
    sent = _tool_round(thread, emu, CLAUDE, "Paris", "sunny", "Sunny in Paris.")
    claude_reply = thread.conv.messages[2]
    signature = claude_reply["thinking_blocks"][0]["signature"]
    assert json.dumps(sent).count(signature) == 1 and '"tool_use"' in json.dumps(sent)

    # Gemini: no trace of Anthropic's thinking; the Paris round arrives as Gemini function parts;
    # Gemini's own thought signature goes back within its own round
    sent = _tool_round(thread, emu, GEMINI, "Rome", "rainy", "Rainy in Rome.")
    text = json.dumps(sent)
    assert signature not in text and "Look up Paris." not in text and "thinking" not in text
    assert '"functionResponse"' in text and "sunny" in text and "Paris" in text
    gemini_reply = thread.conv.messages[6]
    gemini_signature = gemini_reply["thought_signatures"][0]["signature"]
    assert text.count(gemini_signature) == 1

    # OpenAI: plain OpenAI messages, both earlier tool rounds intact, no provider extras at all
    emu.enqueue(Reply("Paris is warmer."))
    thread.send("Which is warmer?", model=GPT, tools=[WEATHER])
    messages = emu.last_request.json()["messages"]
    assert {key for m in messages for key in m} <= {"role", "content", "tool_calls", "tool_call_id"}
    calls = [c["function"]["arguments"] for m in messages for c in m.get("tool_calls") or []]
    assert calls == ['{"city":"Paris"}', '{"city":"Rome"}']
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["sunny", "rainy"]

    # Ollama: the same, in Ollama's shape (no foreign reasoning sent as its "thinking")
    emu.enqueue(Reply("You are welcome."))
    thread.send("Thanks!", model=LLAMA)
    text = json.dumps(emu.last_request.json())
    assert "thinking" not in text and signature not in text and gemini_signature not in text
    assert "sunny" in text and "rainy" in text and "Paris is warmer." in text

    # Back to Anthropic: its own thinking blocks go back to it again, Gemini's do not
    emu.enqueue(Reply("Bye."))
    thread.send("Bye", model=CLAUDE)
    text = json.dumps(emu.last_request.json())
    assert signature in text and gemini_signature not in text and "Look up Rome." not in text
    providers = [e.provider for e in thread.conv.entries if e.message["role"] == "assistant"]
    assert providers == ["anthropic", "anthropic", "gemini", "gemini", "openai", "ollama", "anthropic"]
    assert len(thread.conv) == 15


def test_drop_oldest_trims_before_the_provider_would_refuse(api: Api, emu: Emulator, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "chats.db")
    thread = Thread(api, model=GPT, system="S", context_window=6000, reserve_tokens=1000,
                    strategy=DropOldest(), store=store, id="t")
    for n in range(4):  # each turn is ~1,000 tokens of question and ~1,000 of echo
        thread.send(f"q{n} " + "x" * 4000)
    sent = emu.last_request.json()["messages"]
    # budget 6000 * 0.9 - 1000 - 3 = 4397: the system prompt, one whole earlier turn and the new question
    assert [m["content"][:3] for m in sent] == ["S", "q2 ", "Ech", "q3 "]
    assert [m["content"][:3] for m in thread.conv.messages] == ["S", "q2 ", "Ech", "q3 ", "Ech"]
    assert store.load("t") == thread.conv.entries  # the store holds the trimmed thread


def test_the_catalog_window_applies_and_unknown_models_are_never_trimmed(api: Api, emu: Emulator) -> None:
    first, second = "y" * 400_000, "z" * 400_000  # ~100k tokens each: both exceed Claude's 200k window
    thread = Thread(api, model=CLAUDE)
    emu.enqueue(Reply("one"), Reply("two"))
    thread.send(first)
    thread.send(second)
    assert first not in emu.last_request.text() and second in emu.last_request.text()
    unknown = Thread(api, model="openai/gpt-unlisted")  # a model the catalog has no window for
    emu.enqueue(Reply("one"), Reply("two"))
    unknown.send(first)
    unknown.send(second)
    assert first in emu.last_request.text() and second in emu.last_request.text()


def test_summarize_replaces_old_turns_by_one_summary(api: Api, emu: Emulator) -> None:
    # budget 3500 * 0.9 - 500 - 3 = 2647 tokens; each turn is ~1,000
    thread = Thread(api, model=CLAUDE, system="S", context_window=3500, reserve_tokens=500,
                    strategy=Summarize(model=GPT, max_summary_tokens=200))
    for n in range(3):
        emu.enqueue(Reply(f"answer {n} " + "a" * 2000))
        thread.send(f"question {n} " + "q" * 2000)
    emu.enqueue(Reply("The user asked three long questions."), Reply("fine"))
    thread.send("question 3")
    summary_request, answer_request = (r.json() for r in emu.requests[-2:])
    assert summary_request["model"] == "gpt-4o" and summary_request["max_tokens"] == 200
    assert "question 0" in summary_request["messages"][1]["content"]
    sent = json.dumps(answer_request)
    assert "Summary of the earlier conversation:\\nThe user asked three long questions." in sent
    assert "question 0" not in sent and "question 1" not in sent and "question 2" in sent
    contents = [m["content"][:10] for m in thread.conv.messages]
    assert contents == ["S", "Summary of", "question 2", "answer 2 a", "question 3", "fine"]


def test_too_large_to_fit_raises_before_sending(api: Api, emu: Emulator) -> None:
    thread = Thread(api, model=GPT, context_window=1000)
    with pytest.raises(llmplex.ContextWindowExceededError, match="even after trimming"):
        thread.send("x" * 10_000)
    assert emu.requests == [] and len(thread.conv) == 0  # nothing sent, nothing appended


def test_a_stored_thread_resumes_with_its_extras(api: Api, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "chats.db"
    first = Thread(api, model=CLAUDE, store=path, id="support-42", system="S")
    emu.enqueue(Reply("Forty-two.", reasoning="Six times seven."))
    first.send("What is six times seven?")
    first.conv.close()
    resumed = Thread(api, store=path, id="support-42", system="ignored: the thread exists")
    assert resumed.conv.entries == first.conv.entries
    signature = resumed.conv.messages[-1]["thinking_blocks"][0]["signature"]
    emu.enqueue(Reply("You are welcome."))
    resumed.send("Thanks", model=CLAUDE)
    assert signature in emu.last_request.text()
    assert len(SQLiteStore(path).load("support-42")) == 5


def test_send_refuses_what_the_conversation_owns(api: Api) -> None:
    thread = Thread(api, model=GPT)
    for bad in ({"stream": True}, {"messages": [{"role": "user", "content": "x"}]}):
        with pytest.raises(llmplex.InvalidRequestError, match="takes no"):
            thread.send("hi", **bad)
    with pytest.raises(llmplex.InvalidRequestError, match="no model"):
        Thread(api).send("hi")


def _stream_turn(thread: Thread, message: str, **kwargs: Any) -> list[Any]:
    if thread.api.loop is None:
        return list(thread.conv.stream(message, **kwargs))

    async def go() -> list[Any]:
        return [chunk async for chunk in thread.conv.stream(message, **kwargs)]

    return thread.api.run(go())


def test_a_streamed_turn_is_appended_when_it_completes(api: Api, emu: Emulator) -> None:
    thread = Thread(api, model=CLAUDE, system="Be brief.")
    emu.enqueue(Reply("one two three four", chunk_words=1))
    chunks = _stream_turn(thread, "Count to four")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three four"
    assert [m["role"] for m in thread.conv.messages] == ["system", "user", "assistant"]
    assert thread.conv.messages[-1]["content"] == "one two three four"

    emu.enqueue(Reply.stream_error(2, "overloaded"))  # a turn that fails appends nothing
    with pytest.raises(llmplex.APIStatusError):
        _stream_turn(thread, "Again", model=GEMINI, max_retries=0)
    assert len(thread.conv.messages) == 3
    emu.enqueue(Reply("five"))
    thread.send("Go on")
    assert "one two three four" in emu.last_request.text()  # the streamed reply is in the history
