"""The Ollama native protocol for the emulator: ``/api/chat``, ``/api/generate``, ``/api/embed`` and
``GET /api/tags``, plus pure renderers.

Shapes follow recorded Ollama traffic (see shared/corpus/ollama): one JSON object per response, or
an NDJSON stream (``application/x-ndjson``, chunked, one object per line) of ``"done": false``
pieces ending with a ``"done": true`` line that carries ``done_reason``, durations and counts.
Errors are ``{"error": "..."}``. ``stream`` defaults to true, as in Ollama. The routes match by path
suffix, so any prefix works (``/api/chat``, ``/ollama/api/chat``, ...).

The renderers are pure: a `Reply` and the request JSON in, response data out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._openai_render import _embedding_dims, _vector
from ._plan import Exchange, RecordedRequest, ResponsePlan, Segment, reply_plan
from ._reply import Reply
from ._text import content_text, dump_json, message_list, pieces, raw_body, words

__all__ = [
    "CREATED_AT",
    "OllamaProtocol",
    "render_ollama_chat",
    "render_ollama_chat_stream",
    "render_ollama_embed",
    "render_ollama_generate",
    "render_ollama_generate_stream",
    "render_ollama_tags",
]

DEFAULT_MODEL = "llama3.2:latest"
CREATED_AT = "2025-01-01T00:00:00.000000Z"
"""The fixed ``created_at`` of every rendered object (deterministic output)."""
_ROUTES = ("/api/chat", "/api/generate", "/api/embed", "/api/tags")
_JSON = "application/json; charset=utf-8"
_NDJSON = "application/x-ndjson"
_DONE_REASONS = {"tool_calls": "stop", "end_turn": "stop", "max_tokens": "length"}


# ---------------------------------------------------------------------------------------------------
# resolving a Reply against a request










def _arguments(value: str | dict[str, Any]) -> Any:
    """Tool arguments as the JSON object Ollama sends (a string that is not JSON is kept as is)."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _int(usage: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


@dataclass(frozen=True)
class _Answer:
    model: str
    text: str
    reasoning: str | None
    tools: list[dict[str, Any]]
    done_reason: str
    prompt_tokens: int
    output_tokens: int

    def final_fields(self) -> dict[str, Any]:
        """The ``done: true`` fields after the message: reason, durations and counts."""
        return {
            "done": True,
            "done_reason": self.done_reason,
            "total_duration": 100_000_000 + 1_000_000 * self.prompt_tokens + 5_000_000 * self.output_tokens,
            "load_duration": 50_000_000,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": 1_000_000 * self.prompt_tokens,
            "eval_count": self.output_tokens,
            "eval_duration": 5_000_000 * self.output_tokens,
        }


def _model(reply: Reply, request: Mapping[str, Any]) -> str:
    model = reply.model or request.get("model")
    return model if isinstance(model, str) and model else DEFAULT_MODEL


def _resolve(reply: Reply, request: Mapping[str, Any], prompt_text: str, echo: str) -> _Answer:
    text = reply.text if reply.text is not None else reply.refusal
    if text is None:
        text = "" if reply.tool_calls else "Echo: " + echo
    offset = sum(
        len(m["tool_calls"]) for m in message_list(request) if isinstance(m.get("tool_calls"), list)
    )
    tools = [
        {"id": call.id or f"call_{offset + i + 1}",
         "function": {"index": i, "name": call.name, "arguments": _arguments(call.arguments)}}
        for i, call in enumerate(reply.tool_calls)
    ]
    finish = reply.finish_reason
    done_reason = _DONE_REASONS.get(finish, finish) if finish is not None else "stop"
    usage = reply.usage or {}
    prompt = _int(usage, "prompt_eval_count", "prompt_tokens", "input_tokens")
    output = _int(usage, "eval_count", "completion_tokens", "output_tokens")
    if prompt is None:
        prompt = max(1, words(prompt_text))
    if output is None:
        output = words(text) + words(reply.reasoning) + sum(words(dump_json(t).decode()) for t in tools)
    return _Answer(_model(reply, request), text, reply.reasoning, tools, done_reason, prompt, output)


def _chat_answer(reply: Reply, request: Mapping[str, Any]) -> _Answer:
    messages = message_list(request)
    users = [m for m in messages if m.get("role") == "user"]
    echo = content_text(users[-1].get("content")) if users else ""
    prompt_text = " ".join(content_text(m.get("content")) for m in messages)
    return _resolve(reply, request, prompt_text, echo)


def _generate_answer(reply: Reply, request: Mapping[str, Any]) -> _Answer:
    prompt = content_text(request.get("prompt"))
    answer = _resolve(reply, request, " ".join([content_text(request.get("system")), prompt]), prompt)
    return dataclasses.replace(answer, tools=[])  # /api/generate has no tool calls


# ---------------------------------------------------------------------------------------------------
# renderers


def _message(content: str, thinking: str | None = None, tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tools:
        message["tool_calls"] = tools
    return message


def render_ollama_chat(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/api/chat`` response object (``"stream": false``) saying what `reply` scripts.

    >>> render_ollama_chat(Reply(), {"model": "llama3", "messages": [{"role": "user", "content": "Hi"}]})["message"]
    {'role': 'assistant', 'content': 'Echo: Hi'}
    """
    answer = _chat_answer(reply, request)
    body: dict[str, Any] = {
        "model": answer.model,
        "created_at": CREATED_AT,
        "message": _message(answer.text, answer.reasoning, answer.tools),
        **answer.final_fields(),
    }
    body.update(reply.extra)
    return body


def _line(obj: Mapping[str, Any]) -> bytes:
    return dump_json(obj) + b"\n"


def _stream(reply: Reply, answer: _Answer, piece: Callable[..., dict[str, Any]], final: dict[str, Any]) -> list[bytes]:
    """Thinking pieces, content pieces, the tool-call line, then `final` (or the stream error)."""
    head = {"model": answer.model, "created_at": CREATED_AT}
    deltas = [piece("", thinking=p) for p in pieces(answer.reasoning or "", reply.chunk_words)]
    deltas += [piece(p) for p in pieces(answer.text, reply.chunk_words)]
    lines = [_line({**head, **d, "done": False, **reply.extra}) for d in deltas]
    if reply.api_error is not None and reply.error_after_chunks is not None:
        return [*lines[: reply.error_after_chunks], _line({"error": reply.api_error.message})]
    if answer.tools:
        lines.append(_line({**head, **piece("", tools=answer.tools), "done": False, **reply.extra}))
    if reply.fault is not None and reply.fault.omit_done:
        return lines
    return [*lines, _line({**head, **final, **answer.final_fields(), **reply.extra})]


def render_ollama_chat_stream(reply: Reply, request: Mapping[str, Any]) -> list[bytes]:
    """The NDJSON lines (one JSON object + ``\\n`` each) of a streamed ``/api/chat`` reply.

    Thinking pieces come first (``message.thinking``), then content pieces (`Reply.chunk_words`
    words each), then one line with all ``tool_calls``, then the ``done: true`` line with empty
    content. `Reply.stream_error(k, ...)` sends k piece lines then ``{"error": ...}`` and no done
    line; ``Fault(omit_done=True)`` drops the done line.
    """
    answer = _chat_answer(reply, request)

    def piece(content: str, thinking: str | None = None, tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"message": _message(content, thinking, tools)}

    return _stream(reply, answer, piece, {"message": _message("")})


def _context(answer: _Answer) -> list[int]:
    """A deterministic stand-in for the token context ``/api/generate`` returns."""
    return [100 + i for i in range(answer.prompt_tokens + answer.output_tokens)]


def render_ollama_generate(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/api/generate`` response object: ``response`` (``"Echo: <prompt>"`` by default)."""
    answer = _generate_answer(reply, request)
    body: dict[str, Any] = {"model": answer.model, "created_at": CREATED_AT, "response": answer.text}
    if answer.reasoning is not None:
        body["thinking"] = answer.reasoning
    body.update({"done": True, "done_reason": answer.done_reason, "context": _context(answer)})
    body.update(answer.final_fields())
    body.update(reply.extra)
    return body


def render_ollama_generate_stream(reply: Reply, request: Mapping[str, Any]) -> list[bytes]:
    """The NDJSON lines of a streamed ``/api/generate`` reply (``response`` pieces, then done)."""
    answer = _generate_answer(reply, request)

    def piece(content: str, thinking: str | None = None) -> dict[str, Any]:
        return {"response": content} if thinking is None else {"response": content, "thinking": thinking}

    return _stream(reply, answer, piece, {"response": "", "done": True, "done_reason": answer.done_reason,
                                              "context": _context(answer)})


def embed_inputs(value: Any) -> list[str] | None:
    """The texts of an ``/api/embed`` ``input`` (str or list of str); None when the shape is invalid."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def render_ollama_embed(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/api/embed`` response: one deterministic unit vector per input (same text, same vector).

    Length is the request's ``dimensions``, else `Reply.embedding_dims`, else 8.
    """
    inputs = embed_inputs(request.get("input")) or []
    dims = _embedding_dims(reply, request)
    tokens = _int(reply.usage or {}, "prompt_eval_count", "prompt_tokens")
    body: dict[str, Any] = {
        "model": _model(reply, request),
        "embeddings": [_vector(text, dims) for text in inputs],
        "total_duration": 20_000_000 + 1_000_000 * len(inputs),
        "load_duration": 5_000_000,
        "prompt_eval_count": tokens if tokens is not None else sum(max(1, words(t)) for t in inputs),
    }
    body.update(reply.extra)
    return body


def render_ollama_tags(model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """``GET /api/tags``: the locally available models (one)."""
    return {
        "models": [
            {
                "name": model,
                "model": model,
                "modified_at": CREATED_AT,
                "size": 2019393189,
                "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "llama",
                    "families": ["llama"],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
        ]
    }


# ---------------------------------------------------------------------------------------------------
# validation (Ollama's 400s) and the protocol object


class _Invalid(Exception):
    pass


def _check(request: RecordedRequest, route: str) -> dict[str, Any]:
    if not request.body.strip():
        raise _Invalid("missing request body")
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise _Invalid(f"invalid character in request body: {exc}") from None
    if not isinstance(payload, dict):
        raise _Invalid("json: cannot unmarshal request body into a request object")
    model = payload.get("model")
    if not model:
        raise _Invalid("model is required")
    if not isinstance(model, str):
        raise _Invalid("json: cannot unmarshal model into Go struct field of type string")
    if "stream" in payload and not isinstance(payload["stream"], bool):
        raise _Invalid("json: cannot unmarshal stream into Go struct field of type bool")
    if route == "/api/chat" and "messages" in payload and not isinstance(payload["messages"], list):
        raise _Invalid("json: cannot unmarshal messages into Go struct field of type []api.Message")
    if route == "/api/generate" and "prompt" in payload and not isinstance(payload["prompt"], str):
        raise _Invalid("json: cannot unmarshal prompt into Go struct field of type string")
    if route == "/api/embed" and embed_inputs(payload.get("input")) is None:
        raise _Invalid("invalid input type")
    return payload


def _route(path: str) -> str | None:
    path = path.rstrip("/")
    return next((r for r in _ROUTES if path.endswith(r)), None)


class OllamaProtocol:
    """The Ollama native protocol the emulator dispatches to (see `ProviderProtocol`)."""

    name = "ollama"

    def matches(self, request: RecordedRequest) -> bool:
        return _route(request.path) is not None

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {api_key}"

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return self._plan(401, dump_json({"error": "unauthorized"}), None)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return ResponsePlan(404, (("content-type", "text/plain"),), (Segment(b"404 page not found"),))

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        route = _route(request.path)
        if route is None:
            return self.not_found(request, exchange)
        if route == "/api/tags":
            if request.method not in ("GET", "HEAD"):
                return self.not_found(request, exchange)
            return self._plan(200, dump_json(render_ollama_tags()), None)
        if request.method != "POST":
            return self.not_found(request, exchange)
        try:
            payload = _check(request, route)
        except _Invalid as invalid:
            return self._plan(400, dump_json({"error": str(invalid)}), None)
        reply = exchange.take_reply()
        stream = payload.get("stream", True) is True and route != "/api/embed"
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            status = reply.status if reply.status >= 400 else 500
            message = reply.api_error.message if reply.api_error is not None else "error"
            return self._plan(status, dump_json({"error": message}), reply)
        if route == "/api/embed":
            return self._plan(reply.status, dump_json(render_ollama_embed(reply, payload)), reply)
        if route == "/api/chat":
            if stream:
                return self._plan(reply.status, render_ollama_chat_stream(reply, payload), reply)
            return self._plan(reply.status, dump_json(render_ollama_chat(reply, payload)), reply)
        if stream:
            return self._plan(reply.status, render_ollama_generate_stream(reply, payload), reply)
        return self._plan(reply.status, dump_json(render_ollama_generate(reply, payload)), reply)

    def _plan(self, status: int, body: bytes | Sequence[bytes], reply: Reply | None) -> ResponsePlan:
        headers = {"content-type": _JSON if isinstance(body, bytes) else _NDJSON, "server": "llmplex-emulator"}
        return reply_plan(status, body, reply, headers, malformed_event=b'{"model":\n', malformed_body=b'{"model":',
                          sse=False)
