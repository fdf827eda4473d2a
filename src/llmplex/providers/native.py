"""Rows of the providers that speak their own wire protocol (one adapter module each).

Kept apart from the adapters so that listing providers imports no adapter code.
"""

from __future__ import annotations

from .base import Capabilities, ProviderSpec

__all__ = ["ANTHROPIC_SPEC", "HF_ENDPOINT_SPEC", "HUGGINGFACE_SPEC", "NATIVE_PROVIDERS", "OLLAMA_SPEC"]

ANTHROPIC_SPEC = ProviderSpec(
    name="anthropic",
    title="Anthropic",
    adapter="llmplex.providers.anthropic:AnthropicAdapter",
    base_url="https://api.anthropic.com/v1",
    api_key_env=("ANTHROPIC_API_KEY",),
    auth_header="x-api-key",
    headers={"anthropic-version": "2023-06-01"},
    # JSON mode / json_schema arrive with structured output (issue 4); until then response_format
    # raises UnsupportedParameterError.
    capabilities=Capabilities(vision=True, reasoning=True, json_mode=False, json_schema=False, n=False),
    docs_url="https://docs.anthropic.com/en/api/messages",
)

OLLAMA_SPEC = ProviderSpec(
    name="ollama",
    title="Ollama",
    adapter="llmplex.providers.ollama:OllamaAdapter",
    base_url="http://localhost:11434",
    base_url_env=("OLLAMA_HOST",),  # may lack a scheme ("127.0.0.1:11434"): the adapter adds http://
    key_required=False,
    api_key_env=("OLLAMA_API_KEY",),  # Ollama Cloud: sent as a bearer token
    # json_schema arrives with structured output (issue 4).
    capabilities=Capabilities(completions=True, embeddings=True, vision=True, reasoning=True, n=False,
                              json_mode=True, json_schema=False),
    docs_url="https://github.com/ollama/ollama/blob/main/docs/api.md",
)

_HF_KEYS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_API_KEY")

HUGGINGFACE_SPEC = ProviderSpec(
    name="huggingface",
    title="Hugging Face Inference Providers",
    adapter="llmplex.providers.huggingface:HuggingFaceAdapter",
    base_url="https://router.huggingface.co/v1",
    api_key_env=_HF_KEYS,
    # The router's chat schema (huggingface_hub InferenceClient.chat_completion) has no n.
    options=("hf_provider",),
    capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True, reasoning=True,
                              n=False),
    docs_url="https://huggingface.co/docs/inference-providers",
)

HF_ENDPOINT_SPEC = ProviderSpec(
    name="hf_endpoint",
    title="Hugging Face Inference Endpoints / TGI",
    adapter="llmplex.providers.huggingface:HFEndpointAdapter",
    base_url="",  # the endpoint's URL: required
    api_key_env=_HF_KEYS,
    key_required=False,  # a local TGI server or a public endpoint takes no token
    capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True, reasoning=True,
                              n=False),
    docs_url="https://huggingface.co/docs/text-generation-inference",
)

NATIVE_PROVIDERS: tuple[ProviderSpec, ...] = (ANTHROPIC_SPEC, OLLAMA_SPEC, HUGGINGFACE_SPEC, HF_ENDPOINT_SPEC)
