"""The Anthropic Messages protocol (``POST /v1/messages``), mapped to and from the OpenAI shapes.

References: https://docs.anthropic.com/en/api/messages (request and response),
https://docs.anthropic.com/en/docs/build-with-claude/streaming (event flow),
https://docs.anthropic.com/en/api/errors (error body and types),
https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking (thinking blocks, signatures).

Where the OpenAI shape has no field, the Anthropic fact is kept as an extra attribute:

* ``message.thinking_blocks``: the ``thinking`` / ``redacted_thinking`` blocks exactly as sent
  (with their ``signature`` / ``data``). Putting the message back into the history sends them
  back, which the API requires when thinking is combined with tool use. ``reasoning_content``
  holds the joined thinking text; on its own (no ``thinking_blocks``, e.g. from another provider)
  it is not sent, as the API rejects a thinking block without a signature.
* ``choice.native_finish_reason``: Anthropic's ``stop_reason`` (``refusal``, ``pause_turn`` …),
  next to the mapped OpenAI ``finish_reason``.
* ``message.server_tool_blocks``, ``message.citations`` (and OpenAI ``annotations``),
  ``message.other_blocks``: see ``_anthropic_blocks``, which maps content blocks both ways.

Provider options (``anthropic_beta``, ``cache_control``, ``cache_ttl``) are applied by
``_anthropic_options``.

The API sends no creation time: ``created`` is 0. Completions and embeddings are not offered
(``Capabilities``), so the adapter has no such methods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .._framing import SSEEvent
from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest
from ..catalog import model_limits
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
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
)
from ..types.usage import CompletionUsage
from ._anthropic_blocks import annotations_for, convert_messages, is_server_block, message_from_blocks, text_citations
from ._anthropic_options import apply_cache_control, beta_header
from ._errors import error_fields, make_error
from ._json import dumps
from ._shared import cached_usage, drop_or_raise, invalid_response, load_json_object, with_extra
from .base import ProviderSpec
from .native import ANTHROPIC_SPEC

__all__ = ["ANTHROPIC_SPEC", "DEFAULT_MAX_TOKENS", "MAX_TOKENS_CAP", "THINKING_BUDGETS", "AnthropicAdapter",
           "AnthropicStreamDecoder", "default_max_tokens"]


_USER_AGENT = "llmplex/0.1.0"

DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` for a model the catalog does not know (see :func:`default_max_tokens`)."""

MAX_TOKENS_CAP = 16384
"""The default never exceeds this: at a slow 30 tokens/s a reply this long still fits the default
600 s read timeout of a non-streamed call. Pass ``max_tokens`` to go beyond it."""


def default_max_tokens(model: str) -> int:
    """``max_tokens`` sent when the caller gives none (the API requires it): the model's maximum
    output from the catalog, capped at :data:`MAX_TOKENS_CAP`; :data:`DEFAULT_MAX_TOKENS` for a model
    the catalog does not know. A thinking budget from ``reasoning_effort`` is added on top."""
    limits = model_limits("anthropic", model)
    return min(limits.max_output_tokens, MAX_TOKENS_CAP) if limits else DEFAULT_MAX_TOKENS

THINKING_BUDGETS: Mapping[str, int] = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
"""``reasoning_effort`` -> ``thinking.budget_tokens`` (1024 is the API minimum); ``none`` sends no thinking."""

# OpenAI parameters with no Messages API equivalent (native knobs go through ``extra_body``).
_UNSUPPORTED = frozenset({
    "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "seed",
    "response_format", "modalities", "audio", "prediction", "store", "metadata", "service_tier",
    "functions", "function_call", "web_search_options", "verbosity", "prompt_cache_key",
    "safety_identifier",
})
_IGNORED = frozenset({"stream_options"})  # usage is always streamed by this API
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
           "refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length"}
_ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                 "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                 "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}


class AnthropicAdapter:
    """Adapter for the Anthropic Messages API (sans-IO).

    >>> adapter = AnthropicAdapter(ANTHROPIC_SPEC)
    >>> cfg = CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url)
    >>> adapter.build_chat_request(ChatRequest("claude-x", [{"role": "user", "content": "Hi"}], {}), cfg).url
    'https://api.anthropic.com/v1/messages'
    """

    def __init__(self, spec: ProviderSpec = ANTHROPIC_SPEC) -> None:
        self.spec = spec

    # -- requests ---------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base_url}/messages`` with the Messages body built from OpenAI-shaped input."""
        system, messages = convert_messages(req.messages)
        body: dict[str, Any] = {"model": req.model}
        if system is not None:
            body["system"] = system
        body["messages"] = messages
        body.update(self._params(req.model, req.params, cfg))
        if req.stream:
            body["stream"] = True
        if cfg.extra_body:
            body.update(cfg.extra_body)
        apply_cache_control(body, cfg.options.get("cache_control"), cfg.options.get("cache_ttl"))
        url = f"{cfg.base_url.rstrip('/')}/messages"
        if cfg.extra_query:
            from urllib.parse import urlencode

            url += "?" + urlencode(dict(cfg.extra_query))
        return HttpRequest("POST", url, self._headers(cfg, req.stream), dumps(body), "sse" if req.stream else None)

    def _headers(self, cfg: CallSettings, stream: bool) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "user-agent": _USER_AGENT,
            **self.spec.headers,
        }
        if cfg.api_key:
            headers[self.spec.auth_header] = cfg.api_key.reveal()
        headers.update({k.lower(): v for k, v in cfg.extra_headers.items()})
        beta = beta_header(cfg.options.get("anthropic_beta"), headers.get("anthropic-beta"))
        if beta:
            headers["anthropic-beta"] = beta
        return headers

    def _params(self, model: str, params: Mapping[str, Any], cfg: CallSettings) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in params.items():
            handler = _PARAM_HANDLERS.get(key)
            if key in _IGNORED or (key == "n" and value == 1):
                continue
            if handler is None:
                self._unsupported(key, cfg)
                continue
            handler(out, value)
        _finish_params(out, model, params)
        return out

    def _unsupported(self, key: str, cfg: CallSettings) -> None:
        drop_or_raise(self.spec.name, key, cfg, "native Messages API")

    # -- responses --------------------------------------------------------------------------

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Map a Messages response body to a ``ChatCompletion``."""
        data = self._load(resp)
        blocks = data.get("content") or []
        if not isinstance(blocks, list):
            raise self._invalid("'content' is not a list")
        message = message_from_blocks(blocks)
        stop = data.get("stop_reason")
        choice = with_extra(Choice(index=0, message=message, finish_reason=_finish(stop)), native_finish_reason=stop)
        return ChatCompletion(id=str(data.get("id") or ""), created=0, model=str(data.get("model") or ""),
                              choices=[choice], usage=_usage(data.get("usage")))

    def _load(self, resp: HttpResponse) -> dict[str, Any]:
        data = load_json_object(resp.body, self.spec.name)
        if data.get("type") == "error" or ("error" in data and "content" not in data):
            raise self.error_from_event(data)
        return data

    def _invalid(self, what: str) -> InvalidResponseError:
        return invalid_response(self.spec.name, what)

    def chat_stream_decoder(self, req: ChatRequest) -> AnthropicStreamDecoder:
        """A decoder of the Messages SSE stream."""
        return AnthropicStreamDecoder(self)

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """``{"type": "error", "error": {"type", "message"}, "request_id"}`` -> the typed error."""
        try:
            data: Any = json.loads(resp.body)
        except ValueError:
            data = resp.body.decode("utf-8", "replace").strip()[:500]
        message, code, type_, param = error_fields(data)
        err = make_error(resp.status, message, provider=self.spec.name, code=code, error_type=type_,
                         param=param, headers=resp.headers)
        if err.request_id is None and isinstance(data, dict) and isinstance(data.get("request_id"), str):
            err.request_id = data["request_id"]
        return err

    def error_from_event(self, payload: Mapping[str, Any]) -> LLMError:
        """An ``error`` event inside a stream (or an error object inside a 200 body)."""
        message, code, type_, param = error_fields(payload)
        status = _ERROR_STATUS.get(str(type_), 500)
        return make_error(status, message or "error event in stream", provider=self.spec.name, code=code,
                          error_type=type_, param=param)


# -- request parameters -----------------------------------------------------------------------


def _set_max_tokens(out: dict[str, Any], value: Any) -> None:
    out["max_tokens"] = value


def _set_stop(out: dict[str, Any], value: Any) -> None:
    out["stop_sequences"] = [value] if isinstance(value, str) else list(value)


def _set_tools(out: dict[str, Any], value: Any) -> None:
    """OpenAI function tools -> ``{"name", "description", "input_schema"[, "strict"]}``, plus the
    tool's keys beside ``type`` and ``function`` verbatim. A tool of another ``type`` with a
    ``name`` is an Anthropic tool (``web_search_20250305``, ``code_execution_…``, ``mcp_toolset`` …)
    and is sent verbatim."""
    tools = []
    for tool in value:
        if tool.get("type", "function") != "function" and isinstance(tool.get("name"), str):
            tools.append(dict(tool))
            continue
        fn = tool.get("function")
        if not isinstance(fn, Mapping):
            raise UnsupportedParameterError("a tool must be an OpenAI function tool or a native Anthropic tool "
                                            "(with its own type and name)", provider="anthropic", param="tools")
        mapped: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description") is not None:
            mapped["description"] = fn["description"]
        mapped["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
        if fn.get("strict") is not None:  # Anthropic's strict tool use, the same contract
            mapped["strict"] = fn["strict"]
        # keys beside type/function are Anthropic tool fields (cache_control, defer_loading …)
        mapped.update({k: v for k, v in tool.items() if k not in ("type", "function")})
        tools.append(mapped)
    out["tools"] = tools


def _set_tool_choice(out: dict[str, Any], value: Any) -> None:
    if isinstance(value, str):
        named = {"auto": "auto", "none": "none", "required": "any"}.get(value)
        if named is None:
            raise InvalidRequestError(f"unknown tool_choice {value!r}")
        choice: dict[str, Any] = {"type": named}
    else:
        choice = {"type": "tool", "name": (value.get("function") or {}).get("name")}
    out["tool_choice"] = {**out.get("tool_choice", {}), **choice}


def _set_parallel(out: dict[str, Any], value: Any) -> None:
    if value is False:
        out["tool_choice"] = {**out.get("tool_choice", {"type": "auto"}), "disable_parallel_tool_use": True}


def _set_user(out: dict[str, Any], value: Any) -> None:
    out["metadata"] = {"user_id": value}


def _set_effort(out: dict[str, Any], value: Any) -> None:
    if value == "none":
        return
    budget = THINKING_BUDGETS.get(str(value))
    if budget is None:
        raise InvalidRequestError(f"reasoning_effort must be one of none, {', '.join(THINKING_BUDGETS)}")
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _set_n(out: dict[str, Any], value: Any) -> None:
    raise UnsupportedParameterError("the Messages API returns one choice: n must be 1", provider="anthropic",
                                    param="n")


def _copy(key: str) -> Callable[[dict[str, Any], Any], None]:
    def handler(out: dict[str, Any], value: Any) -> None:
        out[key] = value

    return handler


_PARAM_HANDLERS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "max_tokens": _set_max_tokens,
    "max_completion_tokens": _set_max_tokens,
    "stop": _set_stop,
    "temperature": _copy("temperature"),
    "top_p": _copy("top_p"),
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "parallel_tool_calls": _set_parallel,
    "user": _set_user,
    "reasoning_effort": _set_effort,
    "n": _set_n,
}


def _finish_params(out: dict[str, Any], model: str, params: Mapping[str, Any]) -> None:
    if "max_completion_tokens" in params:  # it wins over the deprecated max_tokens
        out["max_tokens"] = params["max_completion_tokens"]
    budget = out.get("thinking", {}).get("budget_tokens", 0)
    if "max_tokens" not in out:
        out["max_tokens"] = default_max_tokens(model) + budget
    elif budget and out["max_tokens"] <= budget:
        raise InvalidRequestError(
            f"max_tokens ({out['max_tokens']}) must exceed the thinking budget of reasoning_effort "
            f"{params.get('reasoning_effort')!r} ({budget} tokens)"
        )
    if out.get("tool_choice", {}).get("type") == "none":
        out["tool_choice"].pop("disable_parallel_tool_use", None)


# -- response mapping (shared by the non-streamed parser and the stream decoder) ---------------


def _finish(stop_reason: Any) -> str | None:
    if stop_reason is None:
        return None
    return _FINISH.get(str(stop_reason), "stop")


def _usage(raw: Any) -> CompletionUsage | None:
    """``input_tokens`` excludes cached tokens: OpenAI's ``prompt_tokens`` is the sum of all three."""
    if not isinstance(raw, Mapping):
        return None
    return cached_usage(raw.get("input_tokens"), raw.get("output_tokens"), raw.get("cache_read_input_tokens"),
                        raw.get("cache_creation_input_tokens"))


def _loads_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # cut short (max_tokens): the fragments as sent


# -- streaming -------------------------------------------------------------------------------


class AnthropicStreamDecoder:
    """Messages SSE events -> ``ChatCompletionChunk``s. Dispatches on the payload's ``type`` (event
    names may be missing). Terminal: ``message_stop``. At its ``content_block_stop``, a completed
    thinking block is sent as ``delta.thinking_blocks`` (with its signature), a server tool block
    (its input JSON put together) as ``delta.server_tool_blocks``, another kind as
    ``delta.other_blocks``, and a text block's ``citations_delta`` citations as ``delta.citations``
    and ``delta.annotations`` (the span each covers is known only then)."""

    def __init__(self, adapter: AnthropicAdapter) -> None:
        self._adapter = adapter
        self._id = ""
        self._model = ""
        self._count = 0
        self._started = False
        self._blocks: dict[int, dict[str, Any]] = {}
        self._tools = 0
        self._text = 0  # characters of content so far: where the next text block's citations start
        self._usage: dict[str, Any] = {}
        self.done = False

    def feed(self, frame: SSEEvent) -> list[ChatCompletionChunk]:
        """Decode one SSE event."""
        index = self._count
        self._count += 1
        if self.done or not frame.data.strip():
            return []
        try:
            payload = json.loads(frame.data)
        except ValueError:
            raise self._parse_error(index, "is not valid JSON") from None
        if not isinstance(payload, dict):
            raise self._parse_error(index, "is not a JSON object")
        kind = payload.get("type") or frame.event
        handler = _STREAM_HANDLERS.get(str(kind))
        if handler is None:
            return []  # "ping" and event types added later are ignored, as the docs ask
        try:
            return handler(self, payload)
        except (KeyError, TypeError, AttributeError):
            raise self._parse_error(index, f"is not a well-formed {kind} event") from None

    def close(self) -> list[ChatCompletionChunk]:
        """Raise ``StreamInterruptedError`` unless ``message_stop`` arrived."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._adapter.spec.name} stream ended before message_stop",
                                     provider=self._adapter.spec.name)

    def _parse_error(self, index: int, what: str) -> StreamParseError:
        name = self._adapter.spec.name
        return StreamParseError(f"stream event {index} from {name} {what}", provider=name, event_index=index)

    def _chunk(self, delta: ChoiceDelta | None = None, finish: Any = None, usage: CompletionUsage | None = None,
               **choice_extra: Any) -> ChatCompletionChunk:
        choices = [] if delta is None else [
            with_extra(ChunkChoice(index=0, delta=delta, finish_reason=_finish(finish)), **choice_extra)]
        return ChatCompletionChunk(id=self._id, model=self._model, choices=choices, usage=usage)

    def _message_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        message = payload["message"]
        if self._started:
            if self._blocks or message.get("id") != self._id:
                raise StreamParseError(
                    f"{self._adapter.spec.name} started a second message inside one stream",
                    provider=self._adapter.spec.name, event_index=self._count - 1)
            return []  # a repeated message_start before any content carries nothing new
        self._started = True
        self._id, self._model = str(message.get("id") or ""), str(message.get("model") or "")
        self._usage = dict(message.get("usage") or {})
        return [self._chunk(ChoiceDelta(role="assistant", content=""), usage=_usage(self._usage))]

    def _block_start(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        block = dict(payload["content_block"])
        kind = block.get("type")
        state: dict[str, Any] = {"type": kind, "args": False}
        self._blocks[payload["index"]] = state
        if kind == "text":
            state.update(start=self._text, citations=list(block.get("citations") or []))
            return [self._text_chunk(block["text"])] if block.get("text") else []
        if kind in ("thinking", "redacted_thinking"):
            state["block"] = block
            text = block.get("thinking")
            return [self._chunk(ChoiceDelta(reasoning_content=text))] if text else []
        if kind != "tool_use":  # server tools, MCP, fallback …: the whole block at its stop
            state.update(block=block, json="")
            return []
        state["tool"] = self._tools
        self._tools += 1
        call = ChoiceDeltaToolCall(index=state["tool"], id=block["id"], type="function",
                                   function=ChoiceDeltaToolCallFunction(name=block["name"], arguments=""))
        return [self._chunk(ChoiceDelta(tool_calls=[call]))]

    def _text_chunk(self, text: str) -> ChatCompletionChunk:
        self._text += len(text)
        return self._chunk(ChoiceDelta(content=text))

    def _block_delta(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        state = self._blocks[payload["index"]]
        delta = payload["delta"]
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._text_chunk(delta["text"])]
        if kind == "citations_delta":
            state.setdefault("citations", []).append(delta["citation"])
        elif kind == "input_json_delta" and "json" in state:
            state["json"] += delta["partial_json"]
        elif kind == "input_json_delta":
            fragment = delta["partial_json"]
            state["args"] = state["args"] or bool(fragment)
            return [self._tool_args(state["tool"], fragment)] if fragment else []
        elif kind == "thinking_delta":
            state["block"]["thinking"] = state["block"].get("thinking", "") + delta["thinking"]
            return [self._chunk(ChoiceDelta(reasoning_content=delta["thinking"]))]
        elif kind == "signature_delta":
            state["block"]["signature"] = state["block"].get("signature", "") + delta["signature"]
        return []  # signatures, citations and server tool input surface with the finished block

    def _tool_args(self, tool: int, arguments: str) -> ChatCompletionChunk:
        call = ChoiceDeltaToolCall(index=tool, function=ChoiceDeltaToolCallFunction(arguments=arguments))
        return self._chunk(ChoiceDelta(tool_calls=[call]))

    def _block_stop(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        state = self._blocks[payload["index"]]
        kind = state["type"]
        if kind == "tool_use" and not state["args"]:
            return [self._tool_args(state["tool"], "{}")]  # no input at all: the parsed form is {}
        if kind == "text":
            cited = text_citations(state["citations"], state["start"], self._text)
            extra = {"citations": cited, "annotations": annotations_for(cited)}
            return [self._chunk(with_extra(ChoiceDelta(), **{k: v for k, v in extra.items() if v}))] if cited else []
        if "json" in state:
            block = state["block"]
            if state["json"]:
                block["input"] = _loads_or_text(state["json"])
            key = "server_tool_blocks" if is_server_block(kind) else "other_blocks"
            return [self._chunk(with_extra(ChoiceDelta(), **{key: [block]}))]
        if "block" in state:
            return [self._chunk(with_extra(ChoiceDelta(), thinking_blocks=[state["block"]]))]
        return []

    def _message_delta(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        # message_delta usage is cumulative; newer API versions may repeat the input counts here.
        self._usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
        stop = payload["delta"].get("stop_reason")
        return [self._chunk(ChoiceDelta(), finish=stop, usage=_usage(self._usage), native_finish_reason=stop)]

    def _message_stop(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        self.done = True
        return []

    def _error(self, payload: dict[str, Any]) -> list[ChatCompletionChunk]:
        raise self._adapter.error_from_event(payload)


_STREAM_HANDLERS: dict[str, Callable[[AnthropicStreamDecoder, dict[str, Any]], list[ChatCompletionChunk]]] = {
    "message_start": AnthropicStreamDecoder._message_start,
    "content_block_start": AnthropicStreamDecoder._block_start,
    "content_block_delta": AnthropicStreamDecoder._block_delta,
    "content_block_stop": AnthropicStreamDecoder._block_stop,
    "message_delta": AnthropicStreamDecoder._message_delta,
    "message_stop": AnthropicStreamDecoder._message_stop,
    "error": AnthropicStreamDecoder._error,
}
