"""``client.chat.completions.stream(...)``: chunks in, `ChatStreamEvent` s out.

`EventState` is the pure part (STYLE.md rule 3): it folds chunks into per-choice snapshots and
says which events they make. `ChatEventStream` / `AsyncChatEventStream` are the thin twins over a
`Stream` / `AsyncStream`; the managers open the request on ``with`` / ``async with``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..streaming import AsyncStream, Stream
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.parsed import ParsedChatCompletion, parsed_completion
from ._events import (
    ChatStreamEvent,
    ChunkEvent,
    ContentDeltaEvent,
    ContentDoneEvent,
    RefusalDeltaEvent,
    RefusalDoneEvent,
    ToolArgumentsDeltaEvent,
    ToolArgumentsDoneEvent,
)
from ._parse import parse_completion
from ._plan import StructuredPlan

__all__ = ["AsyncChatEventStream", "AsyncChatStreamManager", "ChatEventStream", "ChatStreamManager", "EventState"]


@dataclass
class _Choice:
    content: str = ""
    refusal: str = ""
    tools: dict[int, list[str]] = field(default_factory=dict)  # tool index -> [name, arguments]
    finished: bool = False


class EventState:
    """Chunks -> events, for one stream (pure)."""

    def __init__(self, plan: StructuredPlan | None) -> None:
        self.plan = plan
        self._choices: dict[int, _Choice] = {}

    def feed(self, chunk: ChatCompletionChunk) -> list[ChatStreamEvent]:
        events: list[ChatStreamEvent] = [ChunkEvent(chunk)]
        for choice in chunk.choices:
            state = self._choices.setdefault(choice.index, _Choice())
            delta = choice.delta
            if delta.content:
                state.content += delta.content
                events.append(ContentDeltaEvent(choice.index, delta.content, state.content, self.plan is not None))
            if delta.refusal:
                state.refusal += delta.refusal
                events.append(RefusalDeltaEvent(choice.index, delta.refusal, state.refusal))
            for call in delta.tool_calls or []:
                tool = state.tools.setdefault(call.index, ["", ""])
                if call.function is not None:
                    tool[0] += call.function.name or ""
                    if call.function.arguments:
                        tool[1] += call.function.arguments
                        events.append(ToolArgumentsDeltaEvent(choice.index, call.index, tool[0],
                                                              call.function.arguments, tool[1]))
            if choice.finish_reason is not None:
                state.finished = True
        return events

    def done(self, completion: ChatCompletion) -> tuple[list[ChatStreamEvent], ParsedChatCompletion[Any]]:
        """The closing events of every choice and the final completion with ``parsed`` (validated:
        raises ``StructuredOutputError`` when a reply does not fit the schema)."""
        parsed = parse_completion(completion, self.plan) if self.plan is not None else parsed_completion(
            completion, [None] * len(completion.choices))
        events: list[ChatStreamEvent] = []
        for choice in parsed.choices:
            state = self._choices.get(choice.index, _Choice())
            for tool_index, (name, arguments) in sorted(state.tools.items()):
                events.append(ToolArgumentsDoneEvent(choice.index, tool_index, name, arguments))
            if state.refusal:
                events.append(RefusalDoneEvent(choice.index, state.refusal))
            if state.content or choice.message.parsed is not None:
                events.append(ContentDoneEvent(choice.index, state.content, choice.message.parsed))
        return events, parsed


class ChatEventStream:
    """An open stream of `ChatStreamEvent` s. Iterate it; ``get_final_completion()`` gives the
    `ParsedChatCompletion` (reading the rest first); ``close()`` frees the connection."""

    def __init__(self, stream: Stream[ChatCompletionChunk], plan: StructuredPlan | None) -> None:
        self._stream = stream
        self._state = EventState(plan)
        self._final: ParsedChatCompletion[Any] | None = None
        self._events = self._run()

    def _run(self) -> Iterator[ChatStreamEvent]:
        for chunk in self._stream:
            yield from self._state.feed(chunk)
        events, self._final = self._state.done(self._stream.get_final_completion())
        yield from events

    def __iter__(self) -> Iterator[ChatStreamEvent]:
        return self._events

    def __next__(self) -> ChatStreamEvent:
        return next(self._events)

    def until_done(self) -> ChatEventStream:
        """Read every remaining event."""
        for _ in self._events:
            pass
        return self

    def get_final_completion(self) -> ParsedChatCompletion[Any]:
        """The whole completion, ``message.parsed`` validated (reads the rest of the stream)."""
        self.until_done()
        assert self._final is not None
        return self._final

    def close(self) -> None:
        self._stream.close()


class AsyncChatEventStream:
    """Async twin of `ChatEventStream`."""

    def __init__(self, stream: AsyncStream[ChatCompletionChunk], plan: StructuredPlan | None) -> None:
        self._stream = stream
        self._state = EventState(plan)
        self._final: ParsedChatCompletion[Any] | None = None
        self._events = self._run()

    async def _run(self) -> AsyncIterator[ChatStreamEvent]:
        async for chunk in self._stream:
            for event in self._state.feed(chunk):
                yield event
        events, self._final = self._state.done(await self._stream.get_final_completion())
        for event in events:
            yield event

    def __aiter__(self) -> AsyncIterator[ChatStreamEvent]:
        return self._events

    async def __anext__(self) -> ChatStreamEvent:
        return await self._events.__anext__()

    async def until_done(self) -> AsyncChatEventStream:
        async for _ in self._events:
            pass
        return self

    async def get_final_completion(self) -> ParsedChatCompletion[Any]:
        await self.until_done()
        assert self._final is not None
        return self._final

    async def close(self) -> None:
        await self._stream.close()


class ChatStreamManager:
    """``with client.chat.completions.stream(...) as stream:`` — opens the request on enter and
    closes the connection on exit, however the block ends."""

    def __init__(self, open_stream: Callable[[], ChatEventStream]) -> None:
        self._open = open_stream
        self._stream: ChatEventStream | None = None

    def __enter__(self) -> ChatEventStream:
        self._stream = self._open()
        return self._stream

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.close()


class AsyncChatStreamManager:
    """``async with client.chat.completions.stream(...) as stream:`` (async twin)."""

    def __init__(self, open_stream: Callable[[], Coroutine[Any, Any, AsyncChatEventStream]]) -> None:
        self._open = open_stream
        self._stream: AsyncChatEventStream | None = None

    async def __aenter__(self) -> AsyncChatEventStream:
        self._stream = await self._open()
        return self._stream

    async def __aexit__(self, *exc: object) -> None:
        if self._stream is not None:
            await self._stream.close()
