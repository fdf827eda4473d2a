"""ConverseStream event-stream messages -> ``ChatCompletionChunk`` s.

Event flow (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
``messageStart`` {role}; per content block an optional ``contentBlockStart`` (``toolUse`` id and name),
``contentBlockDelta`` s (``text``, ``toolUse.input`` JSON fragments, ``reasoningContent``
``text`` / ``signature`` / ``redactedContent``, ``citation``) and ``contentBlockStop``; ``messageStop``
{stopReason}; ``metadata`` {usage, metrics}. Exceptions arrive as ``:message-type: exception``
messages (``:exception-type: throttlingException`` …) and raise typed after the chunks before them.
Terminal: ``messageStop`` (``metadata`` may follow it, or precede it in some recordings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._framing import EventStreamMessage
from ..errors import StreamInterruptedError, StreamParseError
from ..types.chat import (
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
)
from ..types.usage import CompletionUsage
from ._shared import with_extra
from .bedrock import finish_reason, unsupported_block, usage

if TYPE_CHECKING:
    from .bedrock import BedrockAdapter

__all__ = ["BedrockStreamDecoder"]

_Chunks = list[ChatCompletionChunk]


class BedrockStreamDecoder:
    """A state machine over decoded event-stream messages. A finished ``reasoningContent`` block
    is sent as ``delta.reasoning_blocks`` at its ``contentBlockStop`` (with its signature), as the
    non-streamed response carries it in ``message.reasoning_blocks``."""

    def __init__(self, adapter: BedrockAdapter, model: str) -> None:
        self._adapter = adapter
        self._model = model
        self._count = 0
        self._blocks: dict[int, dict[str, Any]] = {}
        self._tools = 0
        self.done = False

    @property
    def _provider(self) -> str:
        return self._adapter.spec.name

    def feed(self, frame: EventStreamMessage) -> _Chunks:
        """Decode one event-stream message."""
        index = self._count
        self._count += 1
        kind = frame.header(":message-type") or "event"
        if kind == "error":  # a service-level error: :error-code / :error-message headers
            raise self._adapter.error_for(frame.header(":error-code") or "", frame.header(":error-message") or "")
        try:
            payload = json.loads(frame.payload) if frame.payload.strip() else {}
        except ValueError:
            raise self._parse_error(index, "is not valid JSON") from None
        if not isinstance(payload, dict):
            raise self._parse_error(index, "is not a JSON object")
        if kind == "exception":
            name = frame.header(":exception-type") or ""
            raise self._adapter.error_for(name, str(payload.get("message") or payload.get("Message") or ""))
        event = frame.header(":event-type") or ""
        handler = _HANDLERS.get(event)
        if handler is None:
            return []  # event types added later are ignored
        try:
            return handler(self, payload)
        except (KeyError, TypeError, AttributeError):
            raise self._parse_error(index, f"is not a well-formed {event} event") from None

    def close(self) -> _Chunks:
        """Raise ``StreamInterruptedError`` unless ``messageStop`` arrived."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._provider} stream ended before messageStop", provider=self._provider)

    def _parse_error(self, index: int, what: str) -> StreamParseError:
        return StreamParseError(f"stream event {index} from {self._provider} {what}", provider=self._provider,
                                event_index=index)

    def _chunk(self, delta: ChoiceDelta | None = None, finish: Any = None, usage_: CompletionUsage | None = None,
               **choice_extra: Any) -> ChatCompletionChunk:
        choices = [] if delta is None else [
            with_extra(ChunkChoice(index=0, delta=delta, finish_reason=finish_reason(finish)), **choice_extra)]
        return ChatCompletionChunk(id="", model=self._model, choices=choices, usage=usage_)

    def _block(self, payload: dict[str, Any]) -> dict[str, Any]:
        index = payload["contentBlockIndex"]
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = {"kind": None}
        return block

    # -- handlers --------------------------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> _Chunks:
        return [self._chunk(ChoiceDelta(role=payload.get("role") or "assistant", content=""))]

    def _block_start(self, payload: dict[str, Any]) -> _Chunks:
        block = self._block(payload)
        start = payload.get("start") or {}
        if "toolResult" in start or ("toolUse" in start and start["toolUse"].get("type", "tool_use") != "tool_use"):
            # a server-side tool's use or result: kept whole, delivered at its contentBlockStop
            kind = "toolUse" if "toolUse" in start else "toolResult"
            block.update(kind="server", native={kind: dict(start[kind])}, pieces=[])
            return []
        if "toolUse" not in start:
            if start:
                raise unsupported_block(next(iter(start)), self._provider)
            return []
        use = start["toolUse"]
        block.update(kind="tool", tool=self._tools, args=False)
        self._tools += 1
        call = ChoiceDeltaToolCall(index=block["tool"], id=use["toolUseId"], type="function",
                                   function=ChoiceDeltaToolCallFunction(name=use["name"], arguments=""))
        return [self._chunk(ChoiceDelta(tool_calls=[call]))]

    def _block_delta(self, payload: dict[str, Any]) -> _Chunks:
        block = self._block(payload)
        delta = payload["delta"]
        if "text" in delta:
            return [self._chunk(ChoiceDelta(content=delta["text"]))] if delta["text"] else []
        if block["kind"] == "server":
            piece = delta["toolUse"].get("input") if "toolUse" in delta else delta.get("toolResult")
            block["pieces"].append(piece)
            return []
        if "toolUse" in delta:
            fragment = delta["toolUse"]["input"]
            block["args"] = block.get("args") or bool(fragment)
            return [self._tool_args(block["tool"], fragment)] if fragment else []
        if "reasoningContent" in delta:
            return self._reasoning(block, delta["reasoningContent"])
        if "citation" in delta:
            return [self._chunk(with_extra(ChoiceDelta(), citations=[delta["citation"]]))]
        raise unsupported_block(next(iter(delta), "empty"), self._provider)

    def _reasoning(self, block: dict[str, Any], part: dict[str, Any]) -> _Chunks:
        block["kind"] = "reasoning"
        if "redactedContent" in part:
            block["redacted"] = part["redactedContent"]
            return []
        if "signature" in part:
            block["signature"] = part["signature"]
        text = part.get("text")
        if not text:
            return []
        block["text"] = block.get("text", "") + text
        return [self._chunk(ChoiceDelta(reasoning_content=text))]

    def _tool_args(self, tool: int, arguments: str) -> ChatCompletionChunk:
        call = ChoiceDeltaToolCall(index=tool, function=ChoiceDeltaToolCallFunction(arguments=arguments))
        return self._chunk(ChoiceDelta(tool_calls=[call]))

    def _block_stop(self, payload: dict[str, Any]) -> _Chunks:
        block = self._blocks.pop(payload["contentBlockIndex"], {"kind": None})
        return self._finish_block(block)

    def _finish_block(self, block: dict[str, Any]) -> _Chunks:
        if block["kind"] == "server":
            return [self._chunk(with_extra(ChoiceDelta(), server_tool_blocks=[_server_block(block)]))]
        if block["kind"] == "tool" and not block["args"]:
            return [self._tool_args(block["tool"], "{}")]  # no input at all: the parsed form is {}
        if block["kind"] == "reasoning":
            if "redacted" in block:
                native: dict[str, Any] = {"redactedContent": block["redacted"]}
            else:
                native = {"reasoningText": {"text": block.get("text", "")}}
                if "signature" in block:
                    native["reasoningText"]["signature"] = block["signature"]
            return [self._chunk(with_extra(ChoiceDelta(), reasoning_blocks=[native]))]
        return []

    def _message_stop(self, payload: dict[str, Any]) -> _Chunks:
        # Blocks never stopped (some recordings omit contentBlockStop) are finished here.
        out = [c for index in sorted(self._blocks) for c in self._finish_block(self._blocks[index])]
        self._blocks.clear()
        self.done = True
        stop = payload.get("stopReason")
        return [*out, self._chunk(ChoiceDelta(), finish=stop, native_finish_reason=stop)]

    def _metadata(self, payload: dict[str, Any]) -> _Chunks:
        found = usage(payload.get("usage"))
        return [self._chunk(usage_=found)] if found is not None else []


def _server_block(block: dict[str, Any]) -> dict[str, Any]:
    """A streamed server-tool block in its non-streamed form: ``toolUse.input`` parsed from its JSON
    pieces, ``toolResult.content`` the list of its content deltas."""
    native: dict[str, Any] = block["native"]
    if "toolUse" in native:
        text = "".join(p for p in block["pieces"] if isinstance(p, str))
        try:
            native["toolUse"]["input"] = json.loads(text) if text else {}
        except ValueError:
            native["toolUse"]["input"] = text
    else:
        native["toolResult"]["content"] = [c for piece in block["pieces"] for c in (piece or [])]
    return native


_HANDLERS: dict[str, Callable[[BedrockStreamDecoder, dict[str, Any]], _Chunks]] = {
    "messageStart": BedrockStreamDecoder._message_start,
    "contentBlockStart": BedrockStreamDecoder._block_start,
    "contentBlockDelta": BedrockStreamDecoder._block_delta,
    "contentBlockStop": BedrockStreamDecoder._block_stop,
    "messageStop": BedrockStreamDecoder._message_stop,
    "metadata": BedrockStreamDecoder._metadata,
}
