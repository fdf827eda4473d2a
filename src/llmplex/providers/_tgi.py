"""Hugging Face's native inference wire formats: text-generation (TGI), feature-extraction and errors.

Shared by the serverless Inference API (``hf-inference``) and dedicated Inference Endpoints / TGI
(``huggingface.py`` holds the adapters and their URLs). References:
https://huggingface.co/docs/text-generation-inference (``/generate``, ``/generate_stream``, the
``{"error", "error_type"}`` body), https://huggingface.co/docs/inference-providers/tasks/text-generation
and ``/tasks/feature-extraction``, https://huggingface.github.io/text-embeddings-inference (``/embed``).

Mapping notes:

* Text generation: ``{"inputs": prompt, "parameters": {...}, "stream": bool}``. ``max_tokens`` ->
  ``max_new_tokens``; ``return_full_text`` is False (OpenAI completions return only the new text)
  unless ``echo``; ``details`` is always asked for, it carries the finish reason and token count.
  TGI rejects ``temperature: 0`` and ``top_p >= 1``: the first becomes greedy decoding
  (``do_sample: false``), the second is left out (no nucleus cut-off, which is what it means).
  ``extra_body["parameters"]`` is merged into ``parameters`` (``top_k``, ``repetition_penalty``,
  ``truncate``, ``grammar`` …); other ``extra_body`` keys go to the top level.
* Finish reasons: ``length`` -> ``length``; ``eos_token`` and ``stop_sequence`` -> ``stop``; the native
  one stays in ``choice.native_finish_reason``. Usage: ``completion_tokens`` is ``generated_tokens``;
  ``prompt_tokens`` is the stream's ``input_length`` (the non-streamed answer does not report it: 0).
* Feature extraction returns one vector per input. A model without pooling returns a matrix
  (tokens x dim) per input: that is refused with a clear ``InvalidResponseError`` rather than
  pooled by a rule Hugging Face does not document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._framing import SSEEvent
from .._requests import CallSettings, CompletionRequest, EmbeddingRequest
from ..errors import InvalidRequestError, LLMError, StreamInterruptedError, StreamParseError
from ..types.completion import Completion, CompletionChoice
from ..types.embedding import CreateEmbeddingResponse, Embedding
from ..types.usage import CompletionUsage
from ._errors import error_fields, make_error
from ._shared import drop_or_raise, event_object, invalid_response, merge_extra_body, with_extra

__all__ = [
    "TGIStreamDecoder",
    "embedding_body",
    "generation_body",
    "hf_error",
    "hf_error_fields",
    "parse_embeddings",
    "parse_generation",
    "status_for_event",
]

_FINISH = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}
_IGNORED = frozenset({"stream_options"})
# TGI's in-stream ``error_type`` -> the HTTP status it answers the same error with.
_ERROR_TYPE_STATUS = {"validation": 422, "overloaded": 429, "generation": 500, "incomplete_generation": 500}


# -- requests ------------------------------------------------------------------------------------


def _set_temperature(parameters: dict[str, Any], value: Any) -> None:
    if value == 0:
        parameters["do_sample"] = False  # TGI: "temperature must be strictly positive"
    else:
        parameters["temperature"] = value


def _set_top_p(parameters: dict[str, Any], value: Any) -> None:
    if value < 1:  # TGI: "top_p must be > 0.0 and < 1.0"; 1.0 means no cut-off
        parameters["top_p"] = value


def _set_stop(parameters: dict[str, Any], value: Any) -> None:
    parameters["stop"] = [value] if isinstance(value, str) else list(value)


def _renamed(name: str) -> Any:
    def handler(parameters: dict[str, Any], value: Any) -> None:
        parameters[name] = value

    return handler


_PARAMS = {
    "max_tokens": _renamed("max_new_tokens"),
    "temperature": _set_temperature,
    "top_p": _set_top_p,
    "stop": _set_stop,
    "seed": _renamed("seed"),
    "frequency_penalty": _renamed("frequency_penalty"),
    "echo": _renamed("return_full_text"),
}


def generation_body(req: CompletionRequest, cfg: CallSettings, provider: str) -> dict[str, Any]:
    """The text-generation body for a completion request."""
    parameters: dict[str, Any] = {"return_full_text": False, "details": True}
    for key, value in req.params.items():
        if key in _IGNORED or value is None or (key == "n" and value == 1):
            continue
        handler = _PARAMS.get(key)
        if handler is None:
            drop_or_raise(provider, key, cfg, "text-generation `parameters`")
            continue
        handler(parameters, value)
    body: dict[str, Any] = {"inputs": _prompt(req.prompt, provider), "parameters": parameters,
                            "stream": bool(req.stream)}
    merge_extra_body(body, parameters, "parameters", cfg)
    return body


def _prompt(prompt: Any, provider: str) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    raise InvalidRequestError(f"{provider} text generation takes one prompt string (no batches, no token ids)",
                              provider=provider, param="prompt")


def embedding_body(req: EmbeddingRequest, cfg: CallSettings, provider: str) -> dict[str, Any]:
    """``{"inputs": [...]}`` (always a list, so the answer is always one vector per input)."""
    value = req.input
    texts = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else None
    if texts is None or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError(f"{provider} embeds strings only (a string or a list of strings), not tokens",
                                  provider=provider, param="input")
    for key, param in req.params.items():
        if not (key == "encoding_format" and param in (None, "float")):
            drop_or_raise(provider, key, cfg, "feature-extraction")
    return {"inputs": texts, **cfg.extra_body}


# -- responses -----------------------------------------------------------------------------------


def _load(body: bytes, provider: str) -> Any:
    try:
        data = json.loads(body)
    except ValueError:
        raise invalid_response(provider, f"the body is not JSON ({len(body)} bytes)") from None
    if isinstance(data, dict) and "error" in data:
        raise hf_error(500, data, provider)
    return data


def _usage(details: Mapping[str, Any] | None) -> CompletionUsage | None:
    if not isinstance(details, Mapping) or not isinstance(details.get("generated_tokens"), int):
        return None
    prompt = details.get("input_length")
    prompt = prompt if isinstance(prompt, int) else 0
    completion = details["generated_tokens"]
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _choice(text: str, details: Any) -> CompletionChoice:
    native = details.get("finish_reason") if isinstance(details, Mapping) else None
    choice = CompletionChoice(index=0, text=text, finish_reason=_FINISH.get(str(native)) if native else None)
    return with_extra(choice, native_finish_reason=native)


def parse_generation(body: bytes, model: str, provider: str) -> Completion:
    """``[{"generated_text", "details"}]`` (model route, ``/``) or the bare object (``/generate``)."""
    data = _load(body, provider)
    item = data[0] if isinstance(data, list) and len(data) == 1 else data
    if not isinstance(item, dict) or not isinstance(item.get("generated_text"), str):
        raise invalid_response(provider, "expected [{'generated_text': ...}]")
    details = item.get("details")
    return Completion(id="", created=0, model=model, choices=[_choice(item["generated_text"], details)],
                      usage=_usage(details))


def parse_embeddings(body: bytes, req: EmbeddingRequest, provider: str) -> CreateEmbeddingResponse:
    """One vector per input; token-level matrices are refused (see the module docstring)."""
    data = _load(body, provider)
    count = 1 if isinstance(req.input, str) else len(req.input)
    if isinstance(data, list) and data and all(isinstance(x, (int, float)) for x in data) and count == 1:
        data = [data]  # a single input may come back as one flat vector
    if not isinstance(data, list) or len(data) != count:
        raise invalid_response(provider, f"expected {count} embedding vector(s)")
    for row in data:
        if isinstance(row, list) and row and isinstance(row[0], list):
            raise invalid_response(
                provider,
                "the model returned token-level embeddings (a tokens x dim matrix per input), not one "
                "vector per input; use a sentence-embedding model (sentence-transformers, e.g. "
                "BAAI/bge-small-en-v1.5), which pools on the server")
        if not isinstance(row, list) or not all(isinstance(x, (int, float)) for x in row):
            raise invalid_response(provider, "an embedding is not a list of numbers")
    return CreateEmbeddingResponse(data=[Embedding(index=i, embedding=v) for i, v in enumerate(data)],
                                   model=req.model)


# -- errors --------------------------------------------------------------------------------------


def hf_error_fields(data: Any) -> tuple[str, Any, float | None]:
    """(message, type, retry_after) from Hugging Face's error shapes:

    ``{"error": "..."}``, ``{"error": "...", "error_type": "..."}``, ``{"error": ["...", ...]}``
    (validation messages), ``{"error": "... is currently loading", "estimated_time": 20.0}`` (503),
    and the router's OpenAI shape ``{"error": {"message", "type", "code"}}``.
    """
    if isinstance(data, dict):
        err = data.get("error")
        wait = data.get("estimated_time")
        retry_after = float(wait) if isinstance(wait, (int, float)) and not isinstance(wait, bool) else None
        if isinstance(err, list) and all(isinstance(e, str) for e in err):
            return "; ".join(err), data.get("error_type"), retry_after
        if isinstance(err, str):
            return err, data.get("error_type") or data.get("type"), retry_after
    message, _code, type_, _param = error_fields(data)
    return message, type_, None


def hf_error(status: int, data: Any, provider: str, headers: Mapping[str, str] | None = None) -> LLMError:
    """The typed error for an HTTP status and a parsed (or textual) error body."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message, code, type_, param = error_fields(data)
        return make_error(status, message, provider=provider, code=code, error_type=type_, param=param,
                          headers=headers)
    message, type_, retry_after = hf_error_fields(data) if not isinstance(data, str) else (data, None, None)
    error = make_error(status, message, provider=provider, error_type=type_, headers=headers)
    error.retry_after = retry_after
    return error


def status_for_event(payload: Mapping[str, Any]) -> int:
    """The status an error event inside a 200 stream stands for (by TGI's ``error_type``)."""
    return _ERROR_TYPE_STATUS.get(str(payload.get("error_type")), 500)


# -- streaming -----------------------------------------------------------------------------------


class TGIStreamDecoder:
    """``/generate_stream`` SSE events -> ``Completion`` pieces.

    Each event is ``{"token": {"id", "text", "logprob", "special"}, "generated_text", "details"}``;
    special tokens (``</s>``) carry no text; the event with ``generated_text`` set is the last one.
    ``{"error": ..., "error_type": ...}`` raises the typed error after the pieces already given.
    """

    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._model = model
        self._count = 0
        self.done = False

    def feed(self, frame: SSEEvent) -> list[Completion]:
        """Decode one event."""
        index = self._count
        self._count += 1
        if self.done or not frame.data or frame.data == b"[DONE]":
            return []
        payload = event_object(frame.data, lambda what: StreamParseError(
            f"stream event {index} from {self._provider} {what}", provider=self._provider, event_index=index))
        if "error" in payload:
            raise hf_error(status_for_event(payload), payload, self._provider)
        token = payload.get("token")
        if not isinstance(token, dict):
            raise StreamParseError(f"stream event {index} from {self._provider} has no token",
                                   provider=self._provider, event_index=index)
        text = "" if token.get("special") else str(token.get("text") or "")
        final = payload.get("generated_text") is not None
        if not final:
            return [Completion(model=self._model, choices=[CompletionChoice(index=0, text=text)])] if text else []
        self.done = True
        details = payload.get("details")
        return [Completion(model=self._model, choices=[_choice(text, details)], usage=_usage(details))]

    def close(self) -> list[Completion]:
        """Raise ``StreamInterruptedError`` unless the final event (``generated_text``) arrived."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._provider} stream ended before its final event",
                                     provider=self._provider)
