"""``client.chat.completions``: sync and async."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from .._pipeline import run_async, run_stream_async, run_stream_sync, run_sync
from ..errors import StructuredOutputError
from ..streaming import AsyncStream, Stream
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.chat_params import ChatCompletionCreateParams, ChatCompletionParseParams

if TYPE_CHECKING:
    from ..client import AsyncClient, Client
    from ..structured._stream import AsyncChatEventStream, AsyncChatStreamManager, ChatEventStream, ChatStreamManager
    from ..tools._run import OnToolError, ToolRunEvent, ToolRunResult
    from ..types.parsed import ParsedChatCompletion

__all__ = ["AsyncChat", "AsyncChatCompletions", "Chat", "ChatCompletions"]

T = TypeVar("T")


class ChatCompletions:
    """``client.chat.completions``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion: ...
    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]
    ) -> Stream[ChatCompletionChunk]: ...
    @overload
    def create(
        self, *, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(self, *, stream: bool = False, **params: Any) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Create a chat completion with any provider.

        >>> r = client.chat.completions.create(  # doctest: +SKIP
        ...     model="groq/llama-3.3-70b-versatile",
        ...     messages=[{"role": "user", "content": "Hi"}],
        ... )
        >>> r.choices[0].message.content  # doctest: +SKIP

        With ``stream=True`` it returns a :class:`~llmplex.Stream` of ``ChatCompletionChunk``.
        Accepts every OpenAI parameter plus the per-request options ``api_key``, ``base_url``,
        ``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``, ``extra_body``.
        """
        call = self._client._calls.chat(params, bool(stream))
        if stream:
            return run_stream_sync(call, self._client._transport)
        result: ChatCompletion = run_sync(call, self._client._transport)
        return result

    @overload
    def parse(
        self, *, response_format: type[T], **params: Unpack[ChatCompletionParseParams]
    ) -> ParsedChatCompletion[T]: ...
    @overload
    def parse(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ChatCompletionParseParams]
    ) -> ParsedChatCompletion[Any]: ...

    def parse(self, *, response_format: Any, **params: Any) -> ParsedChatCompletion[Any]:
        """Create a completion whose ``choices[i].message.parsed`` is the reply validated into
        `response_format` (a pydantic model, dataclass, TypedDict or JSON schema), on any provider.

        >>> r = client.chat.completions.parse(model="anthropic/claude-sonnet-4-5",  # doctest: +SKIP
        ...     messages=[{"role": "user", "content": "Ada Lovelace, born 1815"}], response_format=Person)
        >>> r.choices[0].message.parsed  # doctest: +SKIP
        Person(name='Ada Lovelace', born=1815)

        A refusal gives ``parsed=None`` and ``message.refusal``; a reply that does not validate raises
        ``StructuredOutputError`` (``.raw``, ``.errors``), after ``max_validation_retries`` re-asks. A
        reply from the response cache that does not validate is asked for again (``cache="refresh"``),
        replacing the stored one, before any re-ask is counted.
        """
        from ..structured import ValidationRetries, parse_completion, require_plan

        retries = ValidationRetries(params)
        while True:
            call = self._client._calls.chat({**params, "response_format": response_format}, False)
            plan = require_plan(call.output)
            completion: ChatCompletion = run_sync(call, self._client._transport)
            try:
                return parse_completion(completion, plan)
            except StructuredOutputError as exc:
                retries.after(completion, exc)

    def run_tools(self, *, max_turns: int = 10, on_tool_error: OnToolError = "return",
                  **params: Unpack[ChatCompletionCreateParams]) -> ToolRunResult:
        """Let the model call the Python functions in ``tools=`` until it answers without tool calls.

        >>> result = client.chat.completions.run_tools(model="openai/gpt-4o",  # doctest: +SKIP
        ...     messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[get_weather])
        >>> result.content, len(result.messages)  # doctest: +SKIP

        Each turn's tool calls run one after the other; their results (strings as they are, other
        values as JSON) go back as tool messages. A tool's exception is told to the model
        (``on_tool_error="return"``) or raised as ``ToolExecutionError`` (``"raise"``); a call of
        an unknown tool or with invalid arguments is told to the model. After ``max_turns`` model
        calls still asking for tools, ``MaxTurnsExceededError`` (``.messages``) is raised.
        """
        from ..tools._run import ToolLoop, run_sync

        loop = ToolLoop(dict(params), max_turns=max_turns, on_tool_error=on_tool_error, is_async=False)
        for _ in run_sync(self.create, loop, stream=False):
            pass
        return loop.result()

    def run_tools_stream(self, *, max_turns: int = 10, on_tool_error: OnToolError = "return",
                         **params: Unpack[ChatCompletionCreateParams]) -> Iterator[ToolRunEvent]:
        """:meth:`run_tools`, streamed: yields each turn's chunks (``ToolRunChunk``), ``ToolStarted``
        and ``ToolFinished`` for every tool call, and last ``ToolRunFinished`` with the result."""
        from ..tools._run import ToolLoop, run_sync

        loop = ToolLoop(dict(params), max_turns=max_turns, on_tool_error=on_tool_error, is_async=False)
        return run_sync(self.create, loop, stream=True)


    def stream(self, **params: Unpack[ChatCompletionCreateParams]) -> ChatStreamManager:
        """Stream a completion as events: every chunk, the text as it grows and — with a schema
        ``response_format`` — the partially parsed object after each chunk and the validated one at
        the end, on any provider.

        >>> with client.chat.completions.stream(model=m, messages=msgs, response_format=Person) as s:  # doctest: +SKIP
        ...     for event in s:
        ...         if event.type == "content.delta":
        ...             print(event.parsed)          # {'name': 'Ada Lov'} …
        ...     person = s.get_final_completion().choices[0].message.parsed
        """
        from ..structured._stream import ChatEventStream, ChatStreamManager

        def open_stream() -> ChatEventStream:
            call = self._client._calls.chat(dict(params), True)
            return ChatEventStream(run_stream_sync(call, self._client._transport), call.output)

        return ChatStreamManager(open_stream)


class Chat:
    """``client.chat``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @cached_property
    def completions(self) -> ChatCompletions:
        """Chat completions."""
        return ChatCompletions(self._client)


class AsyncChatCompletions:
    """``async_client.chat.completions``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]
    ) -> AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self, *, stream: bool = False, **params: Any
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Async twin of :meth:`ChatCompletions.create`; ``stream=True`` gives an
        :class:`~llmplex.AsyncStream`. Cancelling the awaiting task aborts the request."""
        call = self._client._calls.chat(params, bool(stream))
        if stream:
            return await run_stream_async(call, self._client._transport)
        result: ChatCompletion = await run_async(call, self._client._transport)
        return result

    @overload
    async def parse(
        self, *, response_format: type[T], **params: Unpack[ChatCompletionParseParams]
    ) -> ParsedChatCompletion[T]: ...
    @overload
    async def parse(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ChatCompletionParseParams]
    ) -> ParsedChatCompletion[Any]: ...

    async def parse(self, *, response_format: Any, **params: Any) -> ParsedChatCompletion[Any]:
        """Async twin of :meth:`ChatCompletions.parse`."""
        from ..structured import ValidationRetries, parse_completion, require_plan

        retries = ValidationRetries(params)
        while True:
            call = self._client._calls.chat({**params, "response_format": response_format}, False)
            plan = require_plan(call.output)
            completion: ChatCompletion = await run_async(call, self._client._transport)
            try:
                return parse_completion(completion, plan)
            except StructuredOutputError as exc:
                retries.after(completion, exc)

    async def run_tools(self, *, max_turns: int = 10, on_tool_error: OnToolError = "return",
                        **params: Unpack[ChatCompletionCreateParams]) -> ToolRunResult:
        """Async twin of :meth:`ChatCompletions.run_tools`: one turn's tool calls run concurrently
        (coroutine functions awaited, plain functions in worker threads)."""
        from ..tools._run import ToolLoop, run_async

        loop = ToolLoop(dict(params), max_turns=max_turns, on_tool_error=on_tool_error, is_async=True)
        async for _ in run_async(self.create, loop, stream=False):
            pass
        return loop.result()

    def run_tools_stream(self, *, max_turns: int = 10, on_tool_error: OnToolError = "return",
                         **params: Unpack[ChatCompletionCreateParams]) -> AsyncIterator[ToolRunEvent]:
        """Async twin of :meth:`ChatCompletions.run_tools_stream` (``async for event in ...``)."""
        from ..tools._run import ToolLoop, run_async

        loop = ToolLoop(dict(params), max_turns=max_turns, on_tool_error=on_tool_error, is_async=True)
        return run_async(self.create, loop, stream=True)


    def stream(self, **params: Unpack[ChatCompletionCreateParams]) -> AsyncChatStreamManager:
        """Async twin of :meth:`ChatCompletions.stream`: ``async with client.chat.completions.stream(...) as s``."""
        from ..structured._stream import AsyncChatEventStream, AsyncChatStreamManager

        async def open_stream() -> AsyncChatEventStream:
            call = self._client._calls.chat(dict(params), True)
            return AsyncChatEventStream(await run_stream_async(call, self._client._transport), call.output)

        return AsyncChatStreamManager(open_stream)


class AsyncChat:
    """``async_client.chat``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @cached_property
    def completions(self) -> AsyncChatCompletions:
        """Chat completions."""
        return AsyncChatCompletions(self._client)
