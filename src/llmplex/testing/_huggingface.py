"""Hugging Face's native routes for the emulator: text generation and feature extraction on the
serverless Inference API, and a TGI / TEI server's ``/generate``, ``/generate_stream`` and ``/embed``.

The router's and TGI's OpenAI-compatible ``/v1/chat/completions`` is served by the OpenAI protocol.
Routes (``POST`` only):

* ``.../hf-inference/models/{model}`` and the legacy ``/models/{model}``: text generation, answered
  ``[{"generated_text", "details"}]``, or a TGI token stream when the body says ``"stream": true``;
* ``.../hf-inference/models/{model}/pipeline/feature-extraction`` and the legacy
  ``/pipeline/feature-extraction/{model}``: one vector per input (a flat vector for a string input);
* ``/generate`` (a bare ``{"generated_text", "details"}``), ``/generate_stream`` and ``/embed``
  (always ``[[...]]``), by path suffix, except Ollama's ``/api/generate`` and ``/api/embed``.

Errors are ``{"error": message[, "error_type": type]}``; a 200 stream's error event is
``data:{"error": ..., "error_type": "generation"}``; unknown routes get ``Not Found`` as plain text.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._openai_render import _embedding_dims, _vector
from ._plan import Exchange, RecordedRequest, ResponsePlan, Segment, reply_plan
from ._reply import Reply
from ._text import dump_json, pieces, raw_body, words

__all__ = [
    "HuggingFaceProtocol",
    "hf_error_body",
    "render_generation",
    "render_generation_stream_events",
]

_FINISH = {"stop": "eos_token", "length": "length", "tool_calls": "eos_token"}
_EOS = "</s>"
UNAUTHORIZED_MESSAGE = "Invalid credentials in Authorization header"


class Route(enum.Enum):
    """The native routes served here."""

    MODEL = "model"
    FEATURES = "features"
    GENERATE = "generate"
    GENERATE_STREAM = "generate_stream"
    EMBED = "embed"


def match_route(path: str) -> Route | None:
    """The native route of a path, or None."""
    path = path.rstrip("/")
    if "/hf-inference/models/" in path or path.startswith(("/models/", "/pipeline/feature-extraction/")):
        return Route.FEATURES if "/pipeline/feature-extraction" in path else Route.MODEL
    if path.endswith(("/api/generate", "/api/embed")):
        return None  # Ollama's
    for route in (Route.GENERATE_STREAM, Route.GENERATE, Route.EMBED):
        if path.endswith("/" + route.value):
            return route
    return None


def hf_error_body(message: str, error_type: str | None = None) -> dict[str, Any]:
    """``{"error": message}`` plus TGI's ``error_type`` when there is one.

    >>> hf_error_body("Model is overloaded", "overloaded")
    {'error': 'Model is overloaded', 'error_type': 'overloaded'}
    """
    body: dict[str, Any] = {"error": message}
    if error_type is not None:
        body["error_type"] = error_type
    return body


# -- text generation ----------------------------------------------------------------------------


def _parameters(request: Mapping[str, Any]) -> Mapping[str, Any]:
    value = request.get("parameters")
    return value if isinstance(value, Mapping) else {}


def _generated(reply: Reply, request: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(generated text, TGI finish reason, details) for a request."""
    inputs = request.get("inputs") if isinstance(request.get("inputs"), str) else ""
    text = reply.text if reply.text is not None else reply.refusal
    if text is None:
        text = f"Echo: {inputs}"
    parameters = _parameters(request)
    if parameters.get("return_full_text") is True:
        text = str(inputs) + text
    finish = _FINISH.get(reply.finish_reason or "stop", reply.finish_reason or "eos_token")
    usage = reply.usage or {}
    details = {
        "finish_reason": finish,
        "generated_tokens": int(usage.get("completion_tokens", words(text) + (finish == "eos_token"))),
        "seed": parameters.get("seed"),
    }
    details["input_length"] = int(usage.get("prompt_tokens", max(1, words(str(inputs)))))
    return text, finish, details


def render_generation(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """One text-generation result: ``{"generated_text", "details"}`` (details when asked for).

    >>> render_generation(Reply("Hi"), {"inputs": "Hello"})
    {'generated_text': 'Hi'}
    """
    text, _, details = _generated(reply, request)
    parameters = _parameters(request)
    out: dict[str, Any] = {"generated_text": text}
    if parameters.get("details") is True:
        out["details"] = {k: v for k, v in details.items() if k != "input_length"} | {"prefill": [], "tokens": []}
    out.update(reply.extra)
    return out


def _token_event(index: int, text: str, *, special: bool = False, final: str | None = None,
                 details: dict[str, Any] | None = None) -> bytes:
    event = {"index": index, "token": {"id": index, "text": text, "logprob": -0.125, "special": special},
             "generated_text": final, "details": details, "top_tokens": None}
    return b"data:" + dump_json(event) + b"\n\n"


def render_generation_stream_events(reply: Reply, request: Mapping[str, Any]) -> list[bytes]:
    """The SSE events of a TGI token stream: one per piece of `chunk_words` words, then the final
    event carrying ``generated_text`` and ``details`` (a special ``</s>`` token when the model
    stopped on its own). `Reply.stream_error(k, ...)` sends k token events, then an error event;
    ``Fault(omit_done=True)`` leaves the final event out."""
    text, finish, details = _generated(reply, request)
    parts = pieces(text, reply.chunk_words)
    if reply.api_error is not None and reply.error_after_chunks is not None:
        sent = [_token_event(i + 1, p) for i, p in enumerate(parts[: reply.error_after_chunks])]
        err = reply.api_error
        return [*sent, b"data:" + dump_json(hf_error_body(err.message, err.type or "generation")) + b"\n\n"]
    omit = reply.fault is not None and reply.fault.omit_done
    if finish == "eos_token":
        events = [_token_event(i + 1, p) for i, p in enumerate(parts)]
        if not omit:
            events.append(_token_event(len(parts) + 1, _EOS, special=True, final=text, details=details))
        return events
    parts = parts or [""]
    events = [_token_event(i + 1, p) for i, p in enumerate(parts[:-1])]
    last = len(parts)
    events.append(_token_event(last, parts[-1]) if omit else _token_event(last, parts[-1], final=text, details=details))
    return events


# -- validation and the protocol object ---------------------------------------------------------


class _Invalid(Exception):
    pass


def _inputs_ok(value: Any, route: Route) -> bool:
    if route in (Route.FEATURES, Route.EMBED):
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    return isinstance(value, str)


def _check(request: RecordedRequest, route: Route) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise _Invalid(f"Failed to parse the request body as JSON: {exc}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise _Invalid("Failed to deserialize the JSON body into the target type: missing field `inputs`")
    if not _inputs_ok(payload["inputs"], route):
        raise _Invalid("Failed to deserialize the JSON body into the target type: inputs: invalid type")
    if "parameters" in payload and not isinstance(payload["parameters"], dict):
        raise _Invalid("Failed to deserialize the JSON body into the target type: parameters: invalid type")
    return payload


def _vectors(reply: Reply, payload: Mapping[str, Any], route: Route) -> Any:
    dims = _embedding_dims(reply, payload)
    inputs = payload["inputs"]
    if isinstance(inputs, str):
        vector = _vector(inputs, dims)
        return vector if route is Route.FEATURES else [vector]
    return [_vector(text, dims) for text in inputs]


class HuggingFaceProtocol:
    """Hugging Face's native routes, for the emulator (see `ProviderProtocol`)."""

    name = "huggingface"

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and match_route(request.path) is not None

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {api_key}"

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return self._plan(401, dump_json(hf_error_body(UNAUTHORIZED_MESSAGE)), exchange, None)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return ResponsePlan(404, (("content-type", "text/plain; charset=utf-8"),), (Segment(b"Not Found"),))

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        route = match_route(request.path)
        if route is None or request.method != "POST":
            return self.not_found(request, exchange)
        try:
            payload = _check(request, route)
        except _Invalid as invalid:
            return self._plan(422, dump_json(hf_error_body(str(invalid), "validation")), exchange, None)
        reply = exchange.take_reply()
        stream = route is Route.GENERATE_STREAM or (route is Route.MODEL and payload.get("stream") is True)
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, exchange, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            status = reply.status if reply.status >= 400 else 500
            err = reply.api_error
            error = hf_error_body(err.message if err else "Internal Server Error", err.type if err else None)
            return self._plan(status, dump_json(error), exchange, reply)
        if route in (Route.FEATURES, Route.EMBED):
            return self._plan(reply.status, dump_json(_vectors(reply, payload, route)), exchange, reply)
        if stream:
            return self._plan(reply.status, render_generation_stream_events(reply, payload), exchange, reply)
        result = render_generation(reply, payload)
        return self._plan(reply.status, dump_json(result if route is Route.GENERATE else [result]), exchange, reply)

    def _plan(
        self, status: int, body: bytes | Sequence[bytes], exchange: Exchange, reply: Reply | None
    ) -> ResponsePlan:
        headers = {
            "content-type": "application/json" if isinstance(body, bytes) else "text/event-stream",
            "x-request-id": f"hf-emu-{exchange.seq:06d}",
            "server": "llmplex-emulator",
        }
        return reply_plan(status, body, reply, headers, malformed_event=b'data:{"token":\n\n',
                          malformed_body=b'[{"generated_text":')
