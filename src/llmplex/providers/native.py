"""Rows of the providers that speak their own wire protocol (one adapter module each).

Kept apart from the adapters so that listing providers imports no adapter code.
"""

from __future__ import annotations

from .base import Capabilities, ProviderSpec

__all__ = [
    "ANTHROPIC_SPEC", "BEDROCK_SPEC", "COHERE_SPEC", "GEMINI_SPEC", "HF_ENDPOINT_SPEC", "HUGGINGFACE_SPEC",
    "NATIVE_PROVIDERS", "OLLAMA_SPEC", "VERTEX_AI_SPEC",
]

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
    # anthropic_beta -> the anthropic-beta header; cache_control / cache_ttl -> prompt-cache
    # breakpoints (providers/_anthropic_options.py).
    options=("anthropic_beta", "cache_control", "cache_ttl"),
    option_env={"anthropic_beta": ("LLMPLEX_ANTHROPIC_BETA",),
                "cache_control": ("LLMPLEX_ANTHROPIC_CACHE_CONTROL",),
                "cache_ttl": ("LLMPLEX_ANTHROPIC_CACHE_TTL",)},
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
    capabilities=Capabilities(completions=True, embeddings=True, vision=True, image_urls=False, reasoning=True, n=False,
                              json_mode=True, json_schema=True),
    # keep_alive -> the body's keep_alive; options -> defaults under Ollama's "options" (request
    # parameters and extra_body["options"] win over them).
    options=("keep_alive", "options"),
    option_env={"keep_alive": ("LLMPLEX_OLLAMA_KEEP_ALIVE",)},
    docs_url="https://github.com/ollama/ollama/blob/main/docs/api.md",
)

COHERE_SPEC = ProviderSpec(
    name="cohere",
    title="Cohere",
    adapter="llmplex.providers.cohere:CohereAdapter",
    base_url="https://api.cohere.com",  # the adapter adds /v2/chat and /v2/embed
    api_key_env=("CO_API_KEY", "COHERE_API_KEY"),
    base_url_env=("CO_API_URL",),
    option_headers={"client_name": "x-client-name"},
    options=("client_name", "embedding_input_type"),
    option_env={"embedding_input_type": ("LLMPLEX_COHERE_EMBEDDING_INPUT_TYPE",)},
    # OpenAI parameters the v2 Chat API has no field for (native knobs go through extra_body).
    unsupported_params=frozenset({
        "logprobs", "top_logprobs", "logit_bias", "user", "store", "metadata", "modalities", "audio",
        "prediction", "service_tier", "functions", "function_call", "web_search_options", "verbosity",
        "prompt_cache_key", "safety_identifier",
    }),
    accepts_reasoning_content=True,  # thinking goes back as a "thinking" content part
    capabilities=Capabilities(embeddings=True, vision=True, image_urls=True, reasoning=True, n=False,
                              json_mode=True, json_schema=True),
    docs_url="https://docs.cohere.com/reference/chat",
)


_GEMINI_OPTIONS = ("safety_settings", "thinking_budget", "include_thoughts", "thinking_level", "embedding_task_type")
# http(s) image URLs are downloaded by the client: Gemini takes bytes (inlineData) or gs:// / Files
# API URIs only. json_schema -> responseSchema (OpenAPI subset) or responseJsonSchema.
_GEMINI_CAPABILITIES = Capabilities(embeddings=True, vision=True, image_urls=False, reasoning=True,
                                    json_mode=True, json_schema=True, n=True)

GEMINI_SPEC = ProviderSpec(
    name="gemini",
    title="Google Gemini",
    adapter="llmplex.providers.gemini:GeminiAdapter",
    base_url="https://generativelanguage.googleapis.com/v1beta",
    api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    auth_header="x-goog-api-key",  # never ?key= in the URL (RELIABILITY §5)
    options=_GEMINI_OPTIONS,
    capabilities=_GEMINI_CAPABILITIES,
    docs_url="https://ai.google.dev/api/generate-content",
)

VERTEX_AI_SPEC = ProviderSpec(
    name="vertex_ai",
    title="Google Vertex AI",
    adapter="llmplex.providers.gemini:GeminiAdapter",
    base_url="https://{location}-aiplatform.googleapis.com/v1",
    api_key_env=("VERTEX_AI_ACCESS_TOKEN",),  # a static OAuth token; else google-auth ADC
    key_required=False,
    options=("project", "location", *_GEMINI_OPTIONS),
    option_env={"project": ("GOOGLE_CLOUD_PROJECT", "VERTEXAI_PROJECT"),
                "location": ("GOOGLE_CLOUD_LOCATION", "VERTEXAI_LOCATION")},
    capabilities=_GEMINI_CAPABILITIES,
    docs_url="https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest",
)


BEDROCK_SPEC = ProviderSpec(
    name="bedrock",
    title="AWS Bedrock",
    adapter="llmplex.providers.bedrock:BedrockAdapter",
    base_url="https://bedrock-runtime.{region}.amazonaws.com",  # {region} filled by the adapter
    # A Bedrock API key (bearer token). Without one the adapter signs with SigV4: key pair options
    # below, else the shared profile files (see providers/_aws_credentials.py).
    api_key_env=("AWS_BEARER_TOKEN_BEDROCK",),
    key_required=False,
    options=("region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_profile",
             "aws_shared_credentials_file", "aws_config_file"),
    option_env={
        "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
        "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
        "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
        "aws_session_token": ("AWS_SESSION_TOKEN",),
        "aws_profile": ("AWS_PROFILE",),
        "aws_shared_credentials_file": ("AWS_SHARED_CREDENTIALS_FILE",),
        "aws_config_file": ("AWS_CONFIG_FILE",),
    },
    # The client downloads image URLs: Converse takes image bytes only.
    capabilities=Capabilities(embeddings=True, vision=True, image_urls=False, reasoning=True, n=False,
                              json_mode=False, json_schema=True),
    docs_url="https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html",
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

NATIVE_PROVIDERS: tuple[ProviderSpec, ...] = (
    ANTHROPIC_SPEC, OLLAMA_SPEC, COHERE_SPEC, GEMINI_SPEC, VERTEX_AI_SPEC, BEDROCK_SPEC, HUGGINGFACE_SPEC,
    HF_ENDPOINT_SPEC,
)
