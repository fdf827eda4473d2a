"""Pure renderers of OpenAI's wire format: a `Reply` and the request JSON in, response data out.

No sockets, no clock except ``created`` (pass it for byte-stable output), no state: the in-process
``mock`` provider renders through the very same functions the emulator serves over HTTP.

Shapes follow recorded OpenAI traffic (see shared/corpus/openai-chat): ``chat.completion`` objects,
``chat.completion.chunk`` SSE events ending with ``data: [DONE]``, a usage-only chunk with
``"choices": []`` when ``stream_options.include_usage`` is true, and ``{"error": {message, type,
param, code}}`` error bodies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ._reply import ApiError, Reply
from ._text import content_text, dump_json, message_list, pieces, words

__all__ = [
    "openai_error_body",
    "render_chat_completion",
    "render_chat_stream_events",
    "render_completion",
    "render_completion_stream_events",
    "render_embeddings",
    "render_error",
    "render_models",
]

SYSTEM_FINGERPRINT = "fp_llmplex_emu"
DONE_EVENT = b"data: [DONE]\n\n"
MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "text-embedding-3-small", "text-embedding-3-large")
MAX_N = 128
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_DIMS = 8192
DEFAULT_EMBEDDING_DIMS = 8
_ARGUMENT_FRAGMENT = 8  # characters of tool-call arguments per streamed delta

ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("request_forbidden", None, "You are not allowed to access this resource."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}
MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username. You can obtain an API "
    "key from https://platform.openai.com/account/api-keys."
)
BAD_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)


# ---------------------------------------------------------------------------------------------------
# errors


def render_error(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    code: str | int | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``.

    `type`, `code` and `message` default from `status` as OpenAI sends them
    (401 -> invalid_request_error / invalid_api_key, 404 -> model_not_found, 429 -> requests /
    rate_limit_exceeded, 5xx -> server_error).

    >>> render_error(429, "slow down")["error"]["code"]
    'rate_limit_exceeded'
    """
    family = 500 if status >= 500 else 400
    default_type, default_code, default_message = ERROR_DEFAULTS.get(
        status, (*ERROR_DEFAULTS[family][:2], status_phrase(status))
    )
    return {
        "error": {
            "message": message if message is not None else default_message,
            "type": type if type is not None else default_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


openai_error_body = render_error
"""Public name of `render_error`: the body OpenAI sends with an HTTP error status."""


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return f"HTTP {status}."


def mask_key(key: str) -> str:
    # OpenAI echoes a wrong key partially masked ("invalid-*****2345"); short keys come back whole.
    return key if len(key) <= 12 else f"{key[:8]}*****{key[-4:]}"


# ---------------------------------------------------------------------------------------------------
# helpers shared by the renderers


def _event(obj: Any) -> bytes:
    return b"data: " + dump_json(obj) + b"\n\n"










def _response_id(prefix: str, request: Mapping[str, Any], given: str | None) -> str:
    if given is not None:
        return given
    digest = hashlib.sha256(dump_json(dict(request)) if request else b"").hexdigest()
    return f"{prefix}-{digest[:29]}"


def _include_usage(request: Mapping[str, Any]) -> bool:
    options = request.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _n(request: Mapping[str, Any]) -> int:
    n = request.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_N else 1


def _model(reply: Reply, request: Mapping[str, Any]) -> str:
    if reply.model is not None:
        return reply.model
    model = request.get("model")
    return model if isinstance(model, str) else "gpt-4o"


def _usage(reply: Reply, prompt: int, completion: int, reasoning: int) -> dict[str, Any] | None:
    if reply.usage == {}:
        return None  # a host that reports no usage
    if reply.usage is not None:
        usage = dict(reply.usage)
        p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if "total_tokens" not in usage and isinstance(p, int) and isinstance(c, int):
            usage["total_tokens"] = p + c
        return usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _stream_error_event(reply: Reply) -> bytes:
    err = reply.api_error or ApiError("The server had an error while processing your request.")
    return _event(render_error(500, err.message, type=err.type, code=err.code, param=err.param))


def _omit_done(reply: Reply) -> bool:
    return reply.fault is not None and reply.fault.omit_done


# ---------------------------------------------------------------------------------------------------
# chat completions


@dataclass(frozen=True)
class _Chat:
    """A `Reply` resolved against one chat request."""

    model: str
    text: str | None
    reasoning: str | None
    refusal: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    n: int
    usage: dict[str, Any] | None


def _resolve_chat(reply: Reply, request: Mapping[str, Any]) -> _Chat:
    messages = message_list(request)
    text = reply.text
    if text is None and not reply.tool_calls and reply.refusal is None:
        users = [m for m in messages if m.get("role") == "user"]
        text = "Echo: " + (content_text(users[-1].get("content")) if users else "")
    offset = sum(len(m.get("tool_calls") or []) for m in messages if isinstance(m.get("tool_calls"), list))
    calls: list[dict[str, Any]] = []
    for i, call in enumerate(reply.tool_calls):
        arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        calls.append(
            {
                "id": call.id or f"call_{offset + i + 1}",
                "type": "function",
                "function": {"name": call.name, "arguments": arguments},
            }
        )
    n = _n(request)
    prompt = max(1, sum(words(content_text(m.get("content"))) for m in messages))
    reasoning = words(reply.reasoning)
    said = words(text) + words(reply.refusal) + sum(words(c["function"]["arguments"]) for c in calls)
    return _Chat(
        model=_model(reply, request),
        text=text,
        reasoning=reply.reasoning,
        refusal=reply.refusal,
        tool_calls=calls,
        finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
        n=n,
        usage=_usage(reply, prompt, (said + reasoning) * n, reasoning * n),
    )


def render_chat_completion(
    reply: Reply,
    request: Mapping[str, Any],
    *,
    response_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """The ``chat.completion`` object OpenAI returns for `request`, saying what `reply` scripts.

    >>> request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    >>> render_chat_completion(Reply(), request)["choices"][0]["message"]["content"]
    'Echo: Hi'
    """
    chat = _resolve_chat(reply, request)
    message: dict[str, Any] = {"role": "assistant", "content": chat.text, "refusal": chat.refusal}
    if chat.reasoning is not None:
        message["reasoning_content"] = chat.reasoning
    if chat.tool_calls:
        message["tool_calls"] = chat.tool_calls
    message["annotations"] = []
    body: dict[str, Any] = {
        "id": _response_id("chatcmpl", request, response_id),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": chat.model,
        "choices": [
            {"index": i, "message": dict(message), "logprobs": None, "finish_reason": chat.finish_reason}
            for i in range(chat.n)
        ],
        "usage": chat.usage,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    body.update(reply.extra)
    return body


def _chat_deltas(chat: _Chat, chunk_words: int) -> list[dict[str, Any]]:
    """One choice's deltas, in OpenAI's order: role, reasoning, content, refusal, tool calls."""
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": "" if chat.text is not None else None, "refusal": None}
    ]
    deltas += [{"reasoning_content": p} for p in pieces(chat.reasoning or "", chunk_words)]
    deltas += [{"content": p} for p in pieces(chat.text or "", chunk_words)]
    deltas += [{"refusal": p} for p in pieces(chat.refusal or "", chunk_words)]
    for index, call in enumerate(chat.tool_calls):
        function = call["function"]
        head = {"index": index, "id": call["id"], "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]})
        arguments = function["arguments"]
        for at in range(0, len(arguments), _ARGUMENT_FRAGMENT):
            fragment = arguments[at : at + _ARGUMENT_FRAGMENT]
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    return deltas


def render_chat_stream_events(
    reply: Reply,
    request: Mapping[str, Any],
    *,
    response_id: str | None = None,
    created: int | None = None,
) -> list[bytes]:
    """The SSE events (``data: {...}\\n\\n`` each, last ``data: [DONE]\\n\\n``) of a streamed chat reply.

    Concatenating the ``delta.content`` values gives the reply text exactly. With
    ``stream_options.include_usage`` every chunk carries ``"usage": null`` and a last chunk with
    ``"choices": []`` carries the usage. `Reply.stream_error` ends the stream with an error event;
    ``Fault(omit_done=True)`` drops the finish, usage and ``[DONE]`` events.
    """
    chat = _resolve_chat(reply, request)
    include_usage = _include_usage(request)
    base: dict[str, Any] = {
        "id": _response_id("chatcmpl", request, response_id),
        "object": "chat.completion.chunk",
        "created": int(time.time()) if created is None else created,
        "model": chat.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        body = {**base, "choices": choices}
        if include_usage:
            body["usage"] = usage
        body.update(reply.extra)
        return _event(body)

    deltas = _chat_deltas(chat, reply.chunk_words)
    failing = reply.api_error is not None and reply.error_after_chunks is not None
    if failing:
        deltas = deltas[: 1 + (reply.error_after_chunks or 0)]
    events = [
        chunk([{"index": i, "delta": delta, "logprobs": None, "finish_reason": None}])
        for delta in deltas
        for i in range(chat.n)
    ]
    if failing:
        return [*events, _stream_error_event(reply), DONE_EVENT]
    if _omit_done(reply):
        return events
    events += [
        chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": chat.finish_reason}]) for i in range(chat.n)
    ]
    if include_usage:
        events.append(chunk([], chat.usage))
    events.append(DONE_EVENT)
    return events


# ---------------------------------------------------------------------------------------------------
# legacy completions


def _prompts(prompt: Any) -> list[str]:
    """The prompt(s) of a completions request as text: str, list[str], list[int] or list[list[int]]."""
    if prompt is None:
        return [""]
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return [" ".join(map(str, prompt))]
    if isinstance(prompt, list) and prompt:
        return [p if isinstance(p, str) else " ".join(map(str, p)) if isinstance(p, list) else "" for p in prompt]
    return [""]


def _completion_texts(reply: Reply, request: Mapping[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    prompts = _prompts(request.get("prompt"))
    n = _n(request)
    texts = [reply.text if reply.text is not None else f"Echo: {p}" for p in prompts for _ in range(n)]
    prompt_tokens = max(1, sum(words(p) for p in prompts))
    usage = _usage(reply, prompt_tokens, sum(words(t) for t in texts), 0)
    if reply.usage is None and usage is not None:
        usage = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return texts, usage


def render_completion(
    reply: Reply,
    request: Mapping[str, Any],
    *,
    response_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """The ``text_completion`` object of legacy ``/completions``; the default text echoes the prompt.

    One choice per prompt and per `n` (index = prompt_index * n + j), as OpenAI numbers them.
    """
    texts, usage = _completion_texts(reply, request)
    body: dict[str, Any] = {
        "id": _response_id("cmpl", request, response_id),
        "object": "text_completion",
        "created": int(time.time()) if created is None else created,
        "model": _model(reply, request),
        "choices": [
            {"text": t, "index": i, "logprobs": None, "finish_reason": reply.finish_reason or "stop"}
            for i, t in enumerate(texts)
        ],
        "usage": usage,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    body.update(reply.extra)
    return body


def render_completion_stream_events(
    reply: Reply,
    request: Mapping[str, Any],
    *,
    response_id: str | None = None,
    created: int | None = None,
) -> list[bytes]:
    """SSE events of a streamed legacy completion, ending with ``data: [DONE]``."""
    texts, usage = _completion_texts(reply, request)
    include_usage = _include_usage(request)
    base: dict[str, Any] = {
        "id": _response_id("cmpl", request, response_id),
        "object": "text_completion",
        "created": int(time.time()) if created is None else created,
        "model": _model(reply, request),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def chunk(choices: list[dict[str, Any]], usage_value: dict[str, Any] | None = None) -> bytes:
        body = {**base, "choices": choices}
        if include_usage:
            body["usage"] = usage_value
        body.update(reply.extra)
        return _event(body)

    steps = [[(i, p) for p in pieces(t, reply.chunk_words)] for i, t in enumerate(texts)]
    flat = [step for choice in steps for step in choice]
    failing = reply.api_error is not None and reply.error_after_chunks is not None
    if failing:
        flat = flat[: reply.error_after_chunks]
    events = [chunk([{"text": p, "index": i, "logprobs": None, "finish_reason": None}]) for i, p in flat]
    if failing:
        return [*events, _stream_error_event(reply), DONE_EVENT]
    if _omit_done(reply):
        return events
    finish = reply.finish_reason or "stop"
    events += [chunk([{"text": "", "index": i, "logprobs": None, "finish_reason": finish}]) for i in range(len(texts))]
    if include_usage:
        events.append(chunk([], usage))
    events.append(DONE_EVENT)
    return events


# ---------------------------------------------------------------------------------------------------
# embeddings and models


def embedding_inputs(value: Any) -> list[tuple[str, int]] | None:
    """(hash key, token count) per input; None when the input shape is invalid."""
    if isinstance(value, str):
        return [(value, max(1, words(value)))] if value else None
    if not isinstance(value, list) or not value or len(value) > MAX_EMBEDDING_INPUTS:
        return None
    if all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        return [(json.dumps(value), len(value))]
    out: list[tuple[str, int]] = []
    for item in value:
        if isinstance(item, str) and item:
            out.append((item, max(1, words(item))))
        elif isinstance(item, list) and item and all(isinstance(t, int) for t in item):
            out.append((json.dumps(item), len(item)))
        else:
            return None
    return out


def _vector(key: str, dims: int) -> list[float]:
    """A deterministic unit vector seeded from `key`, rounded to float32 (what base64 carries)."""
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return list(struct.unpack(f"<{dims}f", struct.pack(f"<{dims}f", *(x / norm for x in raw))))


def _embedding_dims(reply: Reply, request: Mapping[str, Any]) -> int:
    dims = request.get("dimensions")
    if isinstance(dims, int) and not isinstance(dims, bool) and dims > 0:
        return dims
    return reply.embedding_dims or DEFAULT_EMBEDDING_DIMS


def render_embeddings(reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
    """The embeddings list: one deterministic unit vector per input (same input, same vector).

    Length is the request's ``dimensions``, else ``Reply.embedding_dims``, else 8. With
    ``encoding_format: "base64"`` each vector is base64 of little-endian float32, as OpenAI sends it.
    Inputs may be str, list[str], list[int] or list[list[int]].
    """
    inputs = embedding_inputs(request.get("input")) or []
    dims = _embedding_dims(reply, request)
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, (key, _) in enumerate(inputs):
        vector = _vector(key, dims)
        encoded: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count for _, count in inputs)
    usage: dict[str, Any] | None = dict(reply.usage) if reply.usage else {"prompt_tokens": tokens,
                                                                         "total_tokens": tokens}
    if reply.usage == {}:
        usage = None  # a host that reports no usage
    body: dict[str, Any] = {"object": "list", "data": data, "model": _model(reply, request), "usage": usage}
    body.update(reply.extra)
    return body


def render_models(model_id: str | None = None) -> dict[str, Any]:
    """``GET /models`` (a list) or ``GET /models/{id}`` (one model object)."""

    def entry(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1715367049, "owned_by": "llmplex-emulator"}

    if model_id is not None:
        return entry(model_id)
    return {"object": "list", "data": [entry(m) for m in MODELS]}
