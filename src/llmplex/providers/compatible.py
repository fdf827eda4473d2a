"""The OpenAI-compatible family: one declarative row per provider, all served by ``OpenAIAdapter``.

Facts come from each provider's API reference (URLs in ``docs_url``). ``unsupported_params``
lists what the provider documents as rejected; llmplex raises ``UnsupportedParameterError`` for
them before sending, unless the call passes ``drop_unsupported=True``.
"""

from __future__ import annotations

from .base import Capabilities, ProviderSpec

__all__ = ["COMPATIBLE_PROVIDERS"]

_OPENAI_ADAPTER = "llmplex.providers.openai:OpenAIAdapter"

COMPATIBLE_PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        name="openai",
        title="OpenAI",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.openai.com/v1",
        api_key_env=("OPENAI_API_KEY",),
        base_url_env=("OPENAI_BASE_URL",),
        option_headers={"organization": "openai-organization", "project": "openai-project"},
        options=("organization", "project"),
        option_env={"organization": ("OPENAI_ORG_ID",), "project": ("OPENAI_PROJECT_ID",)},
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        embedding_encoding="base64",
        docs_url="https://platform.openai.com/docs/api-reference/chat",
    ),
    ProviderSpec(
        name="azure",
        title="Azure OpenAI",
        adapter="llmplex.providers.azure:AzureOpenAIAdapter",
        base_url="",
        api_key_env=("AZURE_OPENAI_API_KEY",),
        base_url_env=("AZURE_OPENAI_ENDPOINT",),
        auth_header="api-key",
        options=("api_version", "azure_ad_token"),
        option_env={"api_version": ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"),
                    "azure_ad_token": ("AZURE_OPENAI_AD_TOKEN",)},
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        embedding_encoding="base64",
        docs_url="https://learn.microsoft.com/azure/ai-services/openai/reference",
    ),
    ProviderSpec(
        name="together",
        title="Together AI",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.together.ai/v1",
        api_key_env=("TOGETHER_API_KEY",),
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        docs_url="https://docs.together.ai/docs/openai-api-compatibility",
    ),
    ProviderSpec(
        name="groq",
        title="Groq",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.groq.com/openai/v1",
        api_key_env=("GROQ_API_KEY",),
        # https://console.groq.com/docs/openai: "not supported … logprobs, logit_bias, top_logprobs,
        # messages[].name"; n must be 1.
        unsupported_params=frozenset({"logprobs", "logit_bias", "top_logprobs"}),
        capabilities=Capabilities(vision=True, json_schema=True, reasoning=True, n=False),
        docs_url="https://console.groq.com/docs/openai",
    ),
    ProviderSpec(
        name="openrouter",
        title="OpenRouter",
        adapter=_OPENAI_ADAPTER,
        base_url="https://openrouter.ai/api/v1",
        api_key_env=("OPENROUTER_API_KEY",),
        # https://openrouter.ai/docs/app-attribution: the app's URL and display name.
        option_headers={"app_url": "http-referer", "app_name": "x-title"},
        options=("app_url", "app_name"),
        capabilities=Capabilities(completions=True, vision=True, json_schema=True, reasoning=True),
        docs_url="https://openrouter.ai/docs/api-reference/overview",
    ),
    ProviderSpec(
        name="mistral",
        title="Mistral AI",
        adapter="llmplex.providers.mistral:MistralAdapter",
        base_url="https://api.mistral.ai/v1",
        api_key_env=("MISTRAL_API_KEY",),
        # Mistral validates strictly (422 extra_forbidden) and names the seed random_seed.
        unsupported_params=frozenset({"logit_bias", "logprobs", "top_logprobs", "store", "user",
                                      "metadata", "service_tier", "modalities", "audio"}),
        renamed_params={"seed": "random_seed", "max_completion_tokens": "max_tokens"},
        # Body fields of Mistral's chat API: safe_prompt (bool), prompt_mode ("reasoning").
        options=("safe_prompt", "prompt_mode"),
        capabilities=Capabilities(embeddings=True, vision=True, json_schema=True, reasoning=True),
        auto_stream_usage=False,  # Mistral always streams usage in its last chunk
        docs_url="https://docs.mistral.ai/api/#tag/chat",
    ),
    ProviderSpec(
        name="perplexity",
        title="Perplexity",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.perplexity.ai",
        api_key_env=("PERPLEXITY_API_KEY", "PPLX_API_KEY"),
        unsupported_params=frozenset({"logit_bias", "logprobs", "top_logprobs", "tools", "tool_choice",
                                      "parallel_tool_calls"}),
        capabilities=Capabilities(tools=False, json_schema=True, reasoning=True, n=False),
        docs_url="https://docs.perplexity.ai/api-reference/chat-completions-post",
    ),
    ProviderSpec(
        name="fireworks",
        title="Fireworks AI",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.fireworks.ai/inference/v1",
        api_key_env=("FIREWORKS_API_KEY",),
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        docs_url="https://docs.fireworks.ai/tools-sdks/openai-compatibility",
    ),
    ProviderSpec(
        name="deepseek",
        title="DeepSeek",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.deepseek.com/v1",
        api_key_env=("DEEPSEEK_API_KEY",),
        # https://api-docs.deepseek.com/guides/thinking_mode: in thinking mode with tool calls the
        # reasoning_content of earlier turns must be sent back, so history keeps it.
        unsupported_params=frozenset({"logit_bias"}),
        accepts_reasoning_content=True,
        capabilities=Capabilities(reasoning=True, n=False),
        docs_url="https://api-docs.deepseek.com/api/create-chat-completion",
    ),
    ProviderSpec(
        name="xai",
        title="xAI",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.x.ai/v1",
        api_key_env=("XAI_API_KEY",),
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        docs_url="https://docs.x.ai/docs/api-reference",
    ),
    ProviderSpec(
        name="cerebras",
        title="Cerebras",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.cerebras.ai/v1",
        api_key_env=("CEREBRAS_API_KEY",),
        unsupported_params=frozenset({"frequency_penalty", "presence_penalty", "logit_bias",
                                      "parallel_tool_calls", "service_tier"}),
        capabilities=Capabilities(completions=True, json_schema=True, reasoning=True),
        docs_url="https://inference-docs.cerebras.ai/resources/openai",
    ),
    ProviderSpec(
        name="deepinfra",
        title="DeepInfra",
        adapter=_OPENAI_ADAPTER,
        base_url="https://api.deepinfra.com/v1/openai",
        api_key_env=("DEEPINFRA_API_KEY", "DEEPINFRA_TOKEN"),
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        docs_url="https://deepinfra.com/docs/advanced/openai_api",
    ),
    ProviderSpec(
        name="openai_compatible",
        title="Any OpenAI-compatible server (vLLM, LM Studio, llama.cpp …)",
        adapter=_OPENAI_ADAPTER,
        base_url="http://localhost:8000/v1",
        api_key_env=("OPENAI_COMPATIBLE_API_KEY",),
        base_url_env=("OPENAI_COMPATIBLE_BASE_URL",),
        key_required=False,
        capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True,
                                  reasoning=True),
        docs_url="https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
    ),
)
