"""Cost of one real exchange per provider usage shape in ../shared/corpus, parsed by the adapter as
the corpus tests do, against a figure computed by hand (the arithmetic is in each case's comment;
prices are USD per million tokens, so each sum of tokens x price is divided by 1,000,000).

Cases price with the catalog's own (official) prices where it has them. Where it has none for the
model, the case says so (``Unpriced``) and then prices the same usage with prices given as an
override, so every usage shape is still checked. Providers without recorded exchanges in the corpus
(xAI, Fireworks, DeepInfra) have no case here; their pricing rules are those of OpenAI's shape.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from llmplex._http import HttpResponse
from llmplex._requests import ChatRequest
from llmplex.catalog import Cost, Unpriced, price
from llmplex.registry import Registry
from tests.providers import corpus

REGISTRY = Registry()


def usage_of(provider: str, name: str) -> Any:
    """The adapter's usage for a recorded exchange: a JSON body, or an event stream fed through the
    real stream pipeline (the usage of its final completion)."""
    ex = corpus.load(name)
    adapter = REGISTRY.adapter(REGISTRY.resolve(f"{provider}/m"))
    if ex.kind == "sse":
        decoder = adapter.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
        completion, _ = corpus.stream_chat(decoder, ex.sse_bytes(), None, provider)
    else:
        completion = adapter.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
    assert completion.usage is not None
    return completion.usage


# (provider, model, corpus file, overrides or None, expected total USD)
CASES: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    # gpt-4o-2024-08-06 -> gpt-4o: 241 prompt (0 cached) x 2.50 + 12 completion x 10.00
    # = 602.5 + 120 = 722.5 -> $0.0007225
    ("openai", "gpt-4o-2024-08-06", "openai-chat/openai__mirascope__openai_gpt_4o_completions__0__f0c5e1.json",
     None, "0.0007225"),
    # claude-3-5-haiku: 3 fresh x 0.80 + 2091 cache read x 0.08 + 95 output x 4.00
    # = 2.4 + 167.28 + 380 = 549.68 -> $0.00054968
    ("anthropic", "claude-3-5-haiku-20241022",
     "anthropic-messages/anthropic__crewAI__TestAgentMultimodalAnthropic.test_mixed_files-anthropic-claude-3-5-"
     "haiku-20241022__1__392f81.json", None, "0.00054968"),
    # claude-3-5-haiku: 3 fresh x 0.80 + 2262 cache write (5m) x 1.00 + 84 output x 4.00
    # = 2.4 + 2262 + 336 = 2600.4 -> $0.0026004
    ("anthropic", "claude-3-5-haiku-20241022",
     "anthropic-messages/anthropic__crewAI__TestCrewMultimodalAnthropic.test_mixed_files-anthropic-claude-3-5-"
     "haiku-20241022__0__e0c089.json", None, "0.0026004"),
    # deepseek-reasoner: 12 prompt (cache miss) x 0.55 + 789 completion (415 of them reasoning, billed
    # as output) x 2.19 = 6.6 + 1727.91 = 1734.51 -> $0.00173451
    ("deepseek", "deepseek-reasoner",
     "openai-chat/deepseek__pydantic-ai__test_deepseek_model_thinking_part__0__9357aa.json", None, "0.00173451"),
    # local Ollama: no per-token charge -> $0
    ("ollama", "llama3.2", "ollama/ollama__openinference__test_chat__0__61bb21.json", None, "0"),
    # OpenRouter reports its own charge in the body: cost 0.00256995 (prompt part 0.00106995). With
    # Anthropic's Sonnet 4.6 prices: 2649 prompt - 2569 cached - 79 cache_write_tokens = 1 fresh x 3
    # + 2569 x 0.30 + 79 x 3.75 + 100 output x 15 = 3 + 770.7 + 296.25 + 1500 = 2569.95 -> $0.00256995
    ("openrouter", "anthropic/claude-4.6-sonnet-20260217",
     "openai-chat/openrouter__pydantic-ai__test_openrouter_cache_all_settings_real_api__1__2e70c8.json",
     {"openrouter": {"anthropic/claude-4.6-sonnet": {"prices": {
         "input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}}}}, "0.00256995"),
    # Bedrock (us.anthropic.claude-sonnet-4-6), test prices 3 / 15: 914 input x 3 + 169 output x 15
    # = 2742 + 2535 = 5277 -> $0.005277
    ("bedrock", "us.anthropic.claude-sonnet-4-6",
     "bedrock-converse/aws-bedrock__crewAI__TestBedrockNativeToolCalling.test_bedrock_parallel_native_tool_"
     "calling_test_agent_kickoff__0__e267d5.json",
     {"bedrock": {"anthropic.claude-sonnet-4-6": {"prices": {"input": 3, "output": 15}}}}, "0.005277"),
    # Gemini 3.5 Flash (stream), the catalog's 1.50 / 9.00: promptTokenCount 71; completion =
    # 33 candidates + 93 thoughts = 126, all at the output price
    # = 71 x 1.50 + 126 x 9.00 = 106.5 + 1134 = 1240.5 -> $0.0012405
    ("gemini", "gemini-3.5-flash",
     "gemini-generatecontent/google-gemini-api__openinference__test_streaming_reasoning_with_multiple_tool_calls__0__"
     "add5cf.json", None, "0.0012405"),
    # Gemini 2.5 Flash: the catalog has its input price (0.30) only, not the cached or output ones, so
    # test prices 0.30 / cached 0.03 / output 2.50: promptTokenCount 424 includes
    # 287 cached -> 137 fresh x 0.30 + 287 x 0.03; completion = 70 candidates + 287 thoughts = 357 x 2.50
    # = 41.1 + 8.61 + 892.5 = 942.21 -> $0.00094221
    ("gemini", "gemini-2.5-flash",
     "gemini-generatecontent/google-gemini-api__crewAI__TestAgentMultimodalGemini.test_mixed_files-gemini-gemini-"
     "2.5-flash__1__a40227.json",
     {"gemini": {"gemini-2.5-flash": {"prices": {"input": 0.3, "cache_read": 0.03, "output": 2.5}}}}, "0.00094221"),
    # Cohere, test prices 2.50 / 10: the billed units (7 in, 88 out), not the processed tokens (69 / 89)
    # = 17.5 + 880 = 897.5 -> $0.0008975
    ("cohere", "command-r-plus", "cohere-chat/cohere__openllmetry__test_cohere_v2_chat_legacy__0__0e7016.json",
     {"cohere": {"command-r-plus": {"prices": {"input": 2.5, "output": 10}}}}, "0.0008975"),
    # Mistral, test prices 2 / cached 0.20 / 6: 20 prompt incl. 10 cached -> 10 x 2 + 10 x 0.2 + 18 x 6
    # = 20 + 2 + 108 = 130 -> $0.00013
    ("mistral", "mistral-small-latest",
     "mistral-native/mistral__openllmetry__test_mistralai_chat_with_cache_tokens__0__cf4759.json",
     {"mistral": {"mistral-small": {"prices": {"input": 2, "cache_read": 0.2, "output": 6}}}}, "0.00013"),
    # Groq openai/gpt-oss-120b (stream, usage in the last chunk), the catalog's 0.15 / 0.60: 304 prompt
    # + 49 completion (23 of them reasoning, billed as output) = 45.6 + 29.4 = 75 -> $0.000075
    ("groq", "openai/gpt-oss-120b",
     "openai-chat/groq__pydantic-ai__test_tool_use_failed_error_streaming__1__e681c0.json", None, "0.000075"),
    # Cerebras gpt-oss-120b (no official price in the catalog), test prices 0.25 / 0.70: 98 prompt
    # (0 cached) + 47 completion (27 reasoning, billed as output) = 24.5 + 32.9 = 57.4 -> $0.0000574
    ("cerebras", "gpt-oss-120b",
     "openai-chat/cerebras__pydantic-ai__test_cerebras_thinking_part_survives_multiturn__1__c74d43.json",
     {"cerebras": {"gpt-oss-120b": {"prices": {"input": 0.25, "output": 0.7}}}}, "0.0000574"),
    # Together (top-level "cached_tokens": 0 in its usage), test prices 0.88 / 0.88: 198 prompt + 24
    # completion = 174.24 + 21.12 = 195.36 -> $0.00019536
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
     "openai-chat/together__openinference__test_chat_with_tool_call__0__4686c6.json",
     {"together": {"meta-llama/Llama-3.3-70B-Instruct-Turbo": {"prices": {"input": 0.88, "output": 0.88}}}},
     "0.00019536"),
]


@pytest.mark.parametrize(("provider", "model", "name", "overrides", "expected"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_cost_of_a_recorded_exchange(
    provider: str, model: str, name: str, overrides: dict[str, Any] | None, expected: str
) -> None:
    usage = usage_of(provider, name)
    if overrides is not None:
        unpriced = price(provider, model, usage, overrides={})
        assert isinstance(unpriced, Unpriced) and provider in unpriced.reason  # the catalog never guesses
    result = price(provider, model, usage, overrides=overrides or {})
    assert isinstance(result, Cost), result
    assert result.total == Decimal(expected)
    assert sum(item.usd for item in result.items) == result.total


def test_the_hugging_face_router_is_unpriced_with_a_reason() -> None:
    usage = usage_of("huggingface",
                     "huggingface/huggingface-nebius__pydantic-ai__test_image_as_binary_content_input__0__41d228.json")
    result = price("huggingface", "Qwen/Qwen2.5-VL-72B-Instruct", usage, overrides={})
    assert isinstance(result, Unpriced) and "does not know" in result.reason


PERPLEXITY = "openai-chat/perplexity__langchaingo__TestTool_Integration__0__bc7756.json"


def test_perplexity_sonar_is_unpriced_for_its_request_fee() -> None:
    usage = usage_of("perplexity", PERPLEXITY)
    retired = price("perplexity", "llama-3.1-sonar-small-128k-online", usage, overrides={})
    assert isinstance(retired, Unpriced) and "does not know" in retired.reason
    # sonar's token prices are known (1 / 1), but every request also pays a search fee the catalog lacks
    sonar = price("perplexity", "sonar", usage, overrides={})
    assert isinstance(sonar, Unpriced) and "search_context_size" in sonar.reason
