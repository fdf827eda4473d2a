"""The Cohere v2 API (``POST /v2/chat``, ``POST /v2/embed``), mapped to and from the OpenAI shapes.

References: https://docs.cohere.com/reference/chat (request, response),
https://docs.cohere.com/reference/chat-stream (events), https://docs.cohere.com/reference/embed,
https://docs.cohere.com/reference/errors (statuses and the ``{"id", "message"}`` body),
https://docs.cohere.com/docs/image-inputs (``image_url`` parts: data URLs and http(s) URLs),
https://docs.cohere.com/docs/reasoning (``thinking``).

Where the OpenAI shape has no field, the Cohere fact is kept as an extra attribute:

* ``message.tool_plan``: the plan the model writes before its tool calls (streamed whole, as
  ``delta.tool_plan``, once complete). Put back into the history, it is sent back as ``tool_plan``.
* ``message.citations``: a list of :class:`CohereCitation` (streamed as ``delta.citations``).
* ``choice.native_finish_reason``: Cohere's ``finish_reason`` next to the mapped one.
* ``usage.billed_units``: what Cohere bills (``usage`` counts the processed ``tokens``).

Thinking (reasoning models) becomes ``reasoning_content`` and goes back as a ``thinking`` content
part when the message is sent back. Responses carry no model name and no timestamp: ``model`` is
the requested model, ``created`` is 0. Legacy v1 bodies and streams are decoded too (never sent).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, EmbeddingRequest
from ..errors import InvalidRequestError, LLMError, UnsupportedParameterError
from ..types.chat import ChatCompletion, Choice
from ..types.embedding import CreateEmbeddingResponse
from ._cohere_embed import DEFAULT_INPUT_TYPE, embed_body, embedding_response
from ._cohere_parse import (
    CohereCitation,
    finish_error,
    finish_reason,
    message_from_v1,
    message_from_v2,
    usage_from,
)
from ._cohere_stream import CohereStreamDecoder
from ._errors import error_fields, make_error
from ._json import dumps
from ._shared import (
    drop_or_raise,
    invalid_response,
    json_arguments,
    load_json_object,
    message_as_mapping,
    request_headers,
    with_extra,
    with_query,
)
from .base import ProviderSpec
from .native import COHERE_SPEC

__all__ = ["COHERE_SPEC", "DEFAULT_INPUT_TYPE", "THINKING_BUDGETS", "CohereAdapter", "CohereCitation",
           "CohereStreamDecoder"]

THINKING_BUDGETS: Mapping[str, int | None] = {"minimal": 1024, "low": 4096, "medium": 16384, "high": None}
"""``reasoning_effort`` -> ``thinking.token_budget`` (``None``: enabled, no budget); ``none`` sends
``{"type": "disabled"}``."""

_IGNORED = frozenset({"stream_options"})  # usage always comes with message-end
_STATUS = {498: 401}  # "invalid token" is an authentication failure


def _copy(key: str) -> Callable[[dict[str, Any], Any], None]:
    def handler(out: dict[str, Any], value: Any) -> None:
        out[key] = value

    return handler


def _set_stop(out: dict[str, Any], value: Any) -> None:
    out["stop_sequences"] = [value] if isinstance(value, str) else list(value)


def _set_tools(out: dict[str, Any], value: Any) -> None:
    """v2 tools have the OpenAI function shape; ``strict`` moves to the request's ``strict_tools``."""
    tools = []
    for tool in value or []:
        fn = tool.get("function") if tool.get("type", "function") == "function" else None
        if not isinstance(fn, Mapping):
            raise UnsupportedParameterError("cohere accepts only function tools", provider="cohere", param="tools")
        mapped = {k: v for k, v in fn.items() if k != "strict"}
        if fn.get("strict"):
            out["strict_tools"] = True
        tools.append({"type": "function", "function": mapped})
    if tools:
        out["tools"] = tools


def _set_tool_choice(out: dict[str, Any], value: Any) -> None:
    if value == "auto":
        return  # Cohere's default when tool_choice is omitted
    native = {"none": "NONE", "required": "REQUIRED"}.get(value) if isinstance(value, str) else None
    if native is None:
        raise UnsupportedParameterError(
            f"cohere cannot force a particular tool (tool_choice={value!r}); use 'required' with only that "
            f"tool in tools", provider="cohere", param="tool_choice")
    out["tool_choice"] = native


def _set_parallel(out: dict[str, Any], value: Any) -> None:
    if value is False:
        raise UnsupportedParameterError("cohere cannot disable parallel tool calls", provider="cohere",
                                        param="parallel_tool_calls")


def _set_format(out: dict[str, Any], value: Any) -> None:
    kind = value.get("type") if isinstance(value, Mapping) else value
    if kind == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, Mapping):
            raise InvalidRequestError("response_format json_schema needs json_schema.schema (a JSON schema object)")
        out["response_format"] = {"type": "json_object", "json_schema": dict(schema)}
    elif kind != "text":
        raise InvalidRequestError(f"unknown response_format type {kind!r}")


def _set_effort(out: dict[str, Any], value: Any) -> None:
    if value == "none":
        out["thinking"] = {"type": "disabled"}
        return
    if value not in THINKING_BUDGETS:
        raise InvalidRequestError(f"reasoning_effort must be one of none, {', '.join(THINKING_BUDGETS)}")
    budget = THINKING_BUDGETS[value]
    out["thinking"] = {"type": "enabled"} if budget is None else {"type": "enabled", "token_budget": budget}


def _set_n(out: dict[str, Any], value: Any) -> None:
    raise UnsupportedParameterError("cohere returns one choice per request: n must be 1", provider="cohere",
                                    param="n")


_PARAMS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "max_tokens": _copy("max_tokens"),
    "max_completion_tokens": _copy("max_tokens"),
    "stop": _set_stop,
    "temperature": _copy("temperature"),
    "top_p": _copy("p"),
    "seed": _copy("seed"),
    "frequency_penalty": _copy("frequency_penalty"),
    "presence_penalty": _copy("presence_penalty"),
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "parallel_tool_calls": _set_parallel,
    "response_format": _set_format,
    "reasoning_effort": _set_effort,
    "n": _set_n,
}


class CohereAdapter:
    """Adapter for the Cohere v2 API (sans-IO).

    >>> adapter = CohereAdapter(COHERE_SPEC)
    >>> cfg = CallSettings(provider="cohere", base_url=COHERE_SPEC.base_url)
    >>> adapter.build_chat_request(ChatRequest("command-a-03-2025", [{"role": "user", "content": "Hi"}], {}), cfg).url
    'https://api.cohere.com/v2/chat'
    """

    def __init__(self, spec: ProviderSpec = COHERE_SPEC) -> None:
        self.spec = spec

    # -- requests ---------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/v2/chat`` with the v2 body built from OpenAI-shaped input."""
        body: dict[str, Any] = {"model": req.model, "messages": convert_messages(req.messages)}
        for key, value in req.params.items():
            if key in _IGNORED or (key == "n" and value == 1):
                continue
            handler = _PARAMS.get(key)
            if handler is None:
                drop_or_raise(self.spec.name, key, cfg, "native Cohere")
                continue
            try:
                handler(body, value)
            except UnsupportedParameterError:
                if not cfg.drop_unsupported:
                    raise
                drop_or_raise(self.spec.name, key, cfg, "native Cohere")  # logs the drop
        if "max_completion_tokens" in req.params:  # it wins over the deprecated max_tokens
            body["max_tokens"] = req.params["max_completion_tokens"]
        body["stream"] = bool(req.stream)
        body.update(cfg.extra_body)
        return self._request("/v2/chat", body, cfg, req.stream)

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/v2/embed`` (see :mod:`llmplex.providers._cohere_embed` for ``input_type``)."""
        return self._request("/v2/embed", embed_body(req, cfg, self.spec.name), cfg, False)

    def _request(self, path: str, body: dict[str, Any], cfg: CallSettings, stream: bool) -> HttpRequest:
        return HttpRequest("POST", self.url(cfg, path), self._headers(cfg, stream), dumps(body),
                           "sse" if stream else None)

    @staticmethod
    def url(cfg: CallSettings, path: str) -> str:
        """``base + path``; a base that already ends in ``/v1`` or ``/v2`` (as SDKs configure it) is trimmed."""
        base = cfg.base_url.strip().rstrip("/")
        if base.endswith(("/v1", "/v2")):
            base = base[:-3]
        return with_query(base + path, cfg)

    def _headers(self, cfg: CallSettings, stream: bool) -> dict[str, str]:
        return request_headers(self.spec, cfg, "text/event-stream" if stream else "application/json")

    # -- responses --------------------------------------------------------------------------

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Map a v2 (or legacy v1) chat body to a ``ChatCompletion``.

        A failed generation (``finish_reason`` ``ERROR`` / ``TIMEOUT``) raises the 5xx it stands for.
        """
        data = load_json_object(resp.body, self.spec.name)
        if isinstance(data.get("message"), Mapping):
            message, usage = message_from_v2(data["message"], self.spec.name), usage_from(data.get("usage"))
            response_id = data.get("id")
        elif "text" in data or "generation_id" in data:
            message, usage = message_from_v1(data), usage_from(data.get("meta"))
            response_id = data.get("generation_id") or data.get("response_id")
        elif "message" in data:
            raise self.parse_error(HttpResponse(500, resp.headers, resp.body))
        else:
            raise invalid_response(self.spec.name, "neither 'message' (v2) nor 'text' (v1) in the body")
        native = data.get("finish_reason")
        error = finish_error(native, self.spec.name)
        if error is not None:
            raise error
        choice = with_extra(Choice(index=0, message=message, finish_reason=finish_reason(native)),
                            native_finish_reason=native)
        return ChatCompletion(id=str(response_id or ""), created=0, model=req.model, choices=[choice], usage=usage)

    def chat_stream_decoder(self, req: ChatRequest) -> CohereStreamDecoder:
        """A decoder of the v2 SSE stream (and of legacy v1 events)."""
        return CohereStreamDecoder(self.spec.name, req)

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """Map a ``/v2/embed`` body to a ``CreateEmbeddingResponse``."""
        return embedding_response(load_json_object(resp.body, self.spec.name), req.model, self.spec.name)

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """``{"message": ...}`` / ``{"id": ..., "message": ...}`` -> the typed error for the status.

        498 (invalid token) maps like 401; the body's ``id`` or the ``x-debug-trace-id`` header is the
        request id.
        """
        try:
            data: Any = json.loads(resp.body)
        except ValueError:
            data = resp.body.decode("utf-8", "replace").strip()[:500]
        message, code, type_, param = error_fields(data)
        err = make_error(_STATUS.get(resp.status, resp.status), message, provider=self.spec.name, code=code,
                         error_type=type_, param=param, headers=resp.headers)
        err.status_code = resp.status
        if err.request_id is None:
            body_id = data.get("id") if isinstance(data, dict) else None
            err.request_id = str(body_id) if body_id else resp.headers.get("x-debug-trace-id")
        return err


# -- request mapping --------------------------------------------------------------------------


def convert_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI messages -> v2 messages. System messages stay messages (v2 has a system role)."""
    out: list[dict[str, Any]] = []
    for raw in messages:
        msg = message_as_mapping(raw)
        role = msg.get("role")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": _text_content(msg.get("content"), str(role))})
        elif role == "user":
            out.append({"role": "user", "content": _user_content(msg.get("content"))})
        elif role == "assistant":
            out.append(_assistant(msg))
        elif role == "tool":
            content = msg.get("content")
            out.append({"role": "tool", "tool_call_id": msg.get("tool_call_id"),
                        "content": content if isinstance(content, str) else _tool_content(content)})
        else:
            raise InvalidRequestError(f"cohere has no {role!r} role; use system, user, assistant or tool")
    return out


def _text_content(content: Any, role: str) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text":
            raise InvalidRequestError(f"{role} messages may hold only text for cohere")
        parts.append({"type": "text", "text": str(part.get("text") or "")})
    return parts


def _user_content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        raise InvalidRequestError("user message content must be a string or a list of parts")
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "image_url":
            parts.append({"type": "image_url", "image_url": _image(part.get("image_url"))})
        else:
            raise UnsupportedParameterError(f"the cohere adapter does not accept {kind!r} content parts",
                                            provider="cohere", param="messages")
    return parts


def _image(image: Any) -> dict[str, Any]:
    """Cohere takes base64 data URLs and http(s) URLs, with an optional ``detail``."""
    spec = dict(image) if isinstance(image, Mapping) else {"url": image}
    url = str(spec.get("url") or "")
    if not url.startswith(("data:image/", "https://", "http://")):
        raise InvalidRequestError("an image_url must be an http(s) URL or a data:image/...;base64 URL")
    return {k: v for k, v in spec.items() if k in ("url", "detail") and v is not None}


def _tool_content(content: Any) -> list[dict[str, Any]]:
    parts = []
    for part in content or []:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif part.get("type") == "document":
            parts.append(dict(part))
        else:
            raise InvalidRequestError("tool results may hold only text (or cohere document) parts")
    return parts


def _assistant(msg: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"role": "assistant"}
    content = msg.get("content")
    if isinstance(content, list):
        content = [p for p in content if p.get("type") != "refusal"]
    text = _text_content(content, "assistant")
    reasoning = msg.get("reasoning_content")
    if reasoning:
        parts = [{"type": "text", "text": text}] if isinstance(text, str) and text else text or []
        item["content"] = [{"type": "thinking", "thinking": reasoning}, *parts]
    elif text:
        item["content"] = text
    calls = [_tool_call(call) for call in msg.get("tool_calls") or []]
    if calls:
        item["tool_calls"] = calls
        if msg.get("tool_plan"):
            item["tool_plan"] = msg["tool_plan"]
    return item


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    arguments = json_arguments(fn.get("arguments"))
    return {"id": call.get("id"), "type": "function", "function": {"name": fn.get("name"), "arguments": arguments}}
