"""Typed views of catalog entries: :class:`ModelInfo` with its :class:`Prices`, :class:`Source` and
:class:`Capabilities`, and :func:`model_info` / :func:`model_limits` to look one up.

>>> from llmplex.catalog import model_info
>>> info = model_info("anthropic", "claude-sonnet-4-5-20250929")
>>> info.context_window, info.prices.input, info.prices.source.url
(200000, Decimal('3'), 'https://platform.claude.com/docs/en/docs/about-claude/pricing')
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._data import find_entry

__all__ = ["Capabilities", "ModelInfo", "ModelLimits", "Prices", "Source", "model_info", "model_limits"]

CONFIGURED = "configuration"
"""The source url of a price given in configuration without a source of its own."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a figure comes from: the official page, the date it was read (``checked``), the
    transcription it was read through when the page itself was not at hand (``via``) and caveats."""

    url: str
    checked: str | None = None
    via: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens; ``None`` where no source gave the figure (unknown)."""

    source: Source
    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    """Prompt tokens read from the provider's prompt cache."""
    cache_write: Decimal | None = None
    """Prompt tokens written to the cache (Anthropic's 5-minute TTL)."""
    cache_write_1h: Decimal | None = None
    """Prompt tokens written with Anthropic's 1-hour TTL."""
    reasoning: Decimal | None = None
    """Set only where reasoning tokens have a price of their own; else they are output tokens."""
    up_to_prompt_tokens: int | None = None
    """These prices hold for prompts up to this size; longer ones have a tier the catalog lacks."""
    unpriced_fees: str | None = None
    """Charges the provider adds to the token prices that the catalog cannot price (Perplexity's
    per-request search fee): a call of this model is then unpriced, whatever its tokens."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the model does; ``None`` means the catalog does not know."""

    vision: bool | None = None
    tools: bool | None = None
    parallel_tools: bool | None = None
    json_schema: bool | None = None
    reasoning: bool | None = None
    embeddings: bool | None = None
    dimensions: int | None = None
    """Default embedding vector size."""


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """How much one model reads and writes, in tokens."""

    context_window: int
    max_output_tokens: int


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Everything the catalog knows of one model at one provider."""

    provider: str
    model: str
    """The catalog key the name resolved to (``claude-sonnet-4-5`` for ``…-20250929``)."""
    context_window: int | None
    max_output_tokens: int | None
    capabilities: Capabilities
    prices: Prices | None
    limits_source: Source | None = None
    local: bool = False
    """Runs on the user's machine (Ollama): no per-token charge."""


def _source(value: Any, sources: Mapping[str, Any]) -> Source:
    if isinstance(value, str) and value in sources:
        value = sources[value]
    if isinstance(value, Mapping):
        return Source(str(value.get("url") or CONFIGURED), value.get("checked"), value.get("via"), value.get("note"))
    return Source(CONFIGURED, note=str(value) if value else None)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _prices(raw: Any, sources: Mapping[str, Any]) -> Prices | None:
    if not isinstance(raw, Mapping):
        return None
    limit = raw.get("up_to_prompt_tokens")
    return Prices(
        source=_source(raw.get("source"), sources),
        input=_decimal(raw.get("input")),
        output=_decimal(raw.get("output")),
        cache_read=_decimal(raw.get("cache_read")),
        cache_write=_decimal(raw.get("cache_write")),
        cache_write_1h=_decimal(raw.get("cache_write_1h")),
        reasoning=_decimal(raw.get("reasoning")),
        up_to_prompt_tokens=int(limit) if limit is not None else None,
        unpriced_fees=str(raw["unpriced_fees"]) if raw.get("unpriced_fees") else None,
    )


def model_info(provider: str, model: str, overrides: Mapping[str, Any] | None = None) -> ModelInfo | None:
    """The catalog's facts on a provider's model id, or ``None`` when it knows neither the model
    nor (for a local provider) the provider. ``overrides`` is a ``catalog:`` configuration section
    (``{provider: {model: entry}}``); ``None`` uses the runtime layer, ``llmplex.config``.

    >>> model_info("bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0").max_output_tokens
    8192
    """
    if overrides is None:
        overrides = runtime_overrides()
    if not overrides:
        return _shipped_info(provider, model)
    return _info(provider, model, overrides)


@functools.lru_cache(maxsize=1024)
def _shipped_info(provider: str, model: str) -> ModelInfo | None:
    return _info(provider, model, {})


def _info(provider: str, model: str, overrides: Mapping[str, Any]) -> ModelInfo | None:
    found = find_entry(provider, model, overrides)
    if found is None:
        from ._data import merged_provider

        if merged_provider(provider, overrides).get("local"):
            return ModelInfo(provider, model, None, None, Capabilities(), None, local=True)
        return None
    _, key, entry, section = found
    sources: Mapping[str, Any] = section.get("sources") or {}
    caps = entry.get("capabilities") or {}
    limits = entry.get("limits_source")
    return ModelInfo(
        provider=provider,
        model=key,
        context_window=entry.get("context_window"),
        max_output_tokens=entry.get("max_output_tokens"),
        capabilities=Capabilities(**{k: v for k, v in caps.items() if k in Capabilities.__slots__}),
        prices=_prices(entry.get("prices"), sources),
        limits_source=_source(limits, sources) if limits is not None else None,
        local=bool(section.get("local")),
    )


def model_limits(provider: str, model: str, overrides: Mapping[str, Any] | None = None) -> ModelLimits | None:
    """Context window and max output tokens, or ``None`` unless the catalog knows both."""
    info = model_info(provider, model, overrides)
    if info is None or info.context_window is None or info.max_output_tokens is None:
        return None
    return ModelLimits(info.context_window, info.max_output_tokens)


def runtime_overrides() -> Mapping[str, Any]:
    """The ``catalog`` section set through ``llmplex.config`` (``{}`` when none)."""
    from ..config import config

    value = config.snapshot().get((None, "catalog"))
    return value if isinstance(value, Mapping) else {}
