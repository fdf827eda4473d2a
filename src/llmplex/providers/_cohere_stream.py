"""Cohere chat streams -> ``ChatCompletionChunk``s.

v2 (https://docs.cohere.com/reference/chat-stream): SSE events ``message-start``, ``content-start`` /
``content-delta`` / ``content-end`` (text or thinking), ``tool-plan-delta``, ``tool-call-start`` /
``tool-call-delta`` / ``tool-call-end``, ``citation-start`` / ``citation-end``, ``message-end``
(finish reason and usage; the terminal event) and ``debug``. Some deployments add ``data: [DONE]``
after ``message-end``. The decoder dispatches on the payload's ``type``, so it also reads recordings
that kept only the payloads.

v1 (legacy, decoded only; llmplex sends v2): objects with ``event_type`` ``stream-start``,
``text-generation``, ``tool-calls-chunk``, ``tool-calls-generation``, ``citation-generation`` and
``stream-end`` (terminal), as SSE data or as NDJSON lines.

Streamed like the non-streamed parse: the tool plan is sent whole, as ``delta.tool_plan``, when it
is complete (the first event after the plan deltas); citations as ``delta.citations`` lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._framing import SSEEvent
from ..errors import LLMError, StreamInterruptedError, StreamParseError
from ..types.chat import ChatCompletionChunk, ChoiceDelta, ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction, ChunkChoice
from ..types.usage import CompletionUsage
from ._cohere_parse import citation, finish_error, finish_reason, tool_arguments, usage_from
from ._shared import event_object, with_extra

if TYPE_CHECKING:
    from .._requests import ChatRequest

__all__ = ["CohereStreamDecoder"]

_Handler = Callable[["CohereStreamDecoder", dict[str, Any]], list[ChatCompletionChunk]]


class CohereStreamDecoder:
    """A state machine over Cohere stream events (``feed`` an SSE event or an NDJSON line).

    >>> from llmplex._requests import ChatRequest
    >>> d = CohereStreamDecoder("cohere", ChatRequest("command-a", [], {}, stream=True))
    >>> [c.choices[0].delta.role for c in d.feed(SSEEvent(b'{"type":"message-start","id":"x"}'))]
    ['assistant']
    """

    def __init__(self, provider: str, req: ChatRequest) -> None:
        self._provider = provider
        self._model = req.model
        self._id = ""
        self._count = 0
        self._started = False
        self._kinds: dict[int, str] = {}  # content index -> "text" | "thinking"
        self._tools: dict[int, int] = {}  # Cohere tool index -> OpenAI tool index
        self._args: dict[int, bool] = {}  # OpenAI tool index -> any argument text sent
        self._plan: list[str] = []
        self._plan_sent = False
        self.done = False

    # -- framing -----------------------------------------------------------------------------

    def feed(self, frame: SSEEvent | bytes | str) -> list[ChatCompletionChunk]:
        """Decode one event: an ``SSEEvent`` (v2, or v1 as SSE) or one NDJSON line (v1)."""
        index = self._count
        self._count += 1
        raw = frame.data if isinstance(frame, SSEEvent) else frame
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if self.done or not text.strip() or text.strip() == "[DONE]":
            return []
        payload = event_object(text, lambda what: self._parse_error(index, what))
        kind = payload.get("type") or payload.get("event_type")
        if kind is None and isinstance(frame, SSEEvent):
            kind = frame.event
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            return []  # "debug", "citation-end", "content-end" and event types added later carry nothing
        try:
            return handler(self, payload)
        except LLMError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError):
            raise self._parse_error(index, f"is not a well-formed {kind} event") from None

    def close(self) -> list[ChatCompletionChunk]:
        """Raise ``StreamInterruptedError`` unless ``message-end`` (v1: ``stream-end``) arrived."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._provider} stream ended before message-end", provider=self._provider)

    def _parse_error(self, index: int, what: str) -> StreamParseError:
        return StreamParseError(f"stream event {index} from {self._provider} {what}", provider=self._provider,
                                event_index=index)

    # -- chunk building ----------------------------------------------------------------------

    def _chunk(self, delta: ChoiceDelta, finish: Any = None, usage: CompletionUsage | None = None,
               **choice_extra: Any) -> ChatCompletionChunk:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish_reason(finish))
        if choice_extra:
            choice = with_extra(choice, **choice_extra)
        return ChatCompletionChunk(id=self._id, model=self._model, choices=[choice], usage=usage)

    def _start(self, message_id: Any) -> list[ChatCompletionChunk]:
        if self._started:
            return []
        self._started = True
        self._id = str(message_id or "")
        return [self._chunk(ChoiceDelta(role="assistant", content=""))]

    def _flush_plan(self) -> list[ChatCompletionChunk]:
        """The tool plan, whole, once its deltas are over."""
        if self._plan_sent or not self._plan:
            return []
        self._plan_sent = True
        return [self._chunk(with_extra(ChoiceDelta(), tool_plan="".join(self._plan)))]

    def _tool_start(self, native: int, call_id: Any, name: Any, arguments: str) -> list[ChatCompletionChunk]:
        index = self._tools.setdefault(native, len(self._tools))
        self._args[index] = bool(arguments)
        call = ChoiceDeltaToolCall(index=index, id=str(call_id or f"call_{index}"), type="function",
                                   function=ChoiceDeltaToolCallFunction(name=str(name), arguments=arguments))
        return [self._chunk(ChoiceDelta(tool_calls=[call]))]

    def _tool_args(self, index: int, fragment: str) -> list[ChatCompletionChunk]:
        if not fragment:
            return []
        self._args[index] = True
        call = ChoiceDeltaToolCall(index=index, function=ChoiceDeltaToolCallFunction(arguments=fragment))
        return [self._chunk(ChoiceDelta(tool_calls=[call]))]

    def _end(self, native: Any, usage: CompletionUsage | None, message: Any = None) -> list[ChatCompletionChunk]:
        self.done = True
        error = finish_error(native, self._provider, message)
        if error is not None:
            raise error
        chunks = self._flush_plan()
        chunks += [self._tool_args(i, "{}")[0] for i, sent in sorted(self._args.items()) if not sent]
        chunks.append(self._chunk(ChoiceDelta(), finish=native, usage=usage, native_finish_reason=native))
        return chunks

    # -- v2 events ---------------------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        return self._start(payload.get("id"))

    def _content_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        content = payload["delta"]["message"]["content"]
        kind = str(content.get("type") or "text")
        self._kinds[int(payload.get("index") or 0)] = kind
        chunks = self._start(None) + self._flush_plan()
        return chunks + self._content(kind, content)

    def _content_delta(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        content = payload["delta"]["message"]["content"]
        kind = self._kinds.get(int(payload.get("index") or 0)) or ("thinking" if "thinking" in content else "text")
        return self._content(kind, content)

    def _content(self, kind: str, content: dict[str, Any]) -> list[ChatCompletionChunk]:
        if kind == "thinking":
            text = content.get("thinking")
            return [self._chunk(ChoiceDelta(reasoning_content=text))] if text else []
        text = content.get("text")
        return [self._chunk(ChoiceDelta(content=text))] if text else []

    def _plan_delta(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        piece = payload["delta"]["message"].get("tool_plan")
        if piece:
            self._plan.append(str(piece))
        return []

    def _tool_call_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        call = payload["delta"]["message"]["tool_calls"]
        fn = call.get("function") or {}
        arguments = fn.get("arguments") or ""
        chunks = self._start(None) + self._flush_plan()
        return chunks + self._tool_start(int(payload.get("index") or 0), call.get("id"), fn["name"], arguments)

    def _tool_call_delta(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        fn = payload["delta"]["message"]["tool_calls"].get("function") or {}
        index = self._tools[int(payload.get("index") or 0)]
        return self._tool_args(index, str(fn.get("arguments") or ""))

    def _citation_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        raw = payload["delta"]["message"]["citations"]
        cites = [citation(c) for c in (raw if isinstance(raw, list) else [raw])]
        return [self._chunk(with_extra(ChoiceDelta(), citations=cites))]

    def _message_end(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        delta = payload.get("delta") or {}
        return self._end(delta.get("finish_reason"), usage_from(delta.get("usage")), delta.get("error"))

    # -- v1 events ---------------------------------------------------------------------------

    def _v1_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        return self._start(payload.get("generation_id"))

    def _v1_text(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        text = payload.get("text")
        return self._start(None) + ([self._chunk(ChoiceDelta(content=str(text)))] if text else [])

    def _v1_tool_chunk(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        delta = payload.get("tool_call_delta") or {}
        if delta.get("index") is None:
            return self._v1_text({"text": delta.get("text")})
        native = int(delta["index"])
        fragment = str(delta.get("parameters") or "")
        if native not in self._tools:
            return self._start(None) + self._tool_start(native, None, delta.get("name") or "", fragment)
        return self._tool_args(self._tools[native], fragment)

    def _v1_tools(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        if self._tools:  # already streamed piece by piece (tool-calls-chunk)
            return []
        chunks = self._start(None)
        for native, call in enumerate(payload.get("tool_calls") or []):
            chunks += self._tool_start(native, None, call["name"], tool_arguments(call.get("parameters")))
        return chunks

    def _v1_citations(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        cites = [citation(c) for c in payload.get("citations") or []]
        return [self._chunk(with_extra(ChoiceDelta(), citations=cites))] if cites else []

    def _v1_end(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        response = payload.get("response") or {}
        return self._end(payload.get("finish_reason"), usage_from(response.get("meta")))


_HANDLERS: dict[str, _Handler] = {
    "message-start": CohereStreamDecoder._message_start,
    "content-start": CohereStreamDecoder._content_start,
    "content-delta": CohereStreamDecoder._content_delta,
    "tool-plan-delta": CohereStreamDecoder._plan_delta,
    "tool-call-start": CohereStreamDecoder._tool_call_start,
    "tool-call-delta": CohereStreamDecoder._tool_call_delta,
    "citation-start": CohereStreamDecoder._citation_start,
    "message-end": CohereStreamDecoder._message_end,
    "stream-start": CohereStreamDecoder._v1_start,
    "text-generation": CohereStreamDecoder._v1_text,
    "tool-calls-chunk": CohereStreamDecoder._v1_tool_chunk,
    "tool-calls-generation": CohereStreamDecoder._v1_tools,
    "citation-generation": CohereStreamDecoder._v1_citations,
    "stream-end": CohereStreamDecoder._v1_end,
}
