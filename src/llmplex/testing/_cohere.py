"""The Cohere v2 protocol for the emulator: ``POST .../v2/chat`` and ``POST .../v2/embed``, plus
pure renderers.

Shapes follow recorded Cohere traffic (see shared/corpus/cohere-chat): a body with ``id``,
``message`` (``content`` items of type ``thinking`` / ``text``, or ``tool_plan`` + ``tool_calls``),
``finish_reason`` (``COMPLETE``, ``MAX_TOKENS``, ``TOOL_CALL`` …) and ``usage`` (``billed_units``,
``tokens``); the SSE flow ``message-start``, ``content-start`` / ``content-delta`` / ``content-end``
per content item, ``tool-plan-delta``, ``tool-call-start`` / ``tool-call-delta`` / ``tool-call-end``,
``message-end`` and a final ``data: [DONE]``; errors as ``{"id", "message"}``. A failed generation
inside a 200 stream (`Reply.stream_error`) ends with ``message-end`` carrying ``finish_reason:
"ERROR"`` and the ``error`` message. The routes match by path suffix, so any prefix works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._openai_render import _vector, status_phrase
from ._plan import Exchange, RecordedRequest, ResponsePlan, reply_plan
from ._reply import ApiError, Reply
from ._text import content_text, dump_json, echo_text, message_list, pieces, raw_body, words

__all__ = ["CohereProtocol", "cohere_error_body", "render_cohere_chat", "render_cohere_chat_events",
           "render_cohere_embed"]

_ROUTES = ("/v2/chat", "/v2/embed")
_FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL", "content_filter": "ERROR_TOXIC"}
_ARGUMENT_FRAGMENT = 5  # characters of tool arguments per tool-call-delta
_DEFAULT_DIMS = 8
_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")


def cohere_error_body(message: str, *, request_id: str | None = None) -> dict[str, Any]:
    """Cohere's error body: ``{"id": ..., "message": ...}``.

    >>> cohere_error_body("invalid api token", request_id="r1")
    {'id': 'r1', 'message': 'invalid api token'}
    """
    body: dict[str, Any] = {"id": request_id} if request_id is not None else {}
    body["message"] = message
    return body


@dataclass(frozen=True)
class _Call:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class _Answer:
    text: str | None
    plan: str | None
    reasoning: str | None
    calls: list[_Call]
    finish: str
    usage: dict[str, Any]


def _resolve(reply: Reply, request: Mapping[str, Any]) -> _Answer:
    messages = message_list(request)
    text = echo_text(reply, messages)
    offset = sum(len(m["tool_calls"]) for m in messages if isinstance(m.get("tool_calls"), list))
    calls = [
        _Call(call.id or f"{call.name}_emu{offset + i + 1}", call.name,
              call.arguments if isinstance(call.arguments, str) else dump_json(call.arguments).decode())
        for i, call in enumerate(reply.tool_calls)
    ]
    plan = text if calls else None  # with tool calls, Cohere writes its text as the tool plan
    finish = reply.finish_reason
    native = (_FINISH.get(finish, finish.upper()) if finish is not None
              else "TOOL_CALL" if calls else "COMPLETE")
    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        prompt = max(1, sum(words(content_text(m.get("content"))) for m in messages))
        output = words(text) + words(reply.reasoning) + sum(words(c.arguments) for c in calls)
        counts = {"input_tokens": prompt, "output_tokens": output}
        usage = {"billed_units": dict(counts), "tokens": dict(counts)}
    return _Answer(None if calls else text, plan, reply.reasoning, calls, native, usage)


def render_cohere_chat(reply: Reply, request: Mapping[str, Any], *, response_id: str = "emu-0") -> dict[str, Any]:
    """The ``/v2/chat`` body for `request`, saying what `reply` scripts.

    >>> render_cohere_chat(Reply(), {"model": "command-a", "messages": [{"role": "user", "content": "Hi"}]})["message"]
    {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Echo: Hi'}]}
    """
    answer = _resolve(reply, request)
    message: dict[str, Any] = {"role": "assistant"}
    content = []
    if answer.reasoning is not None:
        content.append({"type": "thinking", "thinking": answer.reasoning})
    if answer.text is not None:
        content.append({"type": "text", "text": answer.text})
    if content:
        message["content"] = content
    if answer.calls:
        if answer.plan:
            message["tool_plan"] = answer.plan
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name,
                                                                              "arguments": c.arguments}}
                                 for c in answer.calls]
    body = {"id": response_id, "message": message, "finish_reason": answer.finish, "usage": answer.usage}
    body.update(reply.extra)
    return body


def _event(obj: Mapping[str, Any]) -> bytes:
    return f"event: {obj['type']}\n".encode() + b"data: " + dump_json(obj) + b"\n\n"


def _content_events(index: int, kind: str, text: str, chunk_words: int) -> list[tuple[bytes, bool]]:
    out = [(_event({"type": "content-start", "index": index,
                    "delta": {"message": {"content": {"type": kind, kind: ""}}}}), False)]
    out += [(_event({"type": "content-delta", "index": index, "delta": {"message": {"content": {kind: p}}}}), True)
            for p in pieces(text, chunk_words)]
    out.append((_event({"type": "content-end", "index": index}), False))
    return out


def _body_events(answer: _Answer, chunk_words: int) -> list[tuple[bytes, bool]]:
    """(event, is a delta) for every content item, the tool plan and the tool calls."""
    out: list[tuple[bytes, bool]] = []
    index = 0
    if answer.reasoning is not None:
        out += _content_events(index, "thinking", answer.reasoning, chunk_words)
        index += 1
    if answer.text is not None:
        out += _content_events(index, "text", answer.text, chunk_words)
    out += [(_event({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": p}}}), True)
            for p in pieces(answer.plan or "", chunk_words)]
    for i, call in enumerate(answer.calls):
        start = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        out.append((_event({"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": start}}}),
                    False))
        args = call.arguments
        for at in range(0, len(args), _ARGUMENT_FRAGMENT):
            fragment = {"function": {"arguments": args[at:at + _ARGUMENT_FRAGMENT]}}
            out.append((_event({"type": "tool-call-delta", "index": i,
                                "delta": {"message": {"tool_calls": fragment}}}), True))
        out.append((_event({"type": "tool-call-end", "index": i}), False))
    return out


def render_cohere_chat_events(reply: Reply, request: Mapping[str, Any], *, response_id: str = "emu-0") -> list[bytes]:
    """The SSE events (``event: NAME\\ndata: {...}\\n\\n`` each) of a streamed ``/v2/chat`` reply.

    `Reply.stream_error(k, ...)` sends the first k delta events, then ``message-end`` with
    ``finish_reason: "ERROR"`` and the error message; ``Fault(omit_done=True)`` drops ``message-end``.
    """
    answer = _resolve(reply, request)
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events = [_event({"id": response_id, "type": "message-start", "delta": {"message": start}})]
    body = _body_events(answer, reply.chunk_words)
    if reply.api_error is not None and reply.error_after_chunks is not None:
        sent = 0
        for event, is_delta in body:
            if is_delta:
                if sent == reply.error_after_chunks:
                    break
                sent += 1
            events.append(event)
        end = {"type": "message-end", "delta": {"error": reply.api_error.message, "finish_reason": "ERROR"}}
        return [*events, _event(end)]
    events += [event for event, _ in body]
    if reply.fault is not None and reply.fault.omit_done:
        return events
    events.append(_event({"type": "message-end", "delta": {"finish_reason": answer.finish, "usage": answer.usage}}))
    return [*events, b"data: [DONE]\n\n"]


def render_cohere_embed(reply: Reply, request: Mapping[str, Any], *, response_id: str = "emu-0") -> dict[str, Any]:
    """The ``/v2/embed`` body: one deterministic unit vector per text or image, under each asked
    ``embedding_types`` entry (``float`` lists, or ``base64`` of little-endian float32)."""
    inputs = [str(t) for t in request.get("texts") or request.get("images") or []]
    dims = request.get("output_dimension")
    dims = dims if isinstance(dims, int) and dims > 0 else reply.embedding_dims or _DEFAULT_DIMS
    vectors = [_vector(text, dims) for text in inputs]
    embeddings: dict[str, Any] = {}
    for kind in request.get("embedding_types") or ["float"]:
        if kind == "base64":
            embeddings[kind] = [base64.b64encode(struct.pack(f"<{dims}f", *v)).decode() for v in vectors]
        else:
            embeddings[kind] = vectors
    tokens = sum(max(1, words(text)) for text in inputs)
    body: dict[str, Any] = {
        "id": response_id, "embeddings": embeddings, "texts": list(request.get("texts") or []),
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
        "response_type": "embeddings_by_type",
    }
    body.update(reply.extra)
    return body


# ---------------------------------------------------------------------------------------------------
# validation (Cohere's 400s) and the protocol object


class _Invalid(Exception):
    pass


def _check(request: RecordedRequest, route: str) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _Invalid("invalid request: the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _Invalid("invalid request: the request body must be a JSON object")
    if not isinstance(payload.get("model"), str):
        raise _Invalid("invalid request: model must be a string")
    if route == "/v2/embed":
        if payload.get("input_type") not in _INPUT_TYPES:
            raise _Invalid(f"invalid request: input_type must be one of {', '.join(_INPUT_TYPES)}")
        if not payload.get("texts") and not payload.get("images") and not payload.get("inputs"):
            raise _Invalid("invalid request: one of texts, images or inputs is required")
        return payload
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Invalid("invalid request: messages must be a non-empty list")
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "user", "assistant", "tool"):
            raise _Invalid(f"invalid request: messages[{i}].role must be one of system, user, assistant, tool")
    if payload.get("tool_choice") not in (None, "REQUIRED", "NONE"):
        raise _Invalid("invalid request: tool_choice must be one of REQUIRED, NONE")
    return payload


def _route(path: str) -> str | None:
    path = path.rstrip("/")
    return next((r for r in _ROUTES if path.endswith(r)), None)


class CohereProtocol:
    """The Cohere v2 protocol the emulator dispatches to (see `ProviderProtocol`)."""

    name = "cohere"

    def matches(self, request: RecordedRequest) -> bool:
        return _route(request.path) is not None

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {api_key}"

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        message = "invalid api token" if given else "no api key supplied"
        return self._error(401, ApiError(message), exchange, None)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return self._error(404, ApiError(f"path {request.path!r} not found"), exchange, None)

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        route = _route(request.path)
        if route is None or request.method != "POST":
            return self.not_found(request, exchange)
        try:
            payload = _check(request, route)
        except _Invalid as invalid:
            return self._error(400, ApiError(str(invalid)), exchange, None)
        reply = exchange.take_reply()
        stream = payload.get("stream") is True and route == "/v2/chat"
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, exchange, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            return self._error(reply.status if reply.status >= 400 else 500, reply.api_error, exchange, reply)
        response_id = _response_id(exchange)
        if route == "/v2/embed":
            return self._plan(reply.status, dump_json(render_cohere_embed(reply, payload, response_id=response_id)),
                              exchange, reply)
        if stream:
            events = render_cohere_chat_events(reply, payload, response_id=response_id)
            return self._plan(reply.status, events, exchange, reply)
        rendered = render_cohere_chat(reply, payload, response_id=response_id)
        return self._plan(reply.status, dump_json(rendered), exchange, reply)

    def _error(self, status: int, err: ApiError | None, exchange: Exchange, reply: Reply | None) -> ResponsePlan:
        message = err.message if err is not None else status_phrase(status)
        body = cohere_error_body(message, request_id=_response_id(exchange))
        return self._plan(status, dump_json(body), exchange, reply)

    def _plan(self, status: int, body: bytes | Sequence[bytes], exchange: Exchange,
              reply: Reply | None) -> ResponsePlan:
        stream = not isinstance(body, bytes)
        headers = {
            "content-type": "text/event-stream" if stream else "application/json",
            "x-debug-trace-id": hashlib.sha256(str(exchange.seq).encode()).hexdigest()[:32],
            "server": "llmplex-emulator",
        }
        return reply_plan(status, body, reply, headers, malformed_event=b'event: content-delta\ndata: {"type":\n\n',
                          malformed_body=b'{"id":')


def _response_id(exchange: Exchange) -> str:
    digest = hashlib.sha256(b"llmplex-emulator-cohere:" + str(exchange.seq).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
