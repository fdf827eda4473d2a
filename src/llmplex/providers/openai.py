"""The OpenAI wire protocol: chat completions, legacy completions and embeddings.

Reference: https://platform.openai.com/docs/api-reference/chat. Every OpenAI-compatible provider
reuses this adapter with its own :class:`~llmplex.providers.base.ProviderSpec` row; Azure
overrides only the URL and authentication (``azure.py``).
"""

from __future__ import annotations

import base64
import json
import sys
from array import array
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .._framing import SSEEvent
from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from ..errors import (
    InvalidResponseError,
    LLMError,
    StreamInterruptedError,
    StreamParseError,
)
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.completion import Completion
from ..types.embedding import CreateEmbeddingResponse
from ._errors import error_fields, make_error, parse_json_error_body
from ._json import dumps
from ._shared import drop_or_raise
from .base import ProviderSpec

__all__ = ["OpenAIAdapter", "OpenAIChatStreamDecoder", "OpenAICompletionStreamDecoder"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_USER_AGENT = "llmplex/0.1.0"
_DONE = b"[DONE]"


class OpenAIAdapter:
    """Adapter for the OpenAI protocol, parameterised by a provider row."""

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec
        self._header_cache: dict[tuple[int, bool], tuple[CallSettings, Mapping[str, str]]] = {}

    # -- requests ---------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base_url}/chat/completions`` with the OpenAI body."""
        body: dict[str, Any] = {"model": req.model, "messages": self._messages(req)}
        body.update(self._params(req.params, cfg))
        if req.stream:
            body["stream"] = True
            if self._asks_usage(req):
                body["stream_options"] = {"include_usage": True}
        return self._request("chat/completions", req.model, body, cfg, stream=req.stream)

    def _asks_usage(self, req: ChatRequest) -> bool:
        """Whether llmplex asks for stream usage on its own (the caller gave no stream_options)."""
        return self.spec.auto_stream_usage and "stream_options" not in req.params

    def build_completion_request(self, req: CompletionRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base_url}/completions`` (legacy text completions)."""
        body: dict[str, Any] = {"model": req.model, "prompt": req.prompt}
        body.update(self._params(req.params, cfg))
        if req.stream:
            body["stream"] = True
        return self._request("completions", req.model, body, cfg, stream=req.stream)

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base_url}/embeddings``; vectors travel as base64 where the row says so."""
        body: dict[str, Any] = {"model": req.model, "input": req.input}
        body.update(self._params(req.params, cfg))
        if "encoding_format" not in body and self.spec.embedding_encoding:
            body["encoding_format"] = self.spec.embedding_encoding
        return self._request("embeddings", req.model, body, cfg, stream=False)

    def _messages(self, req: ChatRequest) -> list[Any]:
        # Response messages put back into the history become input messages.
        messages = [m if type(m) is dict or isinstance(m, Mapping) else _as_param(m) for m in req.messages]
        if self.spec.accepts_reasoning_content:
            return messages
        # Reasoning text from an earlier turn (possibly another provider's) is not part of the
        # OpenAI input schema: strip it rather than have the provider reject the request.
        return [{k: v for k, v in m.items() if k != "reasoning_content"} if "reasoning_content" in m else m
                for m in messages]

    def _params(self, params: Mapping[str, Any], cfg: CallSettings) -> dict[str, Any]:
        spec = self.spec
        if not spec.unsupported_params and not spec.renamed_params:
            return dict(params)
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key in spec.unsupported_params:
                drop_or_raise(spec.name, key, cfg)
                continue
            out[spec.renamed_params.get(key, key)] = value
        return out

    def endpoint_url(self, path: str, model: str, cfg: CallSettings) -> str:
        """The full URL of an operation (Azure overrides this)."""
        return f"{cfg.base_url.rstrip('/')}/{path}"

    def auth_headers(self, cfg: CallSettings) -> dict[str, str]:
        """Credential headers for this provider (Azure overrides this)."""
        if cfg.api_key is None or not cfg.api_key:
            return {}
        if self.spec.auth_header == "authorization":
            return {"authorization": f"Bearer {cfg.api_key.reveal()}"}
        return {self.spec.auth_header: cfg.api_key.reveal()}

    def _request(
        self, path: str, model: str, body: dict[str, Any], cfg: CallSettings, *, stream: bool
    ) -> HttpRequest:
        if cfg.extra_body:
            body.update(cfg.extra_body)
        url = self.endpoint_url(path, model, cfg)
        if cfg.extra_query:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(dict(cfg.extra_query))
        return HttpRequest("POST", url, self._headers(cfg, stream), dumps(body), "sse" if stream else None)

    def _headers(self, cfg: CallSettings, stream: bool) -> Mapping[str, str]:
        # Headers depend only on the settings object, which is cached per provider: build them
        # once per settings object (a read-only mapping shared by the requests that use it).
        key = (id(cfg), stream)
        hit = self._header_cache.get(key)
        if hit is not None and hit[0] is cfg:
            return hit[1]
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "user-agent": _USER_AGENT,
            **self.spec.headers,
            **self.auth_headers(cfg),
        }
        for option, header in self.spec.option_headers.items():
            value = cfg.options.get(option)
            if value:
                headers[header] = str(value)
        if cfg.extra_headers:
            headers.update({k.lower(): v for k, v in cfg.extra_headers.items()})
        if len(self._header_cache) >= 256:
            self._header_cache.clear()
        self._header_cache[key] = (cfg, headers)
        return headers

    # -- responses --------------------------------------------------------------------------

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Validate a chat completion body (an ``{"error": …}`` body inside a 200 raises)."""
        return _validate(ChatCompletion, resp, self)

    def parse_completion_response(self, resp: HttpResponse, req: CompletionRequest) -> Completion:
        """Validate a legacy completion body."""
        return _validate(Completion, resp, self)

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """Validate an embeddings body, decoding base64 vectors to floats."""
        data = _load_json(resp, self)
        items = data.get("data") if isinstance(data, dict) else None
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("embedding"), str):
                    item["embedding"] = decode_base64_floats(item["embedding"])
        try:
            return CreateEmbeddingResponse.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc, self.spec.name) from None

    def chat_stream_decoder(self, req: ChatRequest) -> OpenAIChatStreamDecoder:
        """A decoder of the chat SSE stream."""
        return OpenAIChatStreamDecoder(self, _wants_usage(req.params), fold_usage=self._asks_usage(req))

    def completion_stream_decoder(self, req: CompletionRequest) -> OpenAICompletionStreamDecoder:
        """A decoder of the legacy completion SSE stream."""
        return OpenAICompletionStreamDecoder(self)

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """Map an error status and body to the typed error."""
        message, code, type_, param = parse_json_error_body(resp.body)
        return make_error(resp.status, message, provider=self.spec.name, code=code, error_type=type_,
                          param=param, headers=resp.headers)

    def error_from_event(self, payload: Mapping[str, Any]) -> LLMError:
        """An ``{"error": …}`` object sent inside a 200 response or stream."""
        message, code, type_, param = error_fields(payload)
        err = payload.get("error")
        status_field = err.get("status_code") if isinstance(err, Mapping) else None
        status = next(
            (v for v in (code, status_field) if isinstance(v, int) and 400 <= v < 600), _status_for_type(type_)
        )
        return make_error(status, message or "error event in stream", provider=self.spec.name, code=code,
                          error_type=type_, param=param)


def _as_param(message: Any) -> Any:
    to_param = getattr(message, "to_param", None)
    return to_param() if callable(to_param) else message


def _status_for_type(type_: object) -> int:
    return {
        "invalid_request_error": 400,
        "authentication_error": 401,
        "permission_error": 403,
        "not_found_error": 404,
        "rate_limit_error": 429,
        "overloaded_error": 529,
    }.get(str(type_), 500)


def _wants_usage(params: Mapping[str, Any]) -> bool:
    opts = params.get("stream_options")
    return bool(isinstance(opts, Mapping) and opts.get("include_usage"))


def _load_json(resp: HttpResponse, adapter: OpenAIAdapter) -> Any:
    try:
        data = json.loads(resp.body)
    except ValueError:
        raise InvalidResponseError(
            f"{adapter.spec.name} returned a body that is not JSON ({len(resp.body)} bytes)",
            provider=adapter.spec.name, status_code=resp.status,
        ) from None
    if isinstance(data, dict) and "error" in data and data["error"] and "choices" not in data:
        raise adapter.error_from_event(data)
    return data


def _validate(cls: type[ModelT], resp: HttpResponse, adapter: OpenAIAdapter) -> ModelT:
    if b'"error"' not in resp.body:
        try:
            return cls.model_validate_json(resp.body)
        except ValidationError:
            pass  # fall through to the slower path for a precise error
    data = _load_json(resp, adapter)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, adapter.spec.name) from None


def _invalid(exc: ValidationError, provider: str) -> InvalidResponseError:
    errors = exc.errors()
    where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
    what = errors[0]["msg"] if errors else str(exc)
    return InvalidResponseError(
        f"{provider} returned an unexpected response shape: {where or 'body'}: {what}", provider=provider
    )


def decode_base64_floats(text: str) -> list[float]:
    """Decode OpenAI's base64 embedding: little-endian float32 values."""
    values = array("f")
    values.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


class _SSEChunkDecoder:
    """Shared state machine of OpenAI-style streams: JSON chunks, in-stream errors, ``[DONE]``."""

    __slots__ = ("_adapter", "_count", "done", "finished", "seen")

    def __init__(self, adapter: OpenAIAdapter) -> None:
        self._adapter = adapter
        self._count = 0
        self.done = False
        self.seen: set[int] = set()
        self.finished: set[int] = set()

    def _decode(self, event: SSEEvent, cls: type[Any]) -> Any:
        data = event.data
        index = self._count
        self._count += 1
        if self.done or not data:
            return None
        if data == _DONE:
            self.done = True
            return None
        if event.event == "error" or b'"error"' in data:
            self._raise_if_error(data, index)
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise StreamParseError(
                f"stream event {index} from {self._adapter.spec.name} is not a valid chunk: "
                f"{exc.errors()[0].get('msg') if exc.errors() else exc}",
                provider=self._adapter.spec.name, event_index=index,
            ) from None

    def _raise_if_error(self, data: bytes, index: int) -> None:
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamParseError(
                f"stream event {index} from {self._adapter.spec.name} is not valid JSON",
                provider=self._adapter.spec.name, event_index=index,
            ) from None
        if isinstance(payload, dict) and payload.get("error"):
            raise self._adapter.error_from_event(payload)

    def _track(self, choices: list[Any]) -> None:
        for choice in choices:
            self.seen.add(choice.index)
            if choice.finish_reason is not None:
                self.finished.add(choice.index)

    def _complete(self) -> bool:
        return self.done or (bool(self.seen) and self.finished >= self.seen)

    def _interrupted(self) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"the {self._adapter.spec.name} stream ended before its terminal event "
            f"(no [DONE] and not every choice finished)",
            provider=self._adapter.spec.name,
        )


class OpenAIChatStreamDecoder(_SSEChunkDecoder):
    """SSE events -> ``ChatCompletionChunk``s. Terminal: ``[DONE]``, or every choice finished
    (and the usage chunk received when it was asked for).

    With `fold_usage` (llmplex asked for usage, the caller did not), the chunk that finishes the
    last choice is held back one event and the provider's usage-only chunk is folded into it, so
    the caller sees the chunks they would have seen, the last one carrying ``usage``.
    """

    __slots__ = ("_fold", "_held", "_usage_seen", "_wants_usage")

    def __init__(self, adapter: OpenAIAdapter, wants_usage: bool, *, fold_usage: bool = False) -> None:
        super().__init__(adapter)
        self._wants_usage = wants_usage
        self._usage_seen = False
        self._fold = fold_usage
        self._held: ChatCompletionChunk | None = None

    def feed(self, frame: SSEEvent) -> list[ChatCompletionChunk]:
        """Decode one SSE event."""
        chunk: ChatCompletionChunk | None = self._decode(frame, ChatCompletionChunk)
        if chunk is None:
            return []
        if chunk.choices:
            self._track(chunk.choices)
        if chunk.usage is not None:
            self._usage_seen = True
        if not self._fold:
            return [chunk]
        out = [self._held] if self._held is not None else []
        self._held = None
        if not chunk.choices and chunk.usage is not None and out:
            out[-1].usage = chunk.usage  # folded into the last chunk
            return out
        if any(c.finish_reason is not None for c in chunk.choices) and chunk.usage is None:
            self._held = chunk  # the usage chunk may follow
            return out
        return [*out, chunk]

    def close(self) -> list[ChatCompletionChunk]:
        """Raise ``StreamInterruptedError`` unless the stream really ended."""
        held = [self._held] if self._held is not None else []
        self._held = None
        if self.done or (self._complete() and (self._usage_seen or not self._wants_usage)):
            return held
        raise self._interrupted()


class OpenAICompletionStreamDecoder(_SSEChunkDecoder):
    """SSE events -> streamed ``Completion`` pieces."""

    __slots__ = ()

    def feed(self, frame: SSEEvent) -> list[Completion]:
        """Decode one SSE event."""
        piece: Completion | None = self._decode(frame, Completion)
        if piece is None:
            return []
        self._track(piece.choices)
        return [piece]

    def close(self) -> list[Completion]:
        """Raise ``StreamInterruptedError`` unless the stream really ended."""
        if self._complete():
            return []
        raise self._interrupted()
