"""The Anthropic Messages protocol for the emulator: ``POST .../v1/messages``, plus pure renderers.

Shapes follow recorded Anthropic traffic (see shared/corpus/anthropic-messages): ``message`` objects
with ``text`` / ``thinking`` / ``tool_use`` content blocks, the SSE flow ``message_start``,
``content_block_start`` / ``content_block_delta`` / ``content_block_stop`` per block (a ``ping``
after the first block start), ``message_delta`` (stop_reason, usage) and ``message_stop``, and
``{"type": "error", "error": {"type", "message"}, "request_id"}`` error bodies (``event: error`` in
a stream). The route matches by path suffix, so any prefix works (``/v1/messages``,
``/anthropic/v1/messages``, ...).

The renderers are pure: a `Reply` and the request JSON in, response data out.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._openai_render import status_phrase
from ._plan import Exchange, RecordedRequest, ResponsePlan, reply_plan
from ._reply import ApiError, Reply
from ._text import ScriptedTool, content_text, deltas_until_error, dump_json, message_list, pieces, raw_body, words

__all__ = [
    "ERROR_TYPES",
    "AnthropicProtocol",
    "anthropic_error_body",
    "render_anthropic_message",
    "render_anthropic_stream_events",
]

DEFAULT_MODEL = "claude-sonnet-4-5"
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_ARGUMENT_FRAGMENT = 5  # characters of tool input per input_json_delta
_PING = b'event: ping\ndata: {"type": "ping"}\n\n'


# ---------------------------------------------------------------------------------------------------
# errors


def anthropic_error_body(
    status: int, message: str | None = None, *, type: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """Anthropic's error body: ``{"type": "error", "error": {"type", "message"}[, "request_id"]}``.

    `type` defaults from `status` (401 -> authentication_error, 429 -> rate_limit_error,
    529 -> overloaded_error, other 5xx -> api_error, other 4xx -> invalid_request_error).

    >>> anthropic_error_body(429, "slow down")["error"]["type"]
    'rate_limit_error'
    """
    default = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    body: dict[str, Any] = {
        "type": "error",
        "error": {"type": type or default, "message": message if message is not None else status_phrase(status)},
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


# ---------------------------------------------------------------------------------------------------
# resolving a Reply against a request










def _signature(thinking: str) -> str:
    """A deterministic stand-in for the opaque thinking signature (base64, like the real one)."""
    digest = hashlib.sha256(b"llmplex-emulator-thinking:" + thinking.encode("utf-8", "replace")).digest()
    return base64.b64encode(b"EmuSig" + digest * 2).decode()


@dataclass(frozen=True)
class _Message:
    model: str
    text: str | None
    reasoning: str | None
    tools: list[ScriptedTool]
    stop_reason: str
    usage: dict[str, Any]


def _resolve(reply: Reply, request: Mapping[str, Any]) -> _Message:
    messages = message_list(request)
    text = reply.text if reply.text is not None else reply.refusal
    if text is None and not reply.tool_calls:
        users = [m for m in messages if m.get("role") == "user"]
        text = "Echo: " + (content_text(users[-1].get("content")) if users else "")
    offset = sum(
        1
        for m in messages
        if m.get("role") == "assistant" and isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, Mapping) and b.get("type") == "tool_use"
    )
    tools = [
        ScriptedTool(
            call.id or f"toolu_{offset + i + 1}",
            call.name,
            call.arguments if isinstance(call.arguments, str) else dump_json(call.arguments).decode(),
        )
        for i, call in enumerate(reply.tool_calls)
    ]
    finish = reply.finish_reason
    if finish is None:
        stop = "tool_use" if tools else "refusal" if reply.refusal is not None and reply.text is None else "end_turn"
    else:
        stop = _FINISH.get(finish, finish)
    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        system = content_text(request.get("system"))
        prompt = max(1, words(system) + sum(words(content_text(m.get("content"))) for m in messages))
        output = words(text) + words(reply.reasoning) + sum(words(t.arguments) for t in tools)
        usage = {
            "input_tokens": prompt,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output,
        }
    model = reply.model or (request.get("model") if isinstance(request.get("model"), str) else None)
    return _Message(model or DEFAULT_MODEL, text, reply.reasoning, tools, stop, usage)


def _message_id(request: Mapping[str, Any], given: str | None) -> str:
    if given is not None:
        return given
    digest = hashlib.sha256(dump_json(dict(request)) if request else b"").hexdigest()
    return f"msg_emu{digest[:24]}"


# ---------------------------------------------------------------------------------------------------
# renderers


def render_anthropic_message(
    reply: Reply, request: Mapping[str, Any], *, message_id: str | None = None
) -> dict[str, Any]:
    """The ``message`` object the Messages API returns for `request`, saying what `reply` scripts.

    >>> request = {"model": "claude-x", "max_tokens": 9, "messages": [{"role": "user", "content": "Hi"}]}
    >>> render_anthropic_message(Reply(), request)["content"]
    [{'type': 'text', 'text': 'Echo: Hi'}]
    """
    msg = _resolve(reply, request)
    content: list[dict[str, Any]] = []
    if msg.reasoning is not None:
        content.append({"type": "thinking", "thinking": msg.reasoning, "signature": _signature(msg.reasoning)})
    if msg.text is not None:
        content.append({"type": "text", "text": msg.text})
    content += [{"type": "tool_use", "id": t.id, "name": t.name, "input": t.input} for t in msg.tools]
    body: dict[str, Any] = {
        "id": _message_id(request, message_id),
        "type": "message",
        "role": "assistant",
        "model": msg.model,
        "content": content,
        "stop_reason": msg.stop_reason,
        "stop_sequence": None,
        "usage": msg.usage,
    }
    body.update(reply.extra)
    return body


def _event(name: str, obj: Mapping[str, Any]) -> bytes:
    return f"event: {name}\n".encode() + b"data: " + dump_json(obj) + b"\n\n"


def _block_events(msg: _Message, chunk_words: int) -> list[tuple[bytes, bool]]:
    """(event, is a content_block_delta) for every content block, a ping after the first start."""
    out: list[tuple[bytes, bool]] = []

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        index = sum(1 for e, _ in out if e.startswith(b"event: content_block_start"))
        out.append((_event("content_block_start", {"type": "content_block_start", "index": index,
                                                    "content_block": start}), False))
        if index == 0:
            out.append((_PING, False))
        for delta in deltas:
            out.append((_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                        "delta": delta}), True))
        out.append((_event("content_block_stop", {"type": "content_block_stop", "index": index}), False))

    if msg.reasoning is not None:
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(msg.reasoning, chunk_words)]
        deltas.append({"type": "signature_delta", "signature": _signature(msg.reasoning)})
        block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
    if msg.text is not None:
        block({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in pieces(msg.text, chunk_words)])
    for tool in msg.tools:
        args = tool.arguments
        fragments = [""] + [args[at : at + _ARGUMENT_FRAGMENT] for at in range(0, len(args), _ARGUMENT_FRAGMENT)]
        block(
            {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}},
            [{"type": "input_json_delta", "partial_json": f} for f in fragments],
        )
    return out


def render_anthropic_stream_events(
    reply: Reply, request: Mapping[str, Any], *, message_id: str | None = None
) -> list[bytes]:
    """The SSE events (``event: NAME\\ndata: {...}\\n\\n`` each) of a streamed Messages reply.

    Joining the ``text_delta`` texts gives the reply text; the ``input_json_delta`` fragments of a
    block give its tool input as JSON. `Reply.stream_error(k, ...)` sends the first k
    ``content_block_delta`` events, then ``event: error`` (no ``message_stop``);
    ``Fault(omit_done=True)`` drops ``message_delta`` and ``message_stop``.
    """
    msg = _resolve(reply, request)
    start_usage = {**msg.usage, "output_tokens": 1}
    start: dict[str, Any] = {
        "id": _message_id(request, message_id),
        "type": "message",
        "role": "assistant",
        "model": msg.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
        **reply.extra,
    }
    events = [_event("message_start", {"type": "message_start", "message": start})]
    blocks = _block_events(msg, reply.chunk_words)
    if reply.api_error is not None and reply.error_after_chunks is not None:
        events += deltas_until_error(blocks, reply.error_after_chunks)
        err = reply.api_error
        return [*events, _event("error", anthropic_error_body(500, err.message, type=err.type or "api_error"))]
    events += [event for event, _ in blocks]
    if reply.fault is not None and reply.fault.omit_done:
        return events
    events.append(
        _event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": msg.stop_reason, "stop_sequence": None},
             "usage": msg.usage},
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


# ---------------------------------------------------------------------------------------------------
# validation (Anthropic's 400s) and the protocol object


class _Invalid(Exception):
    pass


def _kind_ok(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _check(request: RecordedRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise _Invalid(f"There was an error parsing the body: the request body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _Invalid("Input should be a valid dictionary or object to extract fields from")
    for name in ("model", "messages", "max_tokens"):
        if name not in payload:
            raise _Invalid(f"{name}: Field required")
    for name, kind, label in (
        ("model", str, "a valid string"),
        ("messages", list, "a valid list"),
        ("max_tokens", int, "a valid integer"),
        ("stream", bool, "a valid boolean"),
    ):
        if name in payload and not _kind_ok(payload[name], kind):
            raise _Invalid(f"{name}: Input should be {label}")
    if payload["max_tokens"] < 1:
        raise _Invalid("max_tokens: Input should be greater than or equal to 1")
    _check_messages(payload["messages"])
    return payload


def _check_messages(messages: list[Any]) -> None:
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _Invalid(f"messages.{i}: Input should be a valid dictionary or object to extract fields from")
        for field in ("role", "content"):
            if field not in message:
                raise _Invalid(f"messages.{i}.{field}: Field required")
        if message["role"] not in ("user", "assistant"):
            raise _Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")


class AnthropicProtocol:
    """The Anthropic Messages protocol the emulator dispatches to (see `ProviderProtocol`)."""

    name = "anthropic"

    def matches(self, request: RecordedRequest) -> bool:
        return request.path.rstrip("/").endswith("/messages")

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        return (
            request.headers.get("x-api-key") == api_key
            or request.headers.get("authorization", "") == f"Bearer {api_key}"
        )

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        message = "invalid x-api-key" if given.strip() else "x-api-key header is required"
        return self._error(401, ApiError(message, "authentication_error"), exchange, None)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return self._error(404, ApiError("Not Found", "not_found_error"), exchange, None)

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        if not self.matches(request) or request.method != "POST":
            return self.not_found(request, exchange)
        try:
            payload = _check(request)
        except _Invalid as invalid:
            return self._error(400, ApiError(str(invalid), "invalid_request_error"), exchange, None)
        reply = exchange.take_reply()
        stream = payload.get("stream") is True
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, exchange, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            status = reply.status if reply.status >= 400 else 500
            return self._error(status, reply.api_error, exchange, reply)
        message_id = f"msg_emu{exchange.seq:024d}"
        if stream:
            events = render_anthropic_stream_events(reply, payload, message_id=message_id)
            return self._plan(reply.status, events, exchange, reply)
        rendered = render_anthropic_message(reply, payload, message_id=message_id)
        return self._plan(reply.status, dump_json(rendered), exchange, reply)

    def _error(self, status: int, err: ApiError | None, exchange: Exchange, reply: Reply | None) -> ResponsePlan:
        body = anthropic_error_body(
            status,
            err.message if err is not None else None,
            type=err.type if err is not None else None,
            request_id=_request_id(exchange),
        )
        return self._plan(status, dump_json(body), exchange, reply)

    def _plan(
        self, status: int, body: bytes | Sequence[bytes], exchange: Exchange, reply: Reply | None
    ) -> ResponsePlan:
        stream = not isinstance(body, bytes)
        headers = {
            "content-type": "text/event-stream; charset=utf-8" if stream else "application/json",
            "request-id": _request_id(exchange),
            "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "server": "llmplex-emulator",
        }
        if stream:
            headers["cache-control"] = "no-cache"
        if status >= 400:
            headers["x-should-retry"] = "true" if status in (408, 409, 429) or status >= 500 else "false"
        return reply_plan(status, body, reply, headers,
                          malformed_event=b'event: content_block_delta\ndata: {"type":\n\n', malformed_body=b'{"type":')


def _request_id(exchange: Exchange) -> str:
    return f"req_emu{exchange.seq:020d}"
