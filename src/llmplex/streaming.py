"""Streams: a pure processor (framing -> adapter decoder -> accumulator) and the thin sync/async
shells users iterate.

The shells hold no logic: bytes go into :class:`StreamProcessor`, chunks come out. Whatever ends
a stream early — a reset, a timeout, a malformed event, a missing terminal event — raises a typed
error; a stream never ends quietly short.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._framing import Framer, framer_for
from ._http import StreamFormat
from .errors import APIConnectionError, APITimeoutError, LLMError, StreamInterruptedError
from .providers.base import StreamDecoder
from .transport import AsyncBufferedStreamResponse, AsyncStreamResponse, BufferedStreamResponse, SyncStreamResponse
from .types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    Function,
)
from .types.completion import Completion, CompletionChoice

if TYPE_CHECKING:
    from .cache._use import StreamRecorder
    from .events import CallObserver
    from .resilience.deadline import StreamTimer

__all__ = [
    "AsyncStream",
    "ChatCompletionAccumulator",
    "CompletionAccumulator",
    "Stream",
    "StreamProcessor",
]

T = TypeVar("T", ChatCompletionChunk, Completion)

class _ChoiceState:
    __slots__ = (
        "choice_extra", "content", "finish_reason", "logprobs", "message_extra", "reasoning", "refusal", "role",
        "tools",
    )

    def __init__(self) -> None:
        self.message_extra: dict[str, Any] = {}
        self.choice_extra: dict[str, Any] = {}
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.role = "assistant"
        self.finish_reason: str | None = None
        self.logprobs: list[Any] = []
        self.tools: dict[int, dict[str, Any]] = {}

    def fold(self, choice: ChunkChoice) -> None:
        """Fold one streamed choice into this state."""
        delta = choice.delta
        if delta.content:
            self.content.append(delta.content)
        if delta.reasoning_content:
            self.reasoning.append(delta.reasoning_content)
        if delta.refusal:
            self.refusal.append(delta.refusal)
        if delta.tool_calls:
            _merge_tool_calls(self.tools, delta.tool_calls)
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
        if choice.logprobs is not None and choice.logprobs.content:
            self.logprobs.extend(choice.logprobs.content)
        if delta.__pydantic_extra__:
            _merge_extra(self.message_extra, delta.__pydantic_extra__)
        if choice.__pydantic_extra__:
            _merge_extra(self.choice_extra, choice.__pydantic_extra__)


class ChatCompletionAccumulator:
    """Merges chunks into the ``ChatCompletion`` a non-streamed call would have returned:
    content, reasoning and refusal concatenated, tool-call argument deltas merged by index,
    finish reasons, logprobs, usage and provider extras (``citations`` …) kept. `finish`, when
    given, is applied to the completion it builds (how a stream's tool calls learn their tools)."""

    def __init__(self, finish: Callable[[ChatCompletion], ChatCompletion] | None = None) -> None:
        self._finish = finish
        self._choices: dict[int, _ChoiceState] = {}
        self._first: ChatCompletionChunk | None = None
        self._usage: Any = None
        self._extra: dict[str, Any] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in."""
        if self._first is None:
            self._first = chunk
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.model_extra:
            self._extra.update({k: v for k, v in chunk.model_extra.items() if v is not None})
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
            state.fold(choice)

    @property
    def usage(self) -> Any:
        """The usage reported so far (the last chunk that carried one)."""
        return self._usage

    @property
    def text(self) -> str:
        """The content received so far for choice 0."""
        state = self._choices.get(0)
        return "".join(state.content) if state else ""

    def completion(self) -> ChatCompletion:
        """The accumulated ``ChatCompletion``."""
        first = self._first
        choices = [_build_choice(index, state) for index, state in sorted(self._choices.items())]
        completion = ChatCompletion(
            id=first.id if first else "",
            created=first.created if first else 0,
            model=first.model if first else "",
            choices=choices,
            usage=self._usage,
            system_fingerprint=first.system_fingerprint if first else None,
            service_tier=first.service_tier if first else None,
            **{k: v for k, v in self._extra.items() if k not in {"obfuscation"}},
        )
        return self._finish(completion) if self._finish is not None else completion


def _merge_extra(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Provider fields on deltas and choices: lists accumulate (e.g. Anthropic ``thinking_blocks``,
    OpenRouter ``reasoning_details``), other values keep the last one sent."""
    for key, value in extra.items():
        if value is None:
            continue
        if isinstance(value, list):
            into.setdefault(key, []).extend(value)
        else:
            into[key] = value


def _merge_tool_calls(tools: dict[int, dict[str, Any]], deltas: list[Any]) -> None:
    for delta in deltas:
        slot = tools.get(delta.index)
        if slot is None:
            slot = tools[delta.index] = {"id": None, "name": [], "arguments": []}
        if delta.id:
            slot["id"] = delta.id
        fn = delta.function
        if fn is not None:
            # Some hosts repeat the whole name in a later delta: a repeat is not a continuation.
            if fn.name and "".join(slot["name"]) != fn.name:
                slot["name"].append(fn.name)
            if fn.arguments:
                slot["arguments"].append(fn.arguments)


def _build_choice(index: int, state: _ChoiceState) -> Choice:
    tool_calls = [
        ChatCompletionMessageToolCall(
            id=slot["id"] or f"call_{index}_{i}",
            function=Function(name="".join(slot["name"]), arguments="".join(slot["arguments"])),
        )
        for i, slot in sorted(state.tools.items())
    ]
    message = ChatCompletionMessage(
        content="".join(state.content) if state.content or not (tool_calls or state.refusal) else None,
        refusal="".join(state.refusal) if state.refusal else None,
        reasoning_content="".join(state.reasoning) if state.reasoning else None,
        tool_calls=tool_calls or None,
        annotations=state.message_extra.get("annotations") or None,  # OpenAI streams them on deltas
        **_extras_for(ChatCompletionMessage, state.message_extra),
    )
    logprobs = ChoiceLogprobs(content=state.logprobs) if state.logprobs else None
    return Choice(index=index, message=message, finish_reason=state.finish_reason, logprobs=logprobs,
                  **_extras_for(Choice, state.choice_extra))


def _extras_for(model: type[Any], extra: dict[str, Any]) -> dict[str, Any]:
    # Some hosts repeat a whole "message" in every streamed choice (Perplexity): a provider extra
    # never overrides a field the accumulator computed.
    return {k: v for k, v in extra.items() if k not in model.model_fields} if extra else extra


class CompletionAccumulator:
    """Merges streamed legacy ``Completion`` pieces into one ``Completion``."""

    def __init__(self) -> None:
        self._first: Completion | None = None
        self._texts: dict[int, list[str]] = {}
        self._finish: dict[int, str | None] = {}
        self._usage: Any = None

    def add(self, piece: Completion) -> None:
        """Fold one piece in."""
        if self._first is None:
            self._first = piece
        if piece.usage is not None:
            self._usage = piece.usage
        for choice in piece.choices:
            self._texts.setdefault(choice.index, []).append(choice.text)
            if choice.finish_reason is not None:
                self._finish[choice.index] = choice.finish_reason

    @property
    def usage(self) -> Any:
        """The usage reported so far (the last piece that carried one)."""
        return self._usage

    @property
    def text(self) -> str:
        """The text received so far for choice 0."""
        return "".join(self._texts.get(0, []))

    def completion(self) -> Completion:
        """The accumulated ``Completion``."""
        first = self._first
        return Completion(
            id=first.id if first else "",
            created=first.created if first else 0,
            model=first.model if first else "",
            choices=[
                CompletionChoice(index=i, text="".join(t), finish_reason=self._finish.get(i))
                for i, t in sorted(self._texts.items())
            ],
            usage=self._usage,
        )


Accumulator = ChatCompletionAccumulator | CompletionAccumulator


class StreamProcessor(Generic[T]):
    """Pure stream pipeline: ``feed(bytes) -> chunks``, ``close() -> chunks``, ``fail(error)``.

    ``observer`` (the call's :class:`~llmplex.events.CallObserver`) is shown chunks until the
    first token (and every chunk when someone subscribed to them), and told how the stream ended;
    secrets are scrubbed from every error it hands out.
    """

    def __init__(
        self,
        framing: StreamFormat,
        decoder: StreamDecoder[T],
        accumulator: Accumulator,
        *,
        provider: str,
        model: str,
        secrets: list[str],
        content_type: str | None = None,
        timer: StreamTimer | None = None,
        observer: CallObserver | None = None,
        pricing: Callable[[Any], Any] | None = None,
        recorder: StreamRecorder | None = None,
        replayed: bool = False,
    ) -> None:
        if observer is None:
            from .events._observer import NULL_OBSERVER

            observer = NULL_OBSERVER
        self.observer: CallObserver = observer
        self.pricing = pricing
        """Sets ``cost`` on the accumulated result (see :meth:`final`)."""
        self.recorder = recorder
        """Keeps the raw bytes for the response cache, stored only when the stream ends well."""
        self.replayed = replayed
        """Whether the bytes come from the response cache rather than the provider."""
        self._watch = True
        self._framer: Framer = framer_for(framing, content_type)
        self._timer = timer
        self.read_limit: Callable[[], float | None] | None = timer.read_limit if timer is not None else None
        """Seconds the next network read may wait (first-token / idle timeouts, deadline)."""
        self.delivered = 0
        self.ended = False
        """Whether the stream ended well (its terminal event was seen)."""
        self._final: Any = None
        """Chunks produced so far."""
        self._decoder: StreamDecoder[T] = decoder
        self.accumulator: Accumulator = accumulator
        self._provider = provider
        self._model = model
        self._secrets = secrets

    def feed(self, data: bytes) -> Iterator[T]:
        """Decode received bytes into chunks (and fold them into the accumulator).

        A generator, so that every chunk decoded before a bad event reaches the caller before
        the error does (RELIABILITY C4: no delta lost)."""
        add = self.accumulator.add
        timer = self._timer
        if self.recorder is not None:
            self.recorder.add(data)
        for frame in self._framer.feed(data):
            for chunk in self._decoder.feed(frame):
                add(chunk)  # type: ignore[arg-type]
                self.delivered += 1
                if timer is not None:
                    timer.chunk()
                if self._watch:
                    self._watch = self.observer.chunk(chunk)
                yield chunk

    def close(self) -> list[T]:
        """End of body: flush the framer; raise if the stream ended before its terminal event."""
        out: list[T] = []
        for frame in self._framer.close():
            out.extend(self._decoder.feed(frame))
        out.extend(self._decoder.close())
        for chunk in out:
            self.accumulator.add(chunk)  # type: ignore[arg-type]
            if self._watch:
                self._watch = self.observer.chunk(chunk)
        self.delivered += len(out)
        self.ended = True
        if self.recorder is not None:
            self.recorder.complete()
        usage = self.accumulator.usage
        if usage is None and self.pricing is not None:  # no usage streamed: the final result counts one
            usage = getattr(self.final(), "usage", None)
        self.observer.stream_finished(usage, self.final)
        return out

    def final(self) -> Any:
        """The accumulated response, priced (``cost``) when the call knows how; built once, after the
        stream ended (the events of the call and ``get_final_completion()`` share it)."""
        if self._final is None or not self.ended:
            result = self.accumulator.completion()
            if self.pricing is not None:
                self.pricing(result)
            if not self.ended:
                return result
            self._final = result
        return self._final

    def fail(self, error: BaseException) -> LLMError:
        """The typed error to raise for a failure mid-stream, carrying the partial text. Before the
        first chunk nothing was lost: a connection failure stays an ``APIConnectionError`` (which
        the drivers retry); a read timeout names the limit it hit."""
        if isinstance(error, APITimeoutError) and self._timer is not None:
            error = self._timer.explain(error)
        if self.delivered == 0 and isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError):
            result: LLMError = APIConnectionError(f"the stream ended before its first chunk: {error.message}",
                                                  provider=self._provider, model=self._model)
        elif isinstance(error, StreamInterruptedError) or (
            isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError)
        ):
            result = StreamInterruptedError(
                f"the stream was interrupted: {error.message}",
                partial_text=self.accumulator.text, provider=self._provider, model=self._model,
            )
        elif isinstance(error, LLMError):
            result = error
            result.provider = result.provider or self._provider
            result.model = result.model or self._model
        else:
            result = StreamInterruptedError(f"the stream failed: {type(error).__name__}",
                                            partial_text=self.accumulator.text)
        result.scrub(self._secrets)
        # Before its first chunk a stream still belongs to the driver (prefetch): it retries or falls
        # back, and reports how the call ended (a retried call that succeeds must not count as failed).
        return self.observer.failed(result) if self.delivered else result


class Stream(Generic[T]):
    """A streamed response: iterate it for chunks; it is a context manager.

    >>> with client.chat.completions.create(model=m, messages=msgs, stream=True) as stream:  # doctest: +SKIP
    ...     for text in stream.text_stream:
    ...         print(text, end="")
    ...     final = stream.get_final_completion()
    """

    def __init__(
        self, response: SyncStreamResponse | BufferedStreamResponse, processor: StreamProcessor[T]
    ) -> None:
        self.response = response
        self._processor: StreamProcessor[T] = processor
        # The generator must not reference ``self``: without a cycle, dropping the last
        # reference (``break`` out of a for loop, ``del stream``) closes the connection at once.
        self._iterator: Generator[T, None, None] = _sync_chunks(response, processor)
        self._started = False

    def __iter__(self) -> Iterator[T]:
        self._started = True
        return self._iterator

    def __next__(self) -> T:
        self._started = True
        return next(self._iterator)

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the text deltas of the first choice."""
        self._started = True
        for chunk in self._iterator:
            text = _first_text(chunk)
            if text:
                yield text

    @overload
    def get_final_completion(self: Stream[ChatCompletionChunk]) -> ChatCompletion: ...
    @overload
    def get_final_completion(self: Stream[Completion]) -> Completion: ...

    def get_final_completion(self) -> ChatCompletion | Completion:
        """Consume the rest of the stream and return the accumulated response
        (``ChatCompletion`` for chat, ``Completion`` for text completions)."""
        self._started = True
        for _ in self._iterator:
            pass
        result: ChatCompletion | Completion = self._processor.final()
        return result

    @property
    def cached(self) -> bool:
        """Whether this stream is replayed from the response cache."""
        return self._processor.replayed

    def prefetch(self) -> Stream[T]:
        """Wait for the first chunk (raising what ended the stream before it); iteration then
        starts with it. The drivers hand over a stream only after this."""
        self._started = True
        rest = self._iterator
        self._iterator = _resume(next(rest, _NOTHING), rest)
        return self

    def close(self) -> None:
        """Release the connection (closed if the body was not read to the end)."""
        self._processor.observer.abandoned()
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._iterator.close()
        self.close()

    def __del__(self) -> None:
        # Once iteration started, the generator owns the connection and closes it when it is
        # finished or collected; a stream never iterated is closed here.
        if not getattr(self, "_started", True):
            try:
                self.response.close()
            except Exception:
                pass


class AsyncStream(Generic[T]):
    """An async streamed response: ``async for`` it for chunks; an async context manager.

    ``task.cancel()`` while iterating aborts the HTTP request and frees the connection.
    """

    def __init__(
        self, response: AsyncStreamResponse | AsyncBufferedStreamResponse, processor: StreamProcessor[T]
    ) -> None:
        self.response = response
        self._processor: StreamProcessor[T] = processor
        self._iterator: AsyncGenerator[T, None] = _async_chunks(response, processor)
        self._started = False

    def __aiter__(self) -> AsyncIterator[T]:
        self._started = True
        return self._iterator

    async def __anext__(self) -> T:
        self._started = True
        return await self._iterator.__anext__()

    @property
    async def text_stream(self) -> AsyncIterator[str]:
        """Only the text deltas of the first choice."""
        self._started = True
        async for chunk in self._iterator:
            text = _first_text(chunk)
            if text:
                yield text

    @overload
    async def get_final_completion(self: AsyncStream[ChatCompletionChunk]) -> ChatCompletion: ...
    @overload
    async def get_final_completion(self: AsyncStream[Completion]) -> Completion: ...

    async def get_final_completion(self) -> ChatCompletion | Completion:
        """Consume the rest of the stream and return the accumulated response."""
        self._started = True
        async for _ in self._iterator:
            pass
        result: ChatCompletion | Completion = self._processor.final()
        return result

    @property
    def cached(self) -> bool:
        """Whether this stream is replayed from the response cache."""
        return self._processor.replayed

    async def prefetch(self) -> AsyncStream[T]:
        """Async twin of :meth:`Stream.prefetch`."""
        self._started = True
        rest = self._iterator
        self._iterator = _aresume(await anext(rest, _NOTHING), rest)
        return self

    async def close(self) -> None:
        """Release the connection (closed if the body was not read to the end)."""
        await self._iterator.aclose()
        self._processor.observer.abandoned()
        self.response.close()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __del__(self) -> None:
        # Once iteration started, the generator owns the connection and closes it when it is
        # finished or collected; a stream never iterated is closed here.
        if not getattr(self, "_started", True):
            try:
                self.response.close()
            except Exception:
                pass


_NOTHING: Any = object()


def _resume(first: T, rest: Generator[T, None, None]) -> Generator[T, None, None]:
    try:
        if first is not _NOTHING:
            yield first
        yield from rest
    finally:
        rest.close()


async def _aresume(first: T, rest: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    try:
        if first is not _NOTHING:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()


def _sync_chunks(
    response: SyncStreamResponse | BufferedStreamResponse, processor: StreamProcessor[T]
) -> Generator[T, None, None]:
    try:
        for data in response.iter_bytes(processor.read_limit):
            yield from processor.feed(data)
        yield from processor.close()
    except Exception as exc:
        raise processor.fail(exc) from None
    finally:
        if processor.delivered:  # before the first chunk, the driver reports (see StreamProcessor.fail)
            processor.observer.abandoned()  # closed or cancelled before the end (a no-op otherwise)
        response.close()


async def _async_chunks(
    response: AsyncStreamResponse | AsyncBufferedStreamResponse, processor: StreamProcessor[T]
) -> AsyncGenerator[T, None]:
    try:
        async for data in response.iter_bytes(processor.read_limit):
            for chunk in processor.feed(data):
                yield chunk
        for chunk in processor.close():
            yield chunk
    except Exception as exc:
        raise processor.fail(exc) from None
    finally:
        if processor.delivered:  # before the first chunk, the driver reports (see StreamProcessor.fail)
            processor.observer.abandoned()  # closed or cancelled before the end (a no-op otherwise)
        response.close()


def _first_text(chunk: Any) -> str | None:
    for choice in chunk.choices:
        if choice.index == 0:
            delta = getattr(choice, "delta", None)
            return delta.content if delta is not None else choice.text  # type: ignore[no-any-return]
    return None
