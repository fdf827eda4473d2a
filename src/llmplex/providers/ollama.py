"""The native Ollama API (``/api/chat``, ``/api/generate``, ``/api/embed``), mapped to and from the
OpenAI shapes.

Reference: https://github.com/ollama/ollama/blob/main/docs/api.md (requests, NDJSON streaming,
tool calls, ``thinking``, ``format``, ``options``, ``keep_alive``, the ``{"error": "..."}`` body).

Mapping notes:

* Ollama streams by default: ``stream`` is always sent explicitly.
* Sampling parameters go into ``options`` (``max_tokens`` / ``max_completion_tokens`` become
  ``num_predict``); ``extra_body["options"]`` is merged into them, other ``extra_body`` keys
  (``keep_alive``, ``think``, ``raw``, ``system``, ``truncate`` …) are sent as given.
* Images must be base64 data URLs (they become the message's ``images``); fetching http(s) image
  URLs is not done yet.
* Tool calls carry their arguments as objects; responses map them to compact JSON strings. When a
  call has no ``id``, ``call_<index>`` is used (stable within one response).
* ``reasoning_effort``: ``none`` -> ``think: false``, ``minimal`` -> ``think: true``, ``low`` /
  ``medium`` / ``high`` -> that level string (models without levels need ``extra_body={"think": True}``).
* Responses have no id (``id`` is ``""``); ``created`` is parsed from ``created_at``.
  ``choice.native_finish_reason`` keeps Ollama's ``done_reason``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from ..errors import (
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    StreamInterruptedError,
    StreamParseError,
    UnsupportedParameterError,
)
from ..types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    Function,
)
from ..types.completion import Completion, CompletionChoice
from ..types.embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from ..types.usage import CompletionUsage
from ._errors import error_fields, make_error, parse_json_error_body
from ._json import dumps
from ._shared import (
    arguments_object,
    drop_or_raise,
    invalid_response,
    json_arguments,
    load_json_object,
    message_as_mapping,
    with_extra,
)
from .base import ProviderSpec
from .native import OLLAMA_SPEC

__all__ = ["OLLAMA_SPEC", "OllamaAdapter", "OllamaChatStreamDecoder", "OllamaCompletionStreamDecoder"]

logger = logging.getLogger("llmplex")

_USER_AGENT = "llmplex/0.1.0"

_Handler = Callable[[dict[str, Any], dict[str, Any], Any], None]  # (body, options, value)
_IGNORED = frozenset({"stream_options"})  # usage always comes with the final line
_EFFORT: Mapping[str, Any] = {"none": False, "minimal": True, "low": "low", "medium": "medium", "high": "high"}
_FINISH = {"stop": "stop", "length": "length"}
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _option(name: str) -> _Handler:
    def handler(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
        options[name] = value

    return handler


def _set_stop(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    options["stop"] = [value] if isinstance(value, str) else list(value)


def _set_effort(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    if str(value) not in _EFFORT:
        raise InvalidRequestError(f"reasoning_effort must be one of {', '.join(_EFFORT)}")
    body["think"] = _EFFORT[str(value)]


def _set_format(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    kind = value.get("type") if isinstance(value, Mapping) else value
    if kind == "json_object":
        body["format"] = "json"
    elif kind != "text":
        raise UnsupportedParameterError(
            f"ollama supports response_format json_object only for now (got {kind!r}); pass a JSON schema "
            f"as extra_body={{'format': schema}}", provider="ollama", param="response_format")


def _set_tools(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    tools = []
    for tool in value or []:
        if tool.get("type", "function") != "function" or not isinstance(tool.get("function"), Mapping):
            raise UnsupportedParameterError("ollama accepts only function tools", provider="ollama", param="tools")
        tools.append({"type": "function", "function": dict(tool["function"])})
    if tools:
        body["tools"] = tools


def _set_tool_choice(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    if value != "auto":
        raise UnsupportedParameterError(
            f"ollama has no tool_choice: only 'auto' can be honoured (got {value!r})",
            provider="ollama", param="tool_choice")


def _set_parallel(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    if value is False:
        raise UnsupportedParameterError("ollama cannot disable parallel tool calls", provider="ollama",
                                        param="parallel_tool_calls")


def _set_suffix(body: dict[str, Any], options: dict[str, Any], value: Any) -> None:
    if value is not None:
        body["suffix"] = value


_SAMPLING: dict[str, _Handler] = {
    "temperature": _option("temperature"),
    "top_p": _option("top_p"),
    "seed": _option("seed"),
    "presence_penalty": _option("presence_penalty"),
    "frequency_penalty": _option("frequency_penalty"),
    "max_tokens": _option("num_predict"),
    "max_completion_tokens": _option("num_predict"),
    "stop": _set_stop,
}
_CHAT_PARAMS: dict[str, _Handler] = {
    **_SAMPLING,
    "reasoning_effort": _set_effort,
    "response_format": _set_format,
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "parallel_tool_calls": _set_parallel,
}
_COMPLETION_PARAMS: dict[str, _Handler] = {**_SAMPLING, "suffix": _set_suffix}


class OllamaAdapter:
    """Adapter for the native Ollama API (sans-IO).

    >>> adapter = OllamaAdapter(OLLAMA_SPEC)
    >>> cfg = CallSettings(provider="ollama", base_url="127.0.0.1:11434")
    >>> adapter.build_chat_request(ChatRequest("llama3", [{"role": "user", "content": "Hi"}], {}), cfg).url
    'http://127.0.0.1:11434/api/chat'
    """

    def __init__(self, spec: ProviderSpec = OLLAMA_SPEC) -> None:
        self.spec = spec

    # -- requests ---------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/api/chat``."""
        body: dict[str, Any] = {"model": req.model, "messages": _convert_messages(req.messages),
                                "stream": bool(req.stream)}
        self._apply_params(body, req.params, _CHAT_PARAMS, cfg)
        return self._request("/api/chat", body, cfg, req.stream)

    def build_completion_request(self, req: CompletionRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/api/generate`` (``raw``, ``system``, ``template``, ``images`` via ``extra_body``)."""
        body: dict[str, Any] = {"model": req.model, "prompt": self._prompt(req.prompt),
                                "stream": bool(req.stream)}
        self._apply_params(body, req.params, _COMPLETION_PARAMS, cfg)
        return self._request("/api/generate", body, cfg, req.stream)

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/api/embed`` (``truncate``, ``keep_alive``, ``options`` via ``extra_body``)."""
        value = req.input
        ok = isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value))
        if not ok:
            raise UnsupportedParameterError("ollama embeds strings only (a string or a list of strings), not tokens",
                                            provider=self.spec.name, param="input")
        body: dict[str, Any] = {"model": req.model, "input": value if isinstance(value, str) else list(value)}
        for key, param in req.params.items():
            if key == "dimensions":
                body["dimensions"] = param
            elif key == "encoding_format" and param in (None, "float"):
                continue
            else:
                self._unsupported(key, cfg)
        self._extra_body(body, {}, cfg)
        return self._request("/api/embed", body, cfg, False)

    def _prompt(self, prompt: Any) -> str:
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, Sequence) and len(prompt) == 1 and isinstance(prompt[0], str):
            return prompt[0]
        raise UnsupportedParameterError("ollama /api/generate takes one prompt string (no batches, no token ids)",
                                        provider=self.spec.name, param="prompt")

    def _apply_params(self, body: dict[str, Any], params: Mapping[str, Any], handlers: Mapping[str, _Handler],
                      cfg: CallSettings) -> None:
        options: dict[str, Any] = {}
        for key, value in params.items():
            if key in _IGNORED or (key == "n" and value == 1) or value is None:
                continue
            handler = handlers.get(key)
            if handler is None:
                self._unsupported(key, cfg)
                continue
            try:
                handler(body, options, value)
            except UnsupportedParameterError:
                if not cfg.drop_unsupported:
                    raise
                logger.warning("llmplex: dropped parameter %r unsupported by %s", key, self.spec.name)
        if params.get("max_completion_tokens") is not None:  # it wins over the deprecated max_tokens
            options["num_predict"] = params["max_completion_tokens"]
        self._extra_body(body, options, cfg)

    def _extra_body(self, body: dict[str, Any], options: dict[str, Any], cfg: CallSettings) -> None:
        extra = dict(cfg.extra_body)
        raw = extra.pop("options", None)
        if isinstance(raw, Mapping):
            options.update(raw)
        elif raw is not None:
            raise InvalidRequestError("extra_body['options'] must be a mapping of Ollama runtime options")
        if options:
            body["options"] = options
        body.update(extra)

    def _unsupported(self, key: str, cfg: CallSettings) -> None:
        drop_or_raise(self.spec.name, key, cfg, "native Ollama")

    def _request(self, path: str, body: dict[str, Any], cfg: CallSettings, stream: bool) -> HttpRequest:
        return HttpRequest("POST", self.url(cfg, path), self._headers(cfg, stream), dumps(body),
                           "ndjson" if stream else None)

    @staticmethod
    def url(cfg: CallSettings, path: str) -> str:
        """``base + path``; a base without scheme (``OLLAMA_HOST=127.0.0.1:11434``) gets ``http://``."""
        base = cfg.base_url.strip().rstrip("/")
        if "://" not in base:
            base = "http://" + base
        if base.endswith("/api"):
            base = base[:-4]
        url = base + path
        if cfg.extra_query:
            from urllib.parse import urlencode

            url += "?" + urlencode(dict(cfg.extra_query))
        return url

    def _headers(self, cfg: CallSettings, stream: bool) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/x-ndjson" if stream else "application/json",
            "user-agent": _USER_AGENT,
            **self.spec.headers,
        }
        if cfg.api_key:
            key = cfg.api_key.reveal()
            headers[self.spec.auth_header] = f"Bearer {key}" if self.spec.auth_header == "authorization" else key
        headers.update({k.lower(): v for k, v in cfg.extra_headers.items()})
        return headers

    # -- responses --------------------------------------------------------------------------

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Map an ``/api/chat`` body (``stream: false``) to a ``ChatCompletion``."""
        data = self._load(resp)
        raw = data.get("message")
        if not isinstance(raw, Mapping):
            raise self._invalid("'message' is missing")
        try:
            calls = [ChatCompletionMessageToolCall(id=c[0], function=Function(name=c[1], arguments=c[2]))
                     for c in _tool_calls(raw.get("tool_calls"), 0)]
        except (KeyError, TypeError, AttributeError):
            raise self._invalid("malformed 'tool_calls'") from None
        text = raw.get("content") or ""
        message = ChatCompletionMessage(content=text if text or not calls else None, tool_calls=calls or None,
                                        reasoning_content=raw.get("thinking") or None)
        reason = data.get("done_reason")
        choice = with_extra(Choice(index=0, message=message, finish_reason=_finish(data, bool(calls))),
                        native_finish_reason=reason)
        return ChatCompletion(id="", created=_created(data.get("created_at")), model=str(data.get("model") or ""),
                              choices=[choice], usage=_usage(data))

    def parse_completion_response(self, resp: HttpResponse, req: CompletionRequest) -> Completion:
        """Map an ``/api/generate`` body to a ``Completion`` (``context`` is not kept)."""
        data = self._load(resp)
        return _completion(data, str(data.get("response") or ""), _finish(data, False))

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """Map an ``/api/embed`` body to a ``CreateEmbeddingResponse``."""
        data = self._load(resp)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list):
            raise self._invalid("'embeddings' is not a list")
        try:
            items = [Embedding(index=i, embedding=v) for i, v in enumerate(vectors)]
        except ValueError:
            raise self._invalid("an embedding is not a list of numbers") from None
        count = data.get("prompt_eval_count")
        usage = EmbeddingUsage(prompt_tokens=count, total_tokens=count) if isinstance(count, int) else None
        return CreateEmbeddingResponse(data=items, model=str(data.get("model") or ""), usage=usage)

    def chat_stream_decoder(self, req: ChatRequest) -> OllamaChatStreamDecoder:
        """A decoder of the ``/api/chat`` NDJSON stream."""
        return OllamaChatStreamDecoder(self)

    def completion_stream_decoder(self, req: CompletionRequest) -> OllamaCompletionStreamDecoder:
        """A decoder of the ``/api/generate`` NDJSON stream."""
        return OllamaCompletionStreamDecoder(self)

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """``{"error": "..."}`` (any status: 404 model not found, 400, 500 …) -> the typed error."""
        message, code, type_, param = parse_json_error_body(resp.body)
        return make_error(resp.status, message, provider=self.spec.name, code=code, error_type=type_,
                          param=param, headers=resp.headers)

    def error_from_payload(self, payload: Mapping[str, Any]) -> LLMError:
        """An ``{"error": ...}`` line inside a stream (or inside a 2xx body): reported as a 500."""
        message, code, type_, param = error_fields(dict(payload))
        return make_error(500, message or "error in stream", provider=self.spec.name, code=code,
                          error_type=type_, param=param)

    def _load(self, resp: HttpResponse) -> dict[str, Any]:
        data = load_json_object(resp.body, self.spec.name)
        if "error" in data:
            raise self.error_from_payload(data)
        return data

    def _invalid(self, what: str) -> InvalidResponseError:
        return invalid_response(self.spec.name, what)


# -- request mapping --------------------------------------------------------------------------


def _convert_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # tool call id -> function name, for the tool messages' tool_name
    out: list[dict[str, Any]] = []
    for raw in messages:
        msg = message_as_mapping(raw)
        role = msg.get("role")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": _text(msg.get("content"), str(role))})
        elif role == "user":
            out.append(_user(msg.get("content")))
        elif role == "assistant":
            out.append(_assistant(msg, names))
        elif role == "tool":
            item: dict[str, Any] = {"role": "tool", "content": _text(msg.get("content"), "tool")}
            name = names.get(str(msg.get("tool_call_id")))
            if name:
                item["tool_name"] = name
            out.append(item)
        else:
            raise InvalidRequestError(f"ollama has no {role!r} role; use system, user, assistant or tool")
    return out




def _text(content: Any, role: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        if part.get("type") != "text":
            raise InvalidRequestError(f"{role} messages may hold only text for ollama")
        texts.append(str(part.get("text") or ""))
    return "".join(texts)


def _user(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "user", "content": content}
    if not isinstance(content, Sequence):
        raise InvalidRequestError("user message content must be a string or a list of parts")
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "image_url":
            image = part.get("image_url")
            images.append(_image(str((image.get("url") if isinstance(image, Mapping) else image) or "")))
        else:
            raise UnsupportedParameterError(f"the ollama adapter does not accept {kind!r} content parts",
                                            provider="ollama", param="messages")
    item: dict[str, Any] = {"role": "user", "content": "\n".join(texts)}
    if images:
        item["images"] = images
    return item


def _image(url: str) -> str:
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        if not sep or not header.endswith(";base64"):
            raise InvalidRequestError("an image data URL must be base64: data:<media type>;base64,<data>")
        return data
    if url.startswith(("https://", "http://")):
        raise UnsupportedParameterError(
            "ollama takes images as base64 data: pass a data URL (data:image/png;base64,...) instead of an "
            "http(s) URL; llmplex does not fetch image URLs for ollama yet", provider="ollama", param="messages")
    raise InvalidRequestError("an image_url must be a base64 data URL")


def _assistant(msg: Mapping[str, Any], names: dict[str, str]) -> dict[str, Any]:
    content = msg.get("content")
    if isinstance(content, list):
        content = [p for p in content if p.get("type") != "refusal"]
    item: dict[str, Any] = {"role": "assistant", "content": _text(content, "assistant")}
    if msg.get("reasoning_content"):
        item["thinking"] = msg["reasoning_content"]
    calls = []
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        parsed = arguments_object(call, "ollama")
        if call.get("id"):
            names[str(call["id"])] = str(fn.get("name"))
        calls.append({"function": {"name": fn.get("name"), "arguments": parsed}})
    if calls:
        item["tool_calls"] = calls
    return item


# -- response mapping --------------------------------------------------------------------------


def _finish(data: Mapping[str, Any], tool_calls: bool) -> str | None:
    if not data.get("done"):
        return None
    if tool_calls:
        return "tool_calls"
    return _FINISH.get(str(data.get("done_reason") or "stop"), "stop")


def _usage(data: Mapping[str, Any]) -> CompletionUsage | None:
    prompt, completion = data.get("prompt_eval_count"), data.get("eval_count")
    if prompt is None and completion is None:
        return None
    prompt, completion = int(prompt or 0), int(completion or 0)
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _created(value: Any) -> int:
    """RFC 3339 ``created_at`` (nanoseconds, ``Z``) -> Unix seconds; 0 when missing or unreadable."""
    if not isinstance(value, str) or not value:
        return 0
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return 0
    if stamp.tzinfo is None:
        return 0
    return int(stamp.timestamp())




def _tool_calls(raw: Any, start: int) -> list[tuple[str, str, str]]:
    """(id, name, arguments JSON) per call; ``call_<index>`` when the call has no id."""
    out = []
    for offset, call in enumerate(raw or []):
        fn = call["function"]
        call_id = call.get("id") or f"call_{start + offset}"
        out.append((str(call_id), str(fn["name"]), json_arguments(fn.get("arguments"))))
    return out


def _completion(data: Mapping[str, Any], text: str, finish: str | None) -> Completion:
    choice = CompletionChoice(index=0, text=text, finish_reason=finish)
    if data.get("done"):
        choice = with_extra(choice, native_finish_reason=data.get("done_reason"))
    if data.get("thinking"):
        choice = with_extra(choice, reasoning_content=data["thinking"])
    return Completion(id="", created=_created(data.get("created_at")), model=str(data.get("model") or ""),
                      choices=[choice], usage=_usage(data) if data.get("done") else None)




# -- streaming -------------------------------------------------------------------------------


class _LineDecoder:
    """Shared NDJSON handling: one JSON object per line, ``done: true`` is terminal, an
    ``{"error": ...}`` line raises the typed error."""

    def __init__(self, adapter: OllamaAdapter) -> None:
        self._adapter = adapter
        self._count = 0
        self.done = False

    def _payload(self, frame: bytes | str) -> dict[str, Any] | None:
        index = self._count
        self._count += 1
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        if self.done or not text.strip():
            return None
        try:
            payload = json.loads(text)
        except ValueError:
            raise self._parse_error(index, "is not valid JSON") from None
        if not isinstance(payload, dict):
            raise self._parse_error(index, "is not a JSON object")
        if "error" in payload:
            raise self._adapter.error_from_payload(payload)
        if payload.get("done"):
            self.done = True
        return payload

    def _parse_error(self, index: int, what: str) -> StreamParseError:
        name = self._adapter.spec.name
        return StreamParseError(f"stream line {index} from {name} {what}", provider=name, event_index=index)

    def close(self) -> list[Any]:
        """Raise ``StreamInterruptedError`` unless the ``done: true`` line arrived."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._adapter.spec.name} stream ended before its done line",
                                     provider=self._adapter.spec.name)


class OllamaChatStreamDecoder(_LineDecoder):
    """``/api/chat`` NDJSON lines -> ``ChatCompletionChunk``s."""

    def __init__(self, adapter: OllamaAdapter) -> None:
        super().__init__(adapter)
        self._started = False
        self._tools = 0

    def feed(self, frame: bytes | str) -> list[ChatCompletionChunk]:
        """Decode one line."""
        index = self._count
        payload = self._payload(frame)
        if payload is None:
            return []
        try:
            return self._chunks(payload)
        except (KeyError, TypeError, AttributeError):
            raise self._parse_error(index, "is not a well-formed chat line") from None

    def _chunks(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        message = payload.get("message") or {}
        delta = ChoiceDelta(content=message.get("content") or None,
                            reasoning_content=message.get("thinking") or None)
        if not self._started:
            self._started = True
            delta.role = "assistant"
            delta.content = delta.content or ""
        calls = _tool_calls(message.get("tool_calls"), self._tools)
        if calls:
            delta.tool_calls = [
                ChoiceDeltaToolCall(index=self._tools + i, id=cid, type="function",
                                    function=ChoiceDeltaToolCallFunction(name=name, arguments=args))
                for i, (cid, name, args) in enumerate(calls)]
            self._tools += len(calls)
        if not payload.get("done"):
            if delta.content is None and delta.reasoning_content is None and not calls and delta.role is None:
                return []
            return [self._chunk(payload, ChunkChoice(index=0, delta=delta))]
        choice = with_extra(ChunkChoice(index=0, delta=delta, finish_reason=_finish(payload, self._tools > 0)),
                        native_finish_reason=payload.get("done_reason"))
        return [self._chunk(payload, choice, _usage(payload))]

    @staticmethod
    def _chunk(payload: Mapping[str, Any], choice: ChunkChoice,
               usage: CompletionUsage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id="", created=_created(payload.get("created_at")),
                                   model=str(payload.get("model") or ""), choices=[choice], usage=usage)


class OllamaCompletionStreamDecoder(_LineDecoder):
    """``/api/generate`` NDJSON lines -> ``Completion`` pieces."""

    def feed(self, frame: bytes | str) -> list[Completion]:
        """Decode one line."""
        index = self._count
        payload = self._payload(frame)
        if payload is None:
            return []
        text = payload.get("response")
        if text is not None and not isinstance(text, str):
            raise self._parse_error(index, "has a non-string 'response'")
        return [_completion(payload, text or "", _finish(payload, False))]
