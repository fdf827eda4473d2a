"""Model facts as data, shipped in the package (never fetched at run time): limits, prices with
their sources, capabilities; the cost of a call; token counts before one.

``provider_for_model("gpt-4o")`` -> ``"openai"``: prefixes are matched longest first; a name no
prefix matches returns ``None`` and the caller falls back to the default provider.
:func:`model_info` / :func:`model_limits` look a model up (``models.json`` is read on first use),
:func:`cost_of` / :func:`price` price a usage, :func:`count_tokens` counts a prompt.

Configured entries (``catalog:`` in llmplex.yaml, ``llmplex.config.update({"catalog": ...})``,
``Client(catalog=...)``) are laid over the shipped ones; see docs/cost.md.
"""

from __future__ import annotations

from .cost import Cost, CostItem, Unpriced, cost_of, price
from .info import Capabilities, ModelInfo, ModelLimits, Prices, Source, model_info, model_limits
from .tokens import TokenCount, count_tokens

__all__ = [
    "BARE_NAME_PREFIXES",
    "Capabilities",
    "Cost",
    "CostItem",
    "ModelInfo",
    "ModelLimits",
    "Prices",
    "Source",
    "TokenCount",
    "Unpriced",
    "cost_of",
    "count_tokens",
    "model_info",
    "model_limits",
    "model_price",
    "price",
    "provider_for_model",
]

BARE_NAME_PREFIXES: dict[str, str] = {
    "gpt-": "openai",
    "chatgpt-": "openai",
    "o1": "openai",
    "o3": "openai",
    "o4-": "openai",
    "text-embedding-": "openai",
    "davinci-": "openai",
    "babbage-": "openai",
    "claude-": "anthropic",
    "gemini-": "gemini",
    "models/gemini-": "gemini",  # the Gemini API's resource name form; the adapter strips "models/"
    "text-embedding-004": "gemini",
    "mistral-": "mistral",
    "codestral-": "mistral",
    "pixtral-": "mistral",
    "magistral-": "mistral",
    "ministral-": "mistral",
    "open-mistral-": "mistral",
    "deepseek-chat": "deepseek",
    "deepseek-reasoner": "deepseek",
    "grok-": "xai",
    "sonar": "perplexity",
    "command-": "cohere",
    "embed-": "cohere",
}

_ORDERED = sorted(BARE_NAME_PREFIXES.items(), key=lambda kv: -len(kv[0]))


def provider_for_model(model: str) -> str | None:
    """The provider a bare model name belongs to, or ``None`` when the catalog does not know it."""
    for prefix, provider in _ORDERED:
        if model.startswith(prefix):
            return provider
    return None


def model_price(provider: str, model: str) -> float | None:
    """USD per million tokens, input + output, from the catalog (``None`` when either is unknown):
    what the router's ``lowest-cost`` strategy compares."""
    info = model_info(provider, model)
    if info is None:
        return None
    if info.local:
        return 0.0
    prices = info.prices
    if prices is None or prices.input is None or prices.output is None:
        return None
    return float(prices.input + prices.output)
