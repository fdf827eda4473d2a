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


def test_every_price_names_a_dated_source() -> None:
    for provider, section in load()["providers"].items():
        for model in section.get("models") or {}:
            info = model_info(provider, model, overrides={})
            assert info is not None
            if info.prices is not None:
                assert info.prices.source.url.startswith("https://") and info.prices.source.checked


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
                               "models": {"m": {"context_window": -1, "prices": {"source": "nope", "input": -2},
                                                "capabilities": {"vision": "yes"}, "like": "q/x", "colour": 1}}}}}
    problems = validate(bad)
    for fragment in ("url is required", "checked must be a date", "context_window", "prices.source",
                     "prices.input", "capabilities.vision", "like: no entry", "unknown key 'colour'"):
        assert any(fragment in problem for problem in problems), fragment


def test_the_catalog_page_is_up_to_date() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "refresh_catalog.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
