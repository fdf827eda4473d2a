"""The Gemini protocol for the emulator (Gemini API and Vertex AI routes), plus pure renderers.

Shapes follow recorded Gemini traffic (see shared/corpus/gemini-generatecontent):
``GenerateContentResponse`` objects with ``candidates[].content.parts`` (``text``, ``thought``
text, ``functionCall`` without ids, ``thoughtSignature``), ``finishReason`` and ``usageMetadata``;
``streamGenerateContent`` as SSE (``?alt=sse``, ``data: {...}\\r\\n\\r\\n``) or, without ``alt=sse``,
one JSON array (``application/json``); ``google.rpc.Status`` error bodies
(``{"error": {"code", "message", "status", "details"}}``). Routes match by their ``:method`` suffix
after ``/models/{model}``: ``generateContent``, ``streamGenerateContent``, ``embedContent``,
``batchEmbedContents`` and Vertex AI's ``predict``, under any prefix.

The renderers are pure: a `Reply` and the request JSON in, response data out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._openai_render import _vector, status_phrase
from ._plan import Exchange, RecordedRequest, ResponsePlan, build_plan
from ._reply import ApiError, Reply
from ._text import dump_json, pieces, raw_body, words

__all__ = ["GeminiProtocol", "gemini_error_body", "render_gemini_response", "render_gemini_stream_chunks"]

_ROUTE = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
_METHODS = ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "predict")
STATUS_NAMES: dict[int, str] = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                                404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
_TYPES = "type.googleapis.com/google.rpc."


def gemini_error_body(status: int, message: str | None = None, *, status_name: str | None = None,
                      reason: str | None = None, retry_delay: str | None = None) -> dict[str, Any]:
    """Google's ``google.rpc.Status`` error body; ``reason`` adds an ``ErrorInfo`` detail,
    ``retry_delay`` (``"7s"``) a ``RetryInfo`` detail.

    >>> gemini_error_body(429, "slow down")["error"]["status"]
    'RESOURCE_EXHAUSTED'
    """
    error: dict[str, Any] = {
        "code": status,
        "message": message if message is not None else status_phrase(status),
        "status": status_name or STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"),
    }
    details: list[dict[str, Any]] = []
    if reason:
        details.append({"@type": _TYPES + "ErrorInfo", "reason": reason, "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"}})
    if retry_delay:
        details.append({"@type": _TYPES + "RetryInfo", "retryDelay": retry_delay})
    if details:
        error["details"] = details
    return {"error": error}


# ---------------------------------------------------------------------------------------------------
# resolving a Reply against a request


@dataclass(frozen=True)
class _Answer:
    model: str
    text: str | None
    reasoning: str | None
    calls: list[dict[str, Any]]
    finish: str
    usage: dict[str, Any]
    blocked: str | None


def _user_text(request: Mapping[str, Any]) -> str:
    for content in reversed(request.get("contents") or []):
        if isinstance(content, Mapping) and content.get("role", "user") == "user":
            texts = [p.get("text") for p in content.get("parts") or [] if isinstance(p, Mapping)]
            found = " ".join(t for t in texts if isinstance(t, str))
            if found:
                return found
    return ""


def _resolve(reply: Reply, request: Mapping[str, Any], model: str) -> _Answer:
    text = reply.text
    if text is None and not reply.tool_calls and reply.refusal is None:
        text = "Echo: " + _user_text(request)
    calls = []
    for call in reply.tool_calls:
        args: Any = call.arguments
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"_raw": args}
        function_call: dict[str, Any] = {"name": call.name, "args": args}
        if call.id is not None:
            function_call["id"] = call.id
        calls.append(function_call)
    finish = _FINISH.get(reply.finish_reason or "stop", (reply.finish_reason or "STOP").upper())
    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        system = " ".join(p.get("text", "") for p in (request.get("systemInstruction") or {}).get("parts") or [])
        prompt = max(1, words(system) + sum(words(p.get("text")) for c in request.get("contents") or []
                                            for p in c.get("parts") or [] if isinstance(p, Mapping)))
        output = words(text) + sum(words(json.dumps(c["args"])) for c in calls)
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": output}
        if reply.reasoning:
            usage["thoughtsTokenCount"] = words(reply.reasoning)
        usage["totalTokenCount"] = sum(usage.values())
    blocked = "SAFETY" if reply.refusal is not None and reply.text is None else None
    return _Answer(reply.model or model, text, reply.reasoning, calls, finish, usage, blocked)


def _signature(answer: _Answer) -> str:
    digest = hashlib.sha256(b"llmplex-emulator-thought:" + (answer.reasoning or "").encode("utf-8", "replace"))
    return base64.b64encode(b"EmuSig" + digest.digest()).decode()


def _final_parts(answer: _Answer) -> list[dict[str, Any]]:
    """Function call parts; the first carries the thought signature when the model thought."""
    parts: list[dict[str, Any]] = [{"functionCall": call} for call in answer.calls]
    if parts and answer.reasoning is not None:
        parts[0]["thoughtSignature"] = _signature(answer)
    return parts


def render_gemini_response(reply: Reply, request: Mapping[str, Any], model: str,
                           response_id: str = "emu-response") -> dict[str, Any]:
    """The ``GenerateContentResponse`` for `request`, saying what `reply` scripts.

    >>> body = render_gemini_response(Reply("Hi"), {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, "g")
    >>> body["candidates"][0]["content"]["parts"], body["candidates"][0]["finishReason"]
    ([{'text': 'Hi'}], 'STOP')
    """
    answer = _resolve(reply, request, model)
    if answer.blocked:
        return {"promptFeedback": {"blockReason": answer.blocked}, "usageMetadata": answer.usage,
                "modelVersion": answer.model, "responseId": response_id}
    parts: list[dict[str, Any]] = []
    if answer.reasoning is not None:
        parts.append({"text": answer.reasoning, "thought": True})
    if answer.text is not None:
        parts.append({"text": answer.text})
    parts += _final_parts(answer)
    if answer.reasoning is not None and not answer.calls and answer.text is not None:
        parts[-1]["thoughtSignature"] = _signature(answer)
    candidate = {"content": {"parts": parts, "role": "model"}, "finishReason": answer.finish, "index": 0}
    body = {"candidates": [candidate], "usageMetadata": answer.usage, "modelVersion": answer.model,
            "responseId": response_id}
    body.update(reply.extra)
    return body


def render_gemini_stream_chunks(reply: Reply, request: Mapping[str, Any], model: str,
                                response_id: str = "emu-response") -> list[dict[str, Any]]:
    """The chunks of a streamed reply: thought pieces, text pieces, the function calls, then the
    finish chunk with ``usageMetadata``. Joining the texts gives the non-streamed response.
    `Reply.stream_error(k, ...)` sends k delta chunks, then an ``{"error": {...}}`` chunk;
    ``Fault(omit_done=True)`` drops the finish chunk."""
    answer = _resolve(reply, request, model)
    if answer.blocked:
        return [render_gemini_response(reply, request, model, response_id)]
    deltas: list[list[dict[str, Any]]] = []
    if answer.reasoning is not None:
        deltas += [[{"text": p, "thought": True}] for p in pieces(answer.reasoning, reply.chunk_words)]
    if answer.text is not None:
        deltas += [[{"text": p}] for p in pieces(answer.text, reply.chunk_words)]
    if answer.calls:
        deltas.append(_final_parts(answer))

    def chunk(parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        candidate = {"content": {"parts": parts, "role": "model"}, "index": 0, **extra}
        return {"candidates": [candidate], "modelVersion": answer.model, "responseId": response_id, **reply.extra}

    if reply.api_error is not None and reply.error_after_chunks is not None:
        err = reply.api_error
        return [chunk(d) for d in deltas[: reply.error_after_chunks]] + [
            gemini_error_body(500, err.message, status_name=str(err.code) if err.code else None, reason=err.type)]
    chunks = [chunk(d) for d in deltas]
    if reply.fault is not None and reply.fault.omit_done:
        return chunks
    last_parts: list[dict[str, Any]] = [{"text": ""}]
    if answer.reasoning is not None and not answer.calls:
        last_parts[0]["thoughtSignature"] = _signature(answer)
    return [*chunks, {**chunk(last_parts, finishReason=answer.finish), "usageMetadata": answer.usage}]


def _embeddings(reply: Reply, request: Mapping[str, Any], method: str, model: str) -> dict[str, Any]:
    def dims(fields: Mapping[str, Any]) -> int:
        value = fields.get("outputDimensionality")
        return value if isinstance(value, int) and value > 0 else (reply.embedding_dims or 8)

    def text(content: Any) -> str:
        return " ".join(p.get("text", "") for p in (content or {}).get("parts") or [])

    if method == "embedContent":
        return {"embedding": {"values": _vector(text(request.get("content")), dims(request))}}
    if method == "batchEmbedContents":
        return {"embeddings": [{"values": _vector(text(r.get("content")), dims(r))} for r in request["requests"]]}
    size = dims(request.get("parameters") or {})
    return {"predictions": [{"embeddings": {"values": _vector(str(i.get("content", "")), size),
                                            "statistics": {"token_count": words(str(i.get("content", "")))}}}
                            for i in request["instances"]], "metadata": {"billableCharacterCount": 1}}


# ---------------------------------------------------------------------------------------------------
# validation and the protocol object


class _Invalid(Exception):
    pass


def _check(request: RecordedRequest, method: str) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _Invalid("Invalid JSON payload received.") from None
    if not isinstance(payload, dict):
        raise _Invalid("Invalid JSON payload received. Expected an object.")
    if method in ("generateContent", "streamGenerateContent"):
        contents = payload.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _Invalid("* GenerateContentRequest.contents: contents is not specified")
        for content in contents:
            if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
                raise _Invalid("Please use a valid role: user, model.")
            for part in content.get("parts") or []:
                response = part.get("functionResponse") if isinstance(part, dict) else None
                if response is not None and not response.get("name"):
                    raise _Invalid("* GenerateContentRequest.contents: function_response.name: Name is required.")
    elif method == "batchEmbedContents" and not isinstance(payload.get("requests"), list):
        raise _Invalid("* BatchEmbedContentsRequest.requests: requests is not specified")
    elif method == "predict" and not isinstance(payload.get("instances"), list):
        raise _Invalid("instances is required")
    return payload


class GeminiProtocol:
    """The Gemini protocol the emulator dispatches to (see `ProviderProtocol`)."""

    name = "gemini"

    def matches(self, request: RecordedRequest) -> bool:
        found = _ROUTE.search(request.path)
        return found is not None and found["method"] in _METHODS

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        return (request.headers.get("x-goog-api-key") == api_key
                or request.headers.get("authorization", "") == f"Bearer {api_key}")

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        if request.headers.get("authorization"):  # Vertex AI: a bad OAuth token
            body = gemini_error_body(401, "Request had invalid authentication credentials. Expected OAuth 2 "
                                          "access token, login cookie or other valid authentication credential.")
            return self._plan(401, dump_json(body, pretty=True), None, False)
        if request.headers.get("x-goog-api-key"):  # what Google answers for a wrong key: 400, not 401
            body = gemini_error_body(400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID")
            return self._plan(400, dump_json(body, pretty=True), None, False)
        body = gemini_error_body(403, "Method doesn't allow unregistered callers (callers without established "
                                      "identity). Please use API Key or other form of API consumer identity to "
                                      "call this API.")
        return self._plan(403, dump_json(body, pretty=True), None, False)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        body = gemini_error_body(404, f"The requested URL {request.path} was not found on this server.")
        return self._plan(404, dump_json(body, pretty=True), None, False)

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        found = _ROUTE.search(request.path)
        if found is None or request.method != "POST":
            return self.not_found(request, exchange)
        method, model = found["method"], found["model"]
        sse = request.query.get("alt") == "sse"
        try:
            payload = _check(request, method)
        except _Invalid as invalid:
            return self._plan(400, dump_json(gemini_error_body(400, str(invalid)), pretty=True), None, False)
        reply = exchange.take_reply()
        body = raw_body(reply)
        stream = method == "streamGenerateContent"
        if body is not None:
            return self._plan(reply.status, body, reply, stream and sse)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            return self._error(reply)
        response_id = f"emu{exchange.seq:020d}"
        if method in ("embedContent", "batchEmbedContents", "predict"):
            return self._plan(reply.status, dump_json(_embeddings(reply, payload, method, model)), reply, False)
        if not stream:
            rendered = render_gemini_response(reply, payload, model, response_id)
            return self._plan(reply.status, dump_json(rendered, pretty=True), reply, False)
        chunks = render_gemini_stream_chunks(reply, payload, model, response_id)
        if sse:
            return self._plan(reply.status, [b"data: " + dump_json(c) + b"\r\n\r\n" for c in chunks], reply, True)
        elements = [dump_json(c, pretty=True) for c in chunks]
        array = [b"[" + elements[0]] + [b",\r\n" + e for e in elements[1:]] if elements else [b"["]
        if reply.fault is None or not reply.fault.omit_done:
            array.append(b"]")
        return self._plan(reply.status, array, reply, False, json_stream=True)

    def _error(self, reply: Reply) -> ResponsePlan:
        status = reply.status if reply.status >= 400 else 500
        err = reply.api_error or ApiError(status_phrase(status))
        headers = {k.lower(): v for k, v in reply.headers.items()}
        delay = headers.pop("retry-after", None)  # Google says it in the body, as RetryInfo
        body = gemini_error_body(status, err.message, status_name=str(err.code) if err.code else None,
                                 reason=err.type, retry_delay=f"{delay}s" if delay else None)
        return self._plan(status, dump_json(body, pretty=True), Reply(headers=headers, fault=reply.fault), False)

    def _plan(self, status: int, body: bytes | Sequence[bytes], reply: Reply | None, sse: bool,
              json_stream: bool = False) -> ResponsePlan:
        chunked = sse or json_stream
        headers = {"content-type": "text/event-stream" if sse else "application/json; charset=UTF-8",
                   "server": "scaffolding on HTTPServer2", "x-content-type-options": "nosniff"}
        if sse:
            headers["content-disposition"] = "attachment"
        for name, value in (reply.headers if reply is not None else {}).items():
            headers[name.lower()] = value
        return build_plan(
            [body] if isinstance(body, bytes) else list(body),
            reply.fault if reply is not None else None,
            status=status,
            headers=list(headers.items()),
            chunked=chunked,
            malformed=b'data: {"candidates":\r\n\r\n' if sse else b'{"candidates":',
            sse=sse,
        )
