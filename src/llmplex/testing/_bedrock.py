"""AWS Bedrock for the emulator: ``POST .../model/{id}/converse``, ``/converse-stream`` and ``/invoke``.

Shapes follow recorded Bedrock traffic (shared/corpus/bedrock-converse): Converse bodies with
``output.message.content`` blocks (``text``, ``toolUse``, ``reasoningContent``), ``stopReason``,
``usage`` and ``metrics``; ConverseStream as the binary AWS event-stream (``messageStart``,
``contentBlockStart`` / ``contentBlockDelta`` / ``contentBlockStop``, ``messageStop``, ``metadata``;
an in-stream error is a ``:message-type: exception`` message); errors as ``{"message": …}`` with
``x-amzn-errortype: <Name>Exception:http://internal.amazon.com/coral/com.amazon.bedrock/``.
InvokeModel answers Titan text embeddings (``inputText``) and Cohere embed (``texts``).

The event-stream encoder and the SigV4 check below are written from the specifications alone, apart
from the library's decoder and signer, so that the two sides check each other. ``require_api_key``
takes the secret access key: requests must carry a valid SigV4 signature made with it (any access key
id), or ``Authorization: Bearer <key>`` (a Bedrock API key); otherwise Bedrock's real 403 bodies.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import struct
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from ._openai_render import _vector
from ._plan import Exchange, RecordedRequest, ResponsePlan, build_plan
from ._reply import ApiError, Reply
from ._text import ScriptedTool, deltas_until_error, dump_json, pieces, raw_body, words

__all__ = [
    "BEDROCK_ERROR_TYPES",
    "BedrockProtocol",
    "bedrock_error",
    "encode_event_message",
    "render_bedrock_converse",
    "render_bedrock_embeddings",
    "render_bedrock_stream_events",
]

BEDROCK_ERROR_TYPES: dict[int, str] = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    409: "ConflictException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_CORAL = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
           "content_filter": "guardrail_intervened"}
_ARGUMENT_FRAGMENT = 5
_MAX_SKEW = 15 * 60  # seconds: AWS rejects signatures older or newer than this ("Signature expired")
_BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                  "Secret Access Key and signing method. Consult the service documentation for details.")


# ---------------------------------------------------------------------------------------------------
# the binary event-stream encoding (spec: total length, headers length, prelude CRC, headers,
# payload, message CRC; every integer big-endian; string headers are type 7 with a 2-byte length)


def encode_event_message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message with string headers.

    >>> encode_event_message([], b"").hex()
    '000000100000000005c248eb7d98c8ff'
    """
    head = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers
    )
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _event(kind: str, payload: Mapping[str, Any]) -> bytes:
    headers = [(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")]
    return encode_event_message(headers, dump_json({**payload, "p": "abcdefgh"[: 1 + len(kind) % 8]}))


def _exception(kind: str, message: str) -> bytes:
    headers = [(":exception-type", kind), (":content-type", "application/json"), (":message-type", "exception")]
    return encode_event_message(headers, dump_json({"message": message}))


# ---------------------------------------------------------------------------------------------------
# resolving a Reply against a request


@dataclass(frozen=True)
class _Message:
    text: str | None
    reasoning: str | None
    tools: list[ScriptedTool]
    stop_reason: str
    usage: dict[str, Any]


def _signature(thinking: str) -> str:
    return hashlib.sha256(b"llmplex-emulator-bedrock:" + thinking.encode("utf-8", "replace")).hexdigest()


def _turn_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if not isinstance(content, list):
        return ""
    return " ".join(b["text"] for b in content if isinstance(b, Mapping) and isinstance(b.get("text"), str))


def _resolve(reply: Reply, request: Mapping[str, Any]) -> _Message:
    messages = [m for m in request.get("messages") or [] if isinstance(m, Mapping)]
    text = reply.text if reply.text is not None else reply.refusal
    if text is None and not reply.tool_calls:
        users = [m for m in messages if m.get("role") == "user"]
        text = "Echo: " + (_turn_text(users[-1]) if users else "")
    offset = sum(1 for m in messages for b in m.get("content") or [] if isinstance(b, Mapping) and "toolUse" in b)
    tools = [
        ScriptedTool(call.id or f"tooluse_emu{offset + i + 1:04d}", call.name,
              call.arguments if isinstance(call.arguments, str) else dump_json(call.arguments).decode())
        for i, call in enumerate(reply.tool_calls)
    ]
    if reply.finish_reason is None:
        stop = ("tool_use" if tools else
                "guardrail_intervened" if reply.refusal is not None and reply.text is None else "end_turn")
    else:
        stop = _FINISH.get(reply.finish_reason, reply.finish_reason)
    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        system = " ".join(b.get("text", "") for b in request.get("system") or [] if isinstance(b, Mapping))
        prompt = max(1, words(system) + sum(words(_turn_text(m)) for m in messages))
        output = words(text) + words(reply.reasoning) + sum(words(t.arguments) for t in tools)
        usage = {"inputTokens": prompt, "outputTokens": output}
    usage.setdefault("totalTokens", sum(usage.get(k) or 0 for k in (
        "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")))
    return _Message(text, reply.reasoning, tools, stop, usage)


# ---------------------------------------------------------------------------------------------------
# renderers


def render_bedrock_converse(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """The Converse response body for `request`, saying what `reply` scripts.

    >>> render_bedrock_converse(Reply(), {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})["output"]
    {'message': {'role': 'assistant', 'content': [{'text': 'Echo: Hi'}]}}
    """
    msg = _resolve(reply, request)
    content: list[dict[str, Any]] = []
    if msg.reasoning is not None:
        content.append({"reasoningContent": {"reasoningText": {"text": msg.reasoning,
                                                               "signature": _signature(msg.reasoning)}}})
    if msg.text is not None:
        content.append({"text": msg.text})
    content += [{"toolUse": {"toolUseId": t.id, "name": t.name, "input": t.input}} for t in msg.tools]
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": msg.stop_reason,
        "usage": msg.usage,
        "metrics": {"latencyMs": 42},
    }
    body.update(reply.extra)
    return body


def _block_events(msg: _Message, chunk_words: int) -> list[tuple[bytes, bool]]:
    """(message, is a contentBlockDelta) for every content block."""
    out: list[tuple[bytes, bool]] = []
    index = 0

    def block(start: dict[str, Any] | None, deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        if start is not None:
            out.append((_event("contentBlockStart", {"contentBlockIndex": index, "start": start}), False))
        out.extend((_event("contentBlockDelta", {"contentBlockIndex": index, "delta": d}), True) for d in deltas)
        out.append((_event("contentBlockStop", {"contentBlockIndex": index}), False))
        index += 1

    if msg.reasoning is not None:
        deltas = [{"reasoningContent": {"text": p}} for p in pieces(msg.reasoning, chunk_words)]
        block(None, [*deltas, {"reasoningContent": {"signature": _signature(msg.reasoning)}}])
    if msg.text is not None:
        block(None, [{"text": p} for p in pieces(msg.text, chunk_words)] or [{"text": ""}])
    for tool in msg.tools:
        args = tool.arguments
        fragments = [args[at : at + _ARGUMENT_FRAGMENT] for at in range(0, len(args), _ARGUMENT_FRAGMENT)]
        block({"toolUse": {"toolUseId": tool.id, "name": tool.name}}, [{"toolUse": {"input": f}} for f in fragments])
    return out


def render_bedrock_stream_events(reply: Reply, request: Mapping[str, Any]) -> list[bytes]:
    """The event-stream messages of a ConverseStream reply (each one encoded message).

    `Reply.stream_error(k, ...)` sends the first k ``contentBlockDelta`` messages, then an
    exception message (``:exception-type`` from the error's type, default
    ``internalServerException``); ``Fault(omit_done=True)`` drops ``messageStop`` and ``metadata``.
    """
    msg = _resolve(reply, request)
    events = [_event("messageStart", {"role": "assistant"})]
    blocks = _block_events(msg, reply.chunk_words)
    if reply.api_error is not None and reply.error_after_chunks is not None:
        events += deltas_until_error(blocks, reply.error_after_chunks)
        kind = reply.api_error.type or "internalServerException"
        return [*events, _exception(kind[:1].lower() + kind[1:], reply.api_error.message)]
    events += [event for event, _ in blocks]
    if reply.fault is not None and reply.fault.omit_done:
        return events
    events.append(_event("messageStop", {"stopReason": msg.stop_reason}))
    events.append(_event("metadata", {"usage": msg.usage, "metrics": {"latencyMs": 42}}))
    return events


def render_bedrock_embeddings(reply: Reply, request: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """(InvokeModel body, input token count) for a Titan (``inputText``) or Cohere (``texts``) request."""
    dims = request.get("dimensions")
    size = dims if isinstance(dims, int) and dims > 0 else reply.embedding_dims or 8
    if isinstance(request.get("texts"), list):
        texts = [str(t) for t in request["texts"]]
        tokens = sum(max(1, words(t)) for t in texts)
        return {"embeddings": [_vector(t, size) for t in texts], "id": "emu-embed", "texts": texts,
                "response_type": "embeddings_floats"}, tokens
    text = str(request.get("inputText", ""))
    vector = _vector(text, size)
    tokens = max(1, words(text))
    return {"embedding": vector, "embeddingsByType": {"float": vector}, "inputTextTokenCount": tokens}, tokens


def bedrock_error(status: int, message: str | None = None, *, type: str | None = None) -> tuple[str, dict[str, Any]]:
    """(``x-amzn-errortype`` name, body) of a Bedrock error.

    >>> bedrock_error(429, "Too many requests, please wait before trying again.")[0]
    'ThrottlingException'
    """
    fallback = "InternalServerException" if status >= 500 else "ValidationException"
    name = type or BEDROCK_ERROR_TYPES.get(status, fallback)
    return name[:1].upper() + name[1:], {"message": message if message is not None else name}


# ---------------------------------------------------------------------------------------------------
# SigV4 verification, from the spec (independent of llmplex.providers._sigv4)


def _signature_problem(request: RecordedRequest, secret: str, now: float) -> str | None:
    """None when the request's SigV4 signature is valid for `secret`, else Bedrock's message."""
    auth = request.headers.get("authorization", "")
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",") if "=" in part)
    try:
        _key_id, day, region, service, _terminal = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        given = fields["Signature"]
    except (KeyError, ValueError):
        return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."
    stamp = request.headers.get("x-amz-date", "")
    try:
        when = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return "Date must be in ISO-8601 'basic format'."
    if abs(now - when) > _MAX_SKEW:
        return f"Signature expired: {stamp} is now earlier or later than the allowed 15 minutes."
    path, _, query = request.target.partition("?")
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True))
    lines = [request.method, quote(path, safe="/-_.~"), "&".join(f"{k}={v}" for k, v in pairs)]
    lines += [f"{name}:{' '.join(request.headers.get(name, '').split())}" for name in signed]
    lines += ["", ";".join(signed), hashlib.sha256(request.body).hexdigest()]
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256("\n".join(lines).encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, given) else _BAD_SIGNATURE


# ---------------------------------------------------------------------------------------------------
# validation (Bedrock's 400s) and the protocol object


class _Invalid(Exception):
    pass


def _check(request: RecordedRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _Invalid("The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _Invalid("The request body must be a JSON object.")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Invalid("1 validation error detected: Value null at 'messages' failed to satisfy constraint: "
                       "Member must not be null")
    previous = None
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant") or not isinstance(message.get("content"), list):
            raise _Invalid(f"1 validation error detected: Value at 'messages.{i + 1}.member.role' failed to satisfy "
                           f"constraint: Member must satisfy enum value set: [user, assistant]")
        if i == 0 and role != "user":
            raise _Invalid("A conversation must start with a user message. Try again with a conversation that "
                           "starts with a user message.")
        if role == previous:
            raise _Invalid("A conversation must alternate between user and assistant roles. Make sure the "
                           "conversation alternates between user and assistant roles and try again.")
        previous = role
        for j, block in enumerate(message["content"]):
            if isinstance(block, dict) and "text" in block and not str(block["text"]).strip():
                raise _Invalid(f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank. "
                               f"Add text to the text field, and try again.")
            uses_tools = isinstance(block, dict) and ("toolUse" in block or "toolResult" in block)
            if uses_tools and "toolConfig" not in payload:
                raise _Invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    return payload


def _route(path: str) -> tuple[str, str] | None:
    """(model id, operation) for ``.../model/{id}/{converse|converse-stream|invoke}``."""
    _, sep, rest = path.rstrip("/").rpartition("/model/")
    model, slash, operation = rest.partition("/")
    if not sep or not slash or operation not in ("converse", "converse-stream", "invoke"):
        return None
    return unquote(model), operation


class BedrockProtocol:
    """The Bedrock runtime protocol the emulator dispatches to (see `ProviderProtocol`)."""

    name = "bedrock"

    def matches(self, request: RecordedRequest) -> bool:
        return _route(request.path) is not None

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:], api_key)
        return auth.startswith("AWS4-HMAC-SHA256 ") and _signature_problem(request, api_key, time.time()) is None

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        auth = request.headers.get("authorization", "")
        if not auth.strip():
            err = ApiError("Missing Authentication Token", "MissingAuthenticationTokenException")
        elif auth.startswith("AWS4-HMAC-SHA256 "):
            problem = _signature_problem(request, "\x00", time.time()) or _BAD_SIGNATURE
            err = ApiError(problem, "InvalidSignatureException")
        else:
            err = ApiError("The security token included in the request is invalid.", "UnrecognizedClientException")
        return self._error(403, err, exchange, None)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        return self._error(404, ApiError("Not Found", "UnknownOperationException"), exchange, None)

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        route = _route(request.path)
        if route is None or request.method != "POST":
            return self.not_found(request, exchange)
        _, operation = route
        if operation == "invoke":
            return self._invoke(request, exchange)
        try:
            payload = _check(request)
        except _Invalid as invalid:
            return self._error(400, ApiError(str(invalid), "ValidationException"), exchange, None)
        reply = exchange.take_reply()
        stream = operation == "converse-stream"
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, exchange, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            return self._error(reply.status if reply.status >= 400 else 500, reply.api_error, exchange, reply)
        if stream:
            return self._plan(reply.status, render_bedrock_stream_events(reply, payload), exchange, reply)
        return self._plan(reply.status, dump_json(render_bedrock_converse(reply, payload)), exchange, reply)

    def _invoke(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not ("inputText" in payload or isinstance(payload.get("texts"), list)):
            return self._error(400, ApiError("Malformed input request, please reformat your input and try again.",
                                             "ValidationException"), exchange, None)
        reply = exchange.take_reply()
        if reply.status >= 400 or reply.api_error is not None:
            return self._error(reply.status if reply.status >= 400 else 500, reply.api_error, exchange, reply)
        body, tokens = render_bedrock_embeddings(reply, payload)
        reply = Reply(headers={"x-amzn-bedrock-input-token-count": str(tokens), **reply.headers}, fault=reply.fault)
        return self._plan(200, dump_json(body), exchange, reply)

    def _error(self, status: int, err: ApiError | None, exchange: Exchange, reply: Reply | None) -> ResponsePlan:
        name, body = bedrock_error(status, err.message if err else None, type=err.type if err else None)
        extra = {"x-amzn-errortype": f"{name}:{_CORAL}"}
        merged = Reply(headers={**extra, **(reply.headers if reply else {})}, fault=reply.fault if reply else None)
        return self._plan(status, dump_json(body), exchange, merged)

    def _plan(
        self, status: int, body: bytes | Sequence[bytes], exchange: Exchange, reply: Reply | None
    ) -> ResponsePlan:
        stream = not isinstance(body, bytes)
        headers = {
            "content-type": "application/vnd.amazon.eventstream" if stream else "application/json",
            "x-amzn-requestid": f"00000000-0000-4000-8000-{exchange.seq:012d}",
            "server": "llmplex-emulator",
        }
        for name, value in (reply.headers if reply is not None else {}).items():
            headers[name.lower()] = value
        malformed = _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ""}})[:-9] + b"\x00" * 9
        return build_plan(
            [body] if isinstance(body, bytes) else list(body),
            reply.fault if reply is not None else None,
            status=status,
            headers=list(headers.items()),
            chunked=stream,
            malformed=malformed if stream else b'{"output":',
            sse=False,
        )

