"""Model facts as data, shipped in the package (never fetched at run time).

``provider_for_model("gpt-4o")`` -> ``"openai"``: prefixes are matched longest first; a name no
prefix matches returns ``None`` and the caller falls back to the default provider.
``model_limits("anthropic", "claude-sonnet-4-5-20250929")`` -> context window and max output
tokens from ``models.json`` (read on first use), or ``None`` for a model the catalog does not know.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BARE_NAME_PREFIXES", "ModelLimits", "model_limits", "model_price", "provider_for_model"]

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


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """How much one model reads and writes, in tokens."""

    context_window: int
    max_output_tokens: int


_SNAPSHOT = re.compile(r"(-\d{8}|-latest|@\d{8}|-v\d+:\d+)$")


@functools.cache
def _models() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).parent / "models.json").read_text(encoding="utf-8"))
    return data


def model_limits(provider: str, model: str) -> ModelLimits | None:
    """The catalog's limits for a provider's model id (date / ``-latest`` suffixes ignored)."""
    entries = _models().get(provider, {})
    entry = entries.get(model) or entries.get(_SNAPSHOT.sub("", model))
    if not isinstance(entry, dict):
        return None
    return ModelLimits(entry["context_window"], entry["max_output_tokens"])


def model_price(provider: str, model: str) -> float | None:
    """USD per million tokens (input + output) from the catalog's optional ``input_price`` and
    ``output_price`` fields, or ``None`` when the catalog has no price for the model."""
    entries = _models().get(provider, {})
    entry = entries.get(model) or entries.get(_SNAPSHOT.sub("", model))
    if not isinstance(entry, dict) or "input_price" not in entry:
        return None
    return float(entry["input_price"]) + float(entry.get("output_price", 0.0))
