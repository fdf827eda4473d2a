"""The catalog data, lookups, overrides from configuration, and the pricing rules (pure)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import llmplex
from llmplex.catalog import Cost, Unpriced, model_info, model_limits, price
from llmplex.catalog._data import load, validate, validate_overrides
from llmplex.errors import ConfigurationError


def test_the_shipped_catalog_is_valid() -> None:
    assert validate(load()) == []


@pytest.mark.parametrize(("provider", "model", "key"), [
    ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("anthropic", "claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("anthropic", "claude-opus-4-0", "claude-opus-4"),
    ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
    ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # a snapshot with its own price wins
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet"),
    ("bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku"),
    ("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5"),
    ("azure", "gpt-4o-mini", "gpt-4o-mini"),
])
def test_aliases_and_snapshots_resolve(provider: str, model: str, key: str) -> None:
    info = model_info(provider, model, overrides={})
    assert info is not None and info.model == key


def test_borrowed_entries_keep_limits_but_not_prices() -> None:
    bedrock = model_info("bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0", overrides={})
    azure = model_info("azure", "gpt-4o", overrides={})
    assert bedrock is not None and bedrock.max_output_tokens == 8192 and bedrock.prices is None
    assert azure is not None and azure.context_window == 128000 and azure.prices is None


def test_model_limits_and_unknown_models() -> None:
    assert model_limits("anthropic", "claude-3-haiku-20240307") == llmplex.catalog.ModelLimits(200000, 4096)
    assert model_limits("anthropic", "claude-sonnet-4-6") is None  # priced, limits not in the catalog
    assert model_info("openai", "no-such-model", overrides={}) is None


def test_every_price_and_limit_names_a_dated_source() -> None:
    for provider, section in load()["providers"].items():
        for model in section.get("models") or {}:
            info = model_info(provider, model, overrides={})
            assert info is not None
            for source in (info.prices.source if info.prices else None, info.limits_source):
                if source is not None:
                    assert source.url.startswith("https://") and source.checked, (provider, model)
            if info.context_window is not None and not section["models"][model].get("like"):
                assert info.limits_source is not None, (provider, model)


def test_every_registered_provider_has_a_section() -> None:
    from llmplex.registry import Registry

    providers = load()["providers"]
    for name in Registry().names:
        section = providers.get(name)
        assert section, f"{name} has no section in models.json"
        # a provider without entries says why (prices unknown, local, or borrowed from another)
        assert section.get("models") or section.get("note") or section.get("models_like"), name


# ids used in docs/ (provider/model) that the catalog must resolve, with the catalog key they reach
DOCS_IDS = [
    ("gemini", "gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini", "models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini", "gemini-embedding-001", "gemini-embedding-001"),
    ("vertex_ai", "gemini-2.5-flash", "gemini-2.5-flash"),
    ("vertex_ai", "gemini-embedding-001", "gemini-embedding-001"),
    ("groq", "openai/gpt-oss-120b", "openai/gpt-oss-120b"),
    ("xai", "grok-4", "grok-4"),
    ("xai", "grok-3", "grok-3"),
    ("xai", "grok-3-mini", "grok-3-mini"),
    ("xai", "grok-2-vision-1212", "grok-2-vision-1212"),
    ("perplexity", "sonar", "sonar"),
    ("perplexity", "sonar-pro", "sonar-pro"),
    ("perplexity", "sonar-reasoning-pro", "sonar-reasoning-pro"),
    ("perplexity", "sonar-deep-research", "sonar-deep-research"),
    ("fireworks", "gpt-oss-120b", "accounts/fireworks/models/gpt-oss-120b"),
    ("cohere", "command-a-03-2025", "command-a-03-2025"),
    ("cohere", "command-a-reasoning-08-2025", "command-a-reasoning-08-2025"),
    ("cohere", "embed-v4.0", "embed-v4.0"),
    ("mistral", "mistral-small-latest", "mistral-small-2506"),
    ("mistral", "codestral-latest", "codestral-2508"),
    ("mistral", "mistral-embed", "mistral-embed"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("together", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1"),
    ("cerebras", "qwen-3-32b", "qwen-3-32b"),
]


@pytest.mark.parametrize(("provider", "model", "key"), DOCS_IDS, ids=[f"{p}/{m}" for p, m, _ in DOCS_IDS])
def test_ids_the_docs_use_resolve(provider: str, model: str, key: str) -> None:
    info = model_info(provider, model, overrides={})
    assert info is not None and info.model == key
    assert f"{provider}/{model}" in _docs_text() or provider == "fireworks"


# limits and capabilities of the providers the catalog has no prices for, from their own docs:
# (provider, model as the docs write it, context window, max output or None, capability that must hold)
UNPRICED_LIMITS = [
    ("cohere", "command-a-reasoning-08-2025", 256000, 32000, "reasoning"),
    ("cohere", "embed-v4.0", 128000, None, "embeddings"),
    ("mistral", "mistral-small-latest", 128000, None, "vision"),
    ("mistral", "mistral-embed", 8000, None, "embeddings"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 131072, None, None),
]


def test_command_a_is_priced_from_its_model_card() -> None:
    # Cohere's Command A card: 2.50 / 10.00 USD per million input / output tokens; 256,000 / 8,000 tokens.
    info = model_info("cohere", "command-a-03-2025", overrides={})
    assert info is not None and (info.context_window, info.max_output_tokens) == (256000, 8000)
    assert info.prices is not None and info.prices.source is not None
    assert info.prices.source.url == "https://docs.cohere.com/docs/command-a"
    usage = {"prompt_tokens": 1000, "completion_tokens": 200}  # 1000 x 2.50 + 200 x 10.00 = 4,500 per million
    cost = llmplex.catalog.cost_of("cohere", "command-a-03-2025", usage)
    assert cost is not None and str(cost.total) == "0.0045"


@pytest.mark.parametrize(("provider", "model", "window", "output", "capability"), UNPRICED_LIMITS,
                         ids=[f"{p}/{m}" for p, m, *_ in UNPRICED_LIMITS])
def test_unpriced_providers_know_their_documented_limits(
    provider: str, model: str, window: int, output: int | None, capability: str | None
) -> None:
    info = model_info(provider, model, overrides={})
    assert info is not None and info.prices is None and llmplex.catalog.cost_of(provider, model, WRITE) is None
    assert (info.context_window, info.max_output_tokens) == (window, output)
    assert info.limits_source is not None and info.limits_source.checked
    host = {"cohere": "docs.cohere.com", "mistral": "docs.mistral.ai", "together": "docs.together.ai"}[provider]
    assert info.limits_source.url.startswith(f"https://{host}/")
    assert capability is None or getattr(info.capabilities, capability) is True
    assert f"{provider}/{model}" in _docs_text()


@pytest.mark.parametrize(("provider", "model"), [
    ("mistral", "mistral-large-latest"),  # moved between models in the official copy: not guessed
    ("mistral", "magistral-medium-latest"),  # the official pages disagree on its version
    ("deepinfra", "meta-llama/Meta-Llama-3.1-8B-Instruct"),  # no official figure stored
    ("together", "deepseek-ai/DeepSeek-V3"),  # the copy's 16,384 is a stale serving limit
])
def test_ids_without_an_official_figure_stay_unknown(provider: str, model: str) -> None:
    assert model_info(provider, model, overrides={}) is None


def test_a_tier_dependent_window_is_not_catalogued() -> None:
    # Cerebras sets the window per account tier: capabilities only, so no context check applies
    info = model_info("cerebras", "qwen-3-32b", overrides={})
    assert info is not None and info.context_window is None and info.capabilities.tools is True
    assert model_info("cerebras", "llama3.1-8b", overrides={}) is None


def _docs_text() -> str:
    docs = Path(__file__).resolve().parents[2] / "docs"
    return "\n".join(page.read_text(encoding="utf-8") for page in docs.rglob("*.md"))


def test_vertex_borrows_gemini_limits_but_not_its_prices() -> None:
    gemini = model_info("gemini", "gemini-2.0-flash-001", overrides={})
    vertex = model_info("vertex_ai", "gemini-2.0-flash", overrides={})
    assert gemini is not None and gemini.model == "gemini-2.0-flash" and gemini.context_window == 1048576
    assert vertex is not None and vertex.max_output_tokens == 8192 and vertex.prices is None
    assert model_info("vertex_ai", "gemini-3.5-flash", overrides={}) is not None
    assert model_info("vertex_ai", "gemini-3.5-flash", overrides={}).prices is None  # type: ignore[union-attr]


def test_embedding_models_have_dimensions() -> None:
    info = model_info("openai", "text-embedding-3-small", overrides={})
    assert info is not None and info.capabilities.embeddings and info.capabilities.dimensions == 1536


# -- pricing rules ---------------------------------------------------------------------------------

SONNET = "claude-sonnet-4-5"
WRITE = {"prompt_tokens": 1_000_010, "completion_tokens": 0,
         "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 1_000_000}}


def test_cache_writes_at_the_5m_and_1h_rates() -> None:
    five = price("anthropic", SONNET, WRITE, overrides={})
    hour = price("anthropic", SONNET, WRITE, overrides={}, cache_ttl="1h")
    # 10 fresh x 3 + 1,000,000 written x 3.75 (5m) or x 6 (1h), per million
    assert isinstance(five, Cost) and five.total == Decimal("3.75003")
    assert isinstance(hour, Cost) and hour.total == Decimal("6.00003")


def test_a_missing_price_is_unpriced_not_guessed() -> None:
    result = price("openai", "gpt-4.1", WRITE, overrides={})  # OpenAI has no cache-write price
    assert isinstance(result, Unpriced) and "cache_write" in result.reason
    assert llmplex.catalog.cost_of("openai", "gpt-4.1", WRITE, overrides={}) is None


def test_a_long_prompt_over_the_priced_tier_is_unpriced() -> None:
    usage = {"prompt_tokens": 128_001, "completion_tokens": 1}
    result = price("openrouter", "x-ai/grok-4", usage, overrides={})
    assert isinstance(result, Unpriced) and "long-context" in result.reason
    # Gemini 3.1 Pro: 2.00 / 12.00 up to 200k prompt tokens; above that Google's higher tier is not in the catalog
    at_limit = price("gemini", "gemini-3.1-pro-preview", {"prompt_tokens": 200_000, "completion_tokens": 1000},
                     overrides={})
    # 200,000 x 2.00 + 1,000 x 12.00 = 400,000 + 12,000 = 412,000 per million -> $0.412
    assert isinstance(at_limit, Cost) and at_limit.total == Decimal("0.412")
    over = price("gemini", "gemini-3.1-pro-preview", {"prompt_tokens": 200_001, "completion_tokens": 1},
                 overrides={})
    assert isinstance(over, Unpriced) and "200000" in over.reason


def test_a_partly_known_price_list_prices_only_what_it_covers() -> None:
    # Gemini 2.5 Flash: the source gave its input price only
    info = model_info("gemini", "gemini-2.5-flash", overrides={})
    assert info is not None and info.prices is not None
    assert info.prices.input == Decimal("0.3") and info.prices.output is None
    result = price("gemini", "gemini-2.5-flash", {"prompt_tokens": 10, "completion_tokens": 5}, overrides={})
    assert isinstance(result, Unpriced) and "no output price" in result.reason
    assert llmplex.catalog.model_price("gemini", "gemini-2.5-flash") is None


def test_fees_the_catalog_cannot_price_make_a_call_unpriced() -> None:
    info = model_info("perplexity", "sonar-pro", overrides={})
    assert info is not None and info.prices is not None and info.prices.input == Decimal("3")
    assert info.prices.unpriced_fees == "a per-request fee that depends on search_context_size"
    result = price("perplexity", "sonar-pro", {"prompt_tokens": 10, "completion_tokens": 5}, overrides={})
    assert isinstance(result, Unpriced) and "per-request fee" in result.reason
    # the same entry with the fee dropped in configuration is priced: 10 x 3 + 5 x 15 = 105 -> $0.000105
    own = {"perplexity": {"sonar-pro": {"prices": {"unpriced_fees": None}}}}
    priced = price("perplexity", "sonar-pro", {"prompt_tokens": 10, "completion_tokens": 5}, overrides=own)
    assert isinstance(priced, Cost) and priced.total == Decimal("0.000105")


def test_reasoning_with_a_price_of_its_own() -> None:
    overrides = {"acme": {"thinker": {"prices": {"input": 1, "output": 2, "reasoning": 3}}}}
    usage = {"prompt_tokens": 10, "completion_tokens": 100, "completion_tokens_details": {"reasoning_tokens": 40}}
    result = price("acme", "thinker", usage, overrides=overrides)
    # 10 x 1 + 60 x 2 + 40 x 3 = 250, per million
    assert isinstance(result, Cost) and result.total == Decimal("0.00025")
    assert [item.kind for item in result.items] == ["input", "output", "reasoning"]


def test_inconsistent_usage_is_unpriced() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}
    assert isinstance(price("openai", "gpt-4o", usage, overrides={}), Unpriced)


# -- overrides from configuration --------------------------------------------------------------------

CUSTOM = {"openai": {"ft:gpt-4o-mini:acme": {"context_window": 128000, "max_output_tokens": 16384,
                                             "prices": {"input": 0.3, "output": 1.2,
                                                        "source": {"url": "https://example.com/contract",
                                                                   "checked": "2026-11-01"}}}}}


def test_runtime_overrides_through_llmplex_config() -> None:
    llmplex.config.update({"catalog": CUSTOM})
    try:
        info = model_info("openai", "ft:gpt-4o-mini:acme")
        assert info is not None and info.prices is not None
        assert info.prices.input == Decimal("0.3") and info.prices.source.url == "https://example.com/contract"
    finally:
        llmplex.config.unset("catalog")
    assert model_info("openai", "ft:gpt-4o-mini:acme") is None


def test_an_override_updates_a_shipped_entry_key_by_key() -> None:
    info = model_info("openai", "gpt-4o", overrides={"openai": {"gpt-4o": {"prices": {"input": 2}}}})
    assert info is not None and info.prices is not None
    assert info.prices.input == Decimal("2") and info.prices.output == Decimal("10") and info.context_window == 128000


def test_yaml_and_client_layers(tmp_path: Path) -> None:
    config_file = tmp_path / "llmplex.yaml"
    config_file.write_text(
        "catalog:\n  groq:\n    llama-3.3-70b-versatile:\n      prices: {input: 0.5, output: 0.7}\n"
        "    other: {context_window: 1000}\n", encoding="utf-8")
    client = llmplex.Client(config_file=config_file, env={},
                            catalog={"groq": {"llama-3.3-70b-versatile": {"prices": {"input": 0.59, "output": 0.79}}}})
    overrides = client.catalog_overrides()
    info = model_info("groq", "llama-3.3-70b-versatile", overrides=overrides)
    assert info is not None and info.prices is not None and info.prices.input == Decimal("0.59")
    assert model_limits("groq", "other", overrides=overrides) is None
    assert model_info("groq", "other", overrides=overrides) is not None


def test_a_malformed_catalog_section_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="catalog.openai.gpt-4o.prices.input"):
        llmplex.Client(env={}, catalog={"openai": {"gpt-4o": {"prices": {"input": "cheap"}}}})
    assert validate_overrides([], "x") == ["x: 'catalog' must be a mapping of provider -> model -> entry"]


def test_validation_reports_problems() -> None:
    bad = {"providers": {"p": {"sources": {"s": {"url": "", "checked": "yesterday"}},
                               "models": {"m": {"context_window": -1, "prices": {"source": "nope", "input": -2,
                                                                                  "unpriced_fees": 3},
                                                "capabilities": {"vision": "yes"}, "like": "q/x", "colour": 1}}}}}
    problems = validate(bad)
    for fragment in ("url is required", "checked must be a date", "context_window", "prices.source",
                     "prices.input", "prices.unpriced_fees", "capabilities.vision", "like: no entry",
                     "unknown key 'colour'"):
        assert any(fragment in problem for problem in problems), fragment


def test_the_catalog_page_is_up_to_date() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "refresh_catalog.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
