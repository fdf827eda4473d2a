"""Mistral's own chat API (``POST https://api.mistral.ai/v1/chat/completions``): the OpenAI protocol
plus the places where Mistral differs.

Reference: https://docs.mistral.ai/api/#tag/chat and Mistral's SDK models (``ThinkChunk``,
``TextChunk``, ``ReferenceChunk``, ``ToolChoiceEnum``, ``UsageInfo``). Differences handled here:

* ``content`` may be a list of chunks: ``text`` chunks join into ``content``; ``thinking`` chunks
  (Magistral reasoning models) join into ``reasoning_content``; ``reference`` chunks (citations of
  built-in tools) are kept in the message's ``references`` extra field.
* Streamed tool calls may come without ``index`` (one complete call per delta) and with ``id`` set to
  ``"null"``: indexes are assigned in order of arrival, and a call without a usable id gets
  ``call_<index>`` (the same id the non-streamed parse gives it).
* ``finish_reason``: ``model_length`` (the model's context is full) maps to ``length``; ``error``
  (generation failed on Mistral's side) raises ``InternalServerError``, after any chunks already
  delivered. Either native value is kept in ``choice.native_finish_reason``.
* Usage: ``num_cached_tokens`` (older responses) becomes ``prompt_tokens_details.cached_tokens``.
* Requests: ``tool_choice="required"`` is sent as Mistral's ``"any"``; ``seed`` as ``random_seed``
  (row data); ``stream_options`` is not sent (Mistral always streams usage in the last chunk); a
  ``developer`` message is sent as ``system``; an assistant message's ``reasoning_content`` goes back
  as a ``thinking`` chunk before its text, as Mistral expects for multi-turn reasoning. The
  ``safe_prompt`` and ``prompt_mode`` settings are sent as those body fields.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._framing import SSEEvent
from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ._errors import make_error
from ._json import dumps
from ._shared import invalid_response, message_as_mapping
from .openai import OpenAIAdapter, OpenAIChatStreamDecoder, _wants_usage

__all__ = ["MistralAdapter", "MistralChatStreamDecoder"]

_FINISH = {"model_length": "length"}
_BODY_OPTIONS = ("safe_prompt", "prompt_mode")
_NO_ID = (None, "", "null")


class MistralAdapter(OpenAIAdapter):
    """The OpenAI adapter with Mistral's content chunks, tool-call and finish-reason rules."""

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """The OpenAI body, rewritten where Mistral's schema differs (see the module docstring)."""
        params = dict(req.params)
        params.pop("stream_options", None)
        if params.get("tool_choice") == "required":
            params["tool_choice"] = "any"
        for name in _BODY_OPTIONS:
            value = cfg.options.get(name)
            if value is not None and name not in params:
                params[name] = value
        messages = [_outgoing(message_as_mapping(m)) for m in req.messages]
        return super().build_chat_request(dataclasses.replace(req, messages=messages, params=params), cfg)

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """A Mistral chat completion -> ``ChatCompletion``."""
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise invalid_response(self.spec.name, f"the body is not JSON ({len(resp.body)} bytes)") from None
        if not isinstance(data, dict):
            raise invalid_response(self.spec.name, "the body is not a JSON object")
        if "choices" not in data and (data.get("error") or data.get("object") == "error"):
            raise self.error_from_event(data)  # {"error": {...}} or Mistral's flat {"object": "error", ...}
        for choice in data.get("choices") or []:
            if isinstance(choice, dict):
                self._check_finish(choice)
                _normalize_choice(choice, "message", _MessageCalls())
        _normalize_usage(data)
        try:
            return ChatCompletion.model_validate(data)
        except ValueError as exc:
            raise invalid_response(self.spec.name, str(exc).splitlines()[0]) from None

    def chat_stream_decoder(self, req: ChatRequest) -> MistralChatStreamDecoder:
        """A decoder of Mistral's chat SSE stream."""
        return MistralChatStreamDecoder(self, _wants_usage(req.params))

    def _check_finish(self, choice: Mapping[str, Any]) -> None:
        if choice.get("finish_reason") == "error":
            raise make_error(500, "mistral stopped generating with finish_reason 'error'",
                             provider=self.spec.name, code="error")


class MistralChatStreamDecoder(OpenAIChatStreamDecoder):
    """The OpenAI chat decoder fed Mistral chunks rewritten into the OpenAI shape."""

    __slots__ = ("_calls",)

    def __init__(self, adapter: MistralAdapter, wants_usage: bool) -> None:
        super().__init__(adapter, wants_usage)
        self._calls: dict[int, _StreamCalls] = {}

    def feed(self, frame: SSEEvent) -> list[ChatCompletionChunk]:
        """Decode one SSE event."""
        return super().feed(self._rewritten(frame))

    def _rewritten(self, frame: SSEEvent) -> SSEEvent:
        data = frame.data
        if self.done or not data or data == b"[DONE]":
            return frame
        try:
            payload = json.loads(data)
        except ValueError:
            return frame  # the OpenAI decoder reports it with the event index
        if not isinstance(payload, dict) or payload.get("error") or not isinstance(payload.get("choices"), list):
            return frame
        adapter = self._adapter
        assert isinstance(adapter, MistralAdapter)
        for choice in payload["choices"]:
            if isinstance(choice, dict):
                adapter._check_finish(choice)
                calls = self._calls.setdefault(int(choice.get("index") or 0), _StreamCalls())
                _normalize_choice(choice, "delta", calls)
        _normalize_usage(payload)
        return SSEEvent(dumps(payload), frame.event, frame.id)


# -- requests ----------------------------------------------------------------------------------


def _outgoing(message: Mapping[str, Any]) -> Mapping[str, Any]:
    role = message.get("role")
    if role == "developer":
        return {**message, "role": "system"}
    reasoning = message.get("reasoning_content")
    if role != "assistant" or not reasoning:
        return message
    out = {k: v for k, v in message.items() if k != "reasoning_content"}
    content = message.get("content")
    chunks: list[Any] = [{"type": "thinking", "thinking": [{"type": "text", "text": reasoning}]}]
    if isinstance(content, str) and content:
        chunks.append({"type": "text", "text": content})
    elif isinstance(content, Sequence) and not isinstance(content, str):
        chunks.extend(content)
    out["content"] = chunks
    return out


# -- responses (shared by the non-streamed parse and the stream decoder) ------------------------


def _split_content(content: list[Any]) -> tuple[str | None, str | None, list[Any]]:
    """(text, thinking text, reference chunks) of a list of content chunks."""
    texts: list[str] = []
    thoughts: list[str] = []
    references: list[Any] = []
    for chunk in content:
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "text":
            texts.append(str(chunk.get("text") or ""))
        elif kind == "thinking":
            inner = chunk.get("thinking")
            parts = inner if isinstance(inner, list) else [{"type": "text", "text": inner}]
            thoughts.extend(str(p.get("text") or "") for p in parts if isinstance(p, dict))
        elif kind == "reference":
            references.append(chunk)
        else:
            raise invalid_response("mistral", f"unknown content chunk type {kind!r}")
    return ("".join(texts) if texts else None), ("".join(thoughts) if thoughts else None), references


class _MessageCalls:
    """Tool-call indexes of a whole message: their positions."""

    def index(self, position: int, call: Mapping[str, Any]) -> tuple[int, bool]:
        return position, True


class _StreamCalls(_MessageCalls):
    """Tool-call indexes across the deltas of one streamed choice."""

    def __init__(self) -> None:
        self.started = 0
        self.last: int | None = None

    def index(self, position: int, call: Mapping[str, Any]) -> tuple[int, bool]:
        given = call.get("index")
        if isinstance(given, int) and not isinstance(given, bool):
            index = given
        elif self.last is None or position > 0 or call.get("id") not in _NO_ID or _named(call):
            index = self.started  # the first call, another call in the same delta, or one with its own id or name
        else:
            index = self.last  # a continuation of the call before
        new = index >= self.started
        self.started = max(self.started, index + 1)
        self.last = index
        return index, new


def _named(call: Mapping[str, Any]) -> bool:
    fn = call.get("function")
    return isinstance(fn, Mapping) and bool(fn.get("name"))


def _normalize_choice(choice: dict[str, Any], key: str, calls: _MessageCalls) -> None:
    native = choice.get("finish_reason")
    if native in _FINISH:
        choice["finish_reason"] = _FINISH[native]
        choice["native_finish_reason"] = native
    message = choice.get(key)
    if not isinstance(message, dict):
        return
    content = message.get("content")
    if isinstance(content, list):
        text, thinking, references = _split_content(content)
        message["content"] = text
        if thinking is not None:
            message["reasoning_content"] = thinking
        if references:
            message["references"] = references
    raw_calls = message.get("tool_calls")
    if isinstance(raw_calls, list):
        for position, call in enumerate(raw_calls):
            if not isinstance(call, dict):
                continue
            index, new = calls.index(position, call)
            if key == "delta":
                call["index"] = index
            else:
                call.pop("index", None)
                call.setdefault("type", "function")
            if call.get("id") in _NO_ID:
                call.pop("id", None)
                if new:
                    call["id"] = f"call_{index}"


def _normalize_usage(payload: dict[str, Any]) -> None:
    usage = payload.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("num_cached_tokens"), int):
        details = usage.get("prompt_tokens_details")
        if not isinstance(details, dict):
            usage["prompt_tokens_details"] = details = {}
        details.setdefault("cached_tokens", usage["num_cached_tokens"])
