"""Hugging Face: the Inference Providers router, the serverless ``hf-inference`` API, and dedicated
Inference Endpoints / TGI servers.

Two provider rows share this module:

* ``huggingface`` (:class:`HuggingFaceAdapter`): chat through the router's OpenAI-compatible
  ``{base}/chat/completions`` (``https://router.huggingface.co/v1``). The serving provider is chosen
  by a suffix of the model id (``meta-llama/Llama-3.3-70B-Instruct:together``, ``:fastest``,
  ``:cheapest``) or, when the id has none, by the ``hf_provider`` setting; without either the router
  picks. Text completions use the ``hf-inference`` text-generation task
  (``{root}/hf-inference/models/{model}``), embeddings its feature-extraction pipeline
  (``…/models/{model}/pipeline/feature-extraction``), where ``root`` is the base URL without its
  ``/v1``. A base URL on the legacy host ``api-inference.huggingface.co`` keeps that host's paths
  (``/models/{model}``, ``/pipeline/feature-extraction/{model}``).
* ``hf_endpoint`` (:class:`HFEndpointAdapter`): a server the user names by ``base_url``: chat through
  TGI's Messages API (``{root}/v1/chat/completions``), completions through ``{root}/generate`` and
  ``{root}/generate_stream``, embeddings through Text Embeddings Inference's ``{root}/embed``.

Chat is the OpenAI protocol (this adapter subclasses :class:`~llmplex.providers.openai.OpenAIAdapter`);
the native text-generation, feature-extraction and error formats live in ``_tgi.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from ..errors import LLMError
from ..types.completion import Completion
from ..types.embedding import CreateEmbeddingResponse
from . import _tgi
from ._json import dumps
from .base import ProviderSpec
from .native import HF_ENDPOINT_SPEC, HUGGINGFACE_SPEC
from .openai import OpenAIAdapter

__all__ = ["HF_ENDPOINT_SPEC", "HUGGINGFACE_SPEC", "HFEndpointAdapter", "HuggingFaceAdapter"]

_LEGACY_HOST = "api-inference.huggingface.co"


def inference_root(base_url: str) -> str:
    """The base URL without a trailing ``/v1`` (where the non-OpenAI routes live)."""
    base = base_url.rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


class HuggingFaceAdapter(OpenAIAdapter):
    """The router (chat) plus ``hf-inference`` (text generation, feature extraction).

    >>> adapter = HuggingFaceAdapter(HUGGINGFACE_SPEC)
    >>> cfg = CallSettings(provider="huggingface", base_url=HUGGINGFACE_SPEC.base_url,
    ...                    options={"hf_provider": "together"})
    >>> import json
    >>> json.loads(adapter.build_chat_request(ChatRequest("Qwen/Qwen3-8B", [], {}), cfg).body)["model"]
    'Qwen/Qwen3-8B:together'
    """

    def __init__(self, spec: ProviderSpec = HUGGINGFACE_SPEC) -> None:
        super().__init__(spec)

    # -- chat: the OpenAI protocol with the provider suffix ---------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST {base}/chat/completions``; ``hf_provider`` becomes the model's ``:provider`` suffix."""
        provider = cfg.options.get("hf_provider")
        if provider and ":" not in req.model:
            req = dataclasses.replace(req, model=f"{req.model}:{provider}")
        return super().build_chat_request(req, cfg)

    # -- text generation -------------------------------------------------------------------------

    def generation_url(self, model: str, stream: bool, cfg: CallSettings) -> str:
        """Where text generation is posted (the model route takes ``stream`` in the body)."""
        root = inference_root(cfg.base_url)
        if urlsplit(root).hostname == _LEGACY_HOST:
            return f"{root}/models/{_model_path(model)}"
        return f"{root}/hf-inference/models/{_model_path(model)}"

    def embedding_url(self, model: str, cfg: CallSettings) -> str:
        """Where feature extraction is posted."""
        root = inference_root(cfg.base_url)
        if urlsplit(root).hostname == _LEGACY_HOST:
            return f"{root}/pipeline/feature-extraction/{_model_path(model)}"
        return f"{root}/hf-inference/models/{_model_path(model)}/pipeline/feature-extraction"

    def build_completion_request(self, req: CompletionRequest, cfg: CallSettings) -> HttpRequest:
        """Text generation: ``{"inputs", "parameters", "stream"}`` (see ``_tgi.generation_body``)."""
        body = _tgi.generation_body(req, cfg, self.spec.name)
        return self._post(self.generation_url(req.model, req.stream, cfg), body, cfg, req.stream)

    def parse_completion_response(self, resp: HttpResponse, req: CompletionRequest) -> Completion:
        """``[{"generated_text", "details"}]`` -> ``Completion``."""
        return _tgi.parse_generation(resp.body, req.model, self.spec.name)

    def completion_stream_decoder(self, req: CompletionRequest) -> _tgi.TGIStreamDecoder:  # type: ignore[override]
        """A decoder of TGI's token stream."""
        return _tgi.TGIStreamDecoder(self.spec.name, req.model)

    # -- embeddings ------------------------------------------------------------------------------

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """Feature extraction: ``{"inputs": [...]}`` (``normalize``, ``truncate`` … via ``extra_body``)."""
        body = _tgi.embedding_body(req, cfg, self.spec.name)
        return self._post(self.embedding_url(req.model, cfg), body, cfg, False)

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """Nested float lists -> ``CreateEmbeddingResponse`` (one vector per input)."""
        return _tgi.parse_embeddings(resp.body, req, self.spec.name)

    # -- errors ----------------------------------------------------------------------------------

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """Every Hugging Face error shape (``_tgi.hf_error_fields``), plain text included."""
        return _tgi.hf_error(resp.status, _json_or_text(resp.body), self.spec.name, resp.headers)

    def error_from_event(self, payload: Mapping[str, Any]) -> LLMError:
        """An error object inside a 200 body or stream (router: OpenAI shape; TGI: ``error_type``)."""
        if isinstance(payload.get("error"), Mapping):
            return super().error_from_event(payload)
        return _tgi.hf_error(_tgi.status_for_event(payload), dict(payload), self.spec.name)

    def _post(self, url: str, body: dict[str, Any], cfg: CallSettings, stream: bool) -> HttpRequest:
        if cfg.extra_query:
            url += ("&" if "?" in url else "?") + urlencode(dict(cfg.extra_query))
        return HttpRequest("POST", url, self._headers(cfg, stream), dumps(body), "sse" if stream else None)


class HFEndpointAdapter(HuggingFaceAdapter):
    """A dedicated Inference Endpoint or any TGI / TEI server at ``base_url``.

    >>> adapter = HFEndpointAdapter(HF_ENDPOINT_SPEC)
    >>> cfg = CallSettings(provider="hf_endpoint", base_url="https://xyz.endpoints.huggingface.cloud")
    >>> adapter.build_completion_request(CompletionRequest("tgi", "Hi", {}, stream=True), cfg).url
    'https://xyz.endpoints.huggingface.cloud/generate_stream'
    """

    def __init__(self, spec: ProviderSpec = HF_ENDPOINT_SPEC) -> None:
        super().__init__(spec)

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """TGI's Messages API (the model id is sent as given; TGI serves one model)."""
        return OpenAIAdapter.build_chat_request(self, req, cfg)

    def endpoint_url(self, path: str, model: str, cfg: CallSettings) -> str:
        """OpenAI routes live under ``{root}/v1``."""
        return f"{inference_root(cfg.base_url)}/v1/{path}"

    def generation_url(self, model: str, stream: bool, cfg: CallSettings) -> str:
        """``/generate`` or ``/generate_stream``."""
        return f"{inference_root(cfg.base_url)}/{'generate_stream' if stream else 'generate'}"

    def embedding_url(self, model: str, cfg: CallSettings) -> str:
        """Text Embeddings Inference's ``/embed``."""
        return f"{inference_root(cfg.base_url)}/embed"


def _model_path(model: str) -> str:
    return quote(model, safe="/:")


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:500]
