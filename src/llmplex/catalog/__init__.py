"""Model facts as data. For now: which provider a bare model name belongs to.

``provider_for_model("gpt-4o")`` -> ``"openai"``. Prefixes are matched longest first; a name no
prefix matches returns ``None`` and the caller falls back to the default provider.
"""

from __future__ import annotations

__all__ = ["BARE_NAME_PREFIXES", "provider_for_model"]

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
