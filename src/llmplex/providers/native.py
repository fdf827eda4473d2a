"""Rows of the providers that speak their own wire protocol (one adapter module each).

Kept apart from the adapters so that listing providers imports no adapter code.
"""

from __future__ import annotations

from .base import Capabilities, ProviderSpec

__all__ = ["ANTHROPIC_SPEC", "BEDROCK_SPEC", "NATIVE_PROVIDERS", "OLLAMA_SPEC"]

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

NATIVE_PROVIDERS: tuple[ProviderSpec, ...] = (ANTHROPIC_SPEC, OLLAMA_SPEC, BEDROCK_SPEC)
