"""``chat.completions.run_tools``: the model calls Python functions until it answers.

`ToolLoop` is the bookkeeping, with no I/O: the conversation, which calls to make of the model's
tool calls, what the model is told of each outcome, when to stop. The drivers :func:`run_sync` and
:func:`run_async` are twins written out (STYLE.md rule 4): they ask the model, run the functions
and report each step as a `ToolRunEvent`. ``run_tools`` drains them; ``run_tools_stream`` hands the
events to the caller.

The async driver runs one turn's tool calls concurrently: coroutine functions are awaited, plain
functions run in worker threads (``asyncio.to_thread``) so a blocking tool does not stall the loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from ..errors import (
    InvalidRequestError,
    InvalidResponseError,
    MaxTurnsExceededError,
    ToolArgumentsError,
    ToolExecutionError,
)
from ._arguments import parse_arguments
from ._tool import Tool, as_tool

if TYPE_CHECKING:
    from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageToolCall

__all__ = [
    "OnToolError",
    "ToolFinished",
    "ToolLoop",
    "ToolRunChunk",
    "ToolRunEvent",
    "ToolRunFinished",
    "ToolRunResult",
    "ToolStarted",
    "run_async",
    "run_sync",
    "tool_content",
]

OnToolError = Literal["return", "raise"]
"""What a tool's exception does: ``"return"`` tells the model (``"Error: ValueError: ..."`` is the
tool result it sees), ``"raise"`` stops the run with `ToolExecutionError`."""


@dataclass
class ToolRunResult:
    """What ``run_tools`` returns: the final completion and the whole conversation, every
    assistant tool-call message and tool result included (the input messages first)."""

    completion: ChatCompletion
    """The last completion: the model's answer without tool calls."""
    messages: list[Any]
    """The input messages, then each assistant message and the tool messages answering it."""
    turns: int
    """How many times the model was called."""

    @property
    def content(self) -> str | None:
        """The text of the final answer (choice 0)."""
        return self.completion.choices[0].message.content


@dataclass(frozen=True)
class ToolRunChunk:
    """A chunk of the model's streamed reply in turn `turn` (1-based)."""

    chunk: ChatCompletionChunk
    turn: int
    type: Literal["chunk"] = "chunk"


@dataclass(frozen=True)
class ToolStarted:
    """A tool call is about to run (also sent for calls that cannot run: unknown tool, bad arguments)."""

    call: ChatCompletionMessageToolCall
    turn: int
    type: Literal["tool_started"] = "tool_started"


@dataclass(frozen=True)
class ToolFinished:
    """A tool call is done: `content` is the tool result the model will see, `result` what the
    function returned, `error` what it raised (or the `ToolArgumentsError` / unknown-tool error)."""

    call: ChatCompletionMessageToolCall
    turn: int
    content: str
    result: Any = None
    error: Exception | None = None
    type: Literal["tool_finished"] = "tool_finished"


@dataclass(frozen=True)
class ToolRunFinished:
    """The model answered without calling tools: the last event of a run."""

    result: ToolRunResult
    type: Literal["finished"] = "finished"


ToolRunEvent = Union[ToolRunChunk, ToolStarted, ToolFinished, ToolRunFinished]
"""What ``run_tools_stream`` yields; ``event.type`` tells them apart."""


@dataclass(frozen=True)
class _Invocation:
    """One tool call, ready to run (`function` set) or already failed (`error` set)."""

    call: ChatCompletionMessageToolCall
    function: Callable[..., Any] | None
    arguments: Mapping[str, Any]
    error: Exception | None = None


def tool_content(value: Any) -> str:
    """A function's return value as the tool message's content: a string as it is, anything
    else as JSON (pydantic models, dataclasses, dates … serialised the way pydantic does)."""
    if isinstance(value, str):
        return value
    from pydantic_core import to_json

    return to_json(value, fallback=str).decode()


def _error_content(error: Exception, ran: bool) -> str:
    """What the model is told of a failed call: the exception of a tool that ran, else why it
    could not run (unknown tool, invalid arguments) so the model can correct itself."""
    if ran:
        return f"Error: {type(error).__name__}: {error}"
    if isinstance(error, ToolArgumentsError):
        problems = "; ".join(error.errors) or "not a JSON object"
        return f"Error: invalid arguments for {error.tool_name!r}: {problems}. Call it again with valid arguments."
    return f"Error: {error.args[0] if error.args else error}"


class ToolLoop:
    """The state of one ``run_tools`` run."""

    def __init__(self, params: dict[str, Any], *, max_turns: int, on_tool_error: str, is_async: bool) -> None:
        if "stream" in params:
            raise InvalidRequestError("run_tools takes no stream=; use run_tools_stream(...) for the events")
        if on_tool_error not in ("return", "raise"):
            raise InvalidRequestError(f"on_tool_error must be 'return' or 'raise', not {on_tool_error!r}")
        if not isinstance(max_turns, int) or max_turns < 1:
            raise InvalidRequestError(f"max_turns must be a positive int, not {max_turns!r}")
        self.tools = _runnable_tools(params.get("tools"), is_async)
        messages = params.pop("messages", None)
        if not isinstance(messages, (list, tuple)):
            raise InvalidRequestError("run_tools needs messages=[...], a list of messages")
        self.messages: list[Any] = list(messages)
        self.params = {**params, "tools": list(self.tools.values())}
        self.max_turns = max_turns
        self.on_tool_error = on_tool_error
        self.turn = 0
        self.completion: ChatCompletion | None = None

    def request(self) -> dict[str, Any]:
        """The keyword arguments of the next model call."""
        self.turn += 1
        return {**self.params, "messages": list(self.messages)}

    def receive(self, completion: ChatCompletion) -> list[_Invocation]:
        """Record the model's reply; the tool calls to run (none: the run is over)."""
        self.completion = completion
        if not completion.choices:
            raise InvalidResponseError("the model's reply has no choices: nothing to answer or call")
        message = completion.choices[0].message
        self.messages.append(message.to_param())
        return [self._invocation(call) for call in message.tool_calls or ()]

    def _invocation(self, call: ChatCompletionMessageToolCall) -> _Invocation:
        name = call.function.name
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(self.tools)
            return _Invocation(call, None, {}, LookupError(f"there is no tool named {name!r}; the tools are: {known}"))
        try:
            arguments = parse_arguments(call.function.arguments, tool, tool_name=name, call_id=call.id)
        except ToolArgumentsError as exc:
            if self.on_tool_error == "raise":
                raise
            return _Invocation(call, None, {}, exc)
        return _Invocation(call, tool.function, arguments)

    def finished(self, invocation: _Invocation, value: Any, error: Exception | None) -> ToolFinished:
        """Record a call's outcome as a tool message (or raise it, under ``on_tool_error="raise"``)."""
        call = invocation.call
        ran = invocation.function is not None
        if error is not None and ran and self.on_tool_error == "raise":
            raise ToolExecutionError(
                f"tool {call.function.name!r} raised {type(error).__name__}: {error}",
                tool_name=call.function.name, call_id=call.id, messages=self.messages,
            ) from error
        content = _error_content(error, ran) if error is not None else tool_content(value)
        self.messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return ToolFinished(call, self.turn, content, value, error)

    def end_turn(self) -> None:
        """After a turn's tools ran: stop when no model call is left."""
        if self.turn >= self.max_turns:
            raise MaxTurnsExceededError(
                f"the model was still calling tools after max_turns={self.max_turns}; the conversation "
                f"so far is on .messages (pass it to run_tools to carry on)",
                messages=self.messages, completion=self.completion,
            )

    def result(self) -> ToolRunResult:
        """The run's result (once the model answered without tool calls)."""
        assert self.completion is not None
        return ToolRunResult(self.completion, self.messages, self.turn)


def _runnable_tools(tools: Any, is_async: bool) -> dict[str, Tool]:
    if not isinstance(tools, (list, tuple)) or not tools:
        raise InvalidRequestError("run_tools needs tools=[...]: Python functions or llmplex.Tool objects")
    found: dict[str, Tool] = {}
    for item in tools:
        if isinstance(item, Mapping):
            raise InvalidRequestError(
                "run_tools runs Python functions: give the functions (or @llmplex.tool objects), not tool dicts"
            )
        made = as_tool(item)
        if made.function is None:
            raise InvalidRequestError(f"tool {made.name!r} has no Python function for run_tools to call")
        if not is_async and _is_coroutine_function(made.function):
            raise InvalidRequestError(
                f"tool {made.name!r} is an async function: run it with AsyncClient's run_tools"
            )
        found[made.name] = made
    return found


def _is_coroutine_function(fn: Callable[..., Any]) -> bool:
    # An object whose __call__ is ``async def`` is a coroutine function too.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _call_sync(invocation: _Invocation) -> tuple[Any, Exception | None]:
    if invocation.function is None:
        return None, invocation.error
    try:
        return invocation.function(**invocation.arguments), None
    except Exception as exc:  # the tool's failure is an outcome the loop reports, not ours
        return None, exc


async def _call_async(invocation: _Invocation) -> tuple[Any, Exception | None]:
    function = invocation.function
    if function is None:
        return None, invocation.error
    try:
        if _is_coroutine_function(function):
            return await function(**invocation.arguments), None
        # A plain function may block (I/O, CPU): a worker thread lets the turn's calls overlap.
        value = await asyncio.to_thread(function, **invocation.arguments)
        return (await value if inspect.isawaitable(value) else value), None
    except Exception as exc:
        return None, exc


def run_sync(create: Callable[..., Any], loop: ToolLoop, *, stream: bool) -> Iterator[ToolRunEvent]:
    """Ask, run the tools one after the other, feed the results back, until the model answers."""
    while True:
        request = loop.request()
        if stream:
            with create(stream=True, **request) as chunks:
                for chunk in chunks:
                    yield ToolRunChunk(chunk, loop.turn)
                completion = chunks.get_final_completion()
        else:
            completion = create(**request)
        invocations = loop.receive(completion)
        if not invocations:
            break
        for invocation in invocations:
            yield ToolStarted(invocation.call, loop.turn)
            yield loop.finished(invocation, *_call_sync(invocation))
        loop.end_turn()
    yield ToolRunFinished(loop.result())


async def run_async(create: Callable[..., Any], loop: ToolLoop, *, stream: bool) -> AsyncIterator[ToolRunEvent]:
    """Async twin of :func:`run_sync`; one turn's tool calls run concurrently."""
    while True:
        request = loop.request()
        if stream:
            chunks = await create(stream=True, **request)
            async with chunks:
                async for chunk in chunks:
                    yield ToolRunChunk(chunk, loop.turn)
                completion = await chunks.get_final_completion()
        else:
            completion = await create(**request)
        invocations = loop.receive(completion)
        if not invocations:
            break
        for invocation in invocations:
            yield ToolStarted(invocation.call, loop.turn)
        outcomes = await asyncio.gather(*(_call_async(invocation) for invocation in invocations))
        for invocation, outcome in zip(invocations, outcomes, strict=True):
            yield loop.finished(invocation, *outcome)
        loop.end_turn()
    yield ToolRunFinished(loop.result())
