"""Cost of one real exchange per provider usage shape in ../shared/corpus, parsed by the adapter as
the corpus tests do, against a figure computed by hand (the arithmetic is in each case's comment;
prices are USD per million tokens, so each sum of tokens x price is divided by 1,000,000).

Where the catalog has no official price for the provider, the case says so (``Unpriced``) and then
prices the same usage with prices given as an override, so every usage shape is still checked.
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
    """The adapter's usage for a recorded JSON exchange."""
    ex = corpus.load(name)
    adapter = REGISTRY.adapter(REGISTRY.resolve(f"{provider}/m"))
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
    # Gemini 2.5 Flash, test prices 0.30 / cached 0.03 / output 2.50: promptTokenCount 424 includes
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
