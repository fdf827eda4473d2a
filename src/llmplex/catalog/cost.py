"""What a call cost, from its usage and the catalog's prices: a pure function of data.

:func:`price` returns a :class:`Cost` (an itemised breakdown and the total in USD, with the source
of the prices) or an :class:`Unpriced` saying why no figure can be given; :func:`cost_of` is the
same as ``Cost | None``. A price the catalog lacks is never guessed.

How the usage of each provider reaches the OpenAI shape (the adapters do this), and so how it is
priced:

========================  ====================================================================
OpenAI, Azure, every      ``prompt_tokens`` *includes* ``prompt_tokens_details.cached_tokens``;
OpenAI-compatible host    ``completion_tokens`` *includes* ``reasoning_tokens``.
Anthropic, Bedrock        the API reports input, cache-read and cache-write apart; the adapter
                          sums them into ``prompt_tokens`` and keeps ``cached_tokens`` (read) and
                          ``cache_creation_tokens`` (write) in ``prompt_tokens_details``.
Gemini, Vertex AI         ``prompt_tokens`` (``promptTokenCount`` + tool-use prompt) includes
                          ``cachedContentTokenCount``; ``completion_tokens`` is candidates +
                          thoughts, with the thoughts in ``reasoning_tokens``.
Cohere                    ``billed_units`` (kept on the usage) is what Cohere charges: when
                          present it replaces the processed token counts.
========================  ====================================================================

So, for every provider: fresh input = prompt - cached - cache written, each priced at its own
rate; output = completion tokens at the output rate, reasoning included (every provider in the
catalog bills thinking as output), unless the entry gives reasoning a price of its own.

>>> from llmplex.catalog import cost_of
>>> usage = {"prompt_tokens": 1200, "completion_tokens": 300,
...          "prompt_tokens_details": {"cached_tokens": 1000}}
>>> cost_of("openai", "gpt-4o-2024-08-06", usage).total   # 200*2.5 + 1000*1.25 + 300*10, per million
Decimal('0.00475')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ..types.usage import CompletionUsage
from .info import Prices, Source, model_info

__all__ = ["Cost", "CostItem", "Unpriced", "cost_of", "price"]

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class CostItem:
    """One line of the bill: ``tokens`` of one kind at ``usd_per_million``."""

    kind: Literal["input", "cache_read", "cache_write", "output", "reasoning"]
    tokens: int
    usd_per_million: Decimal
    usd: Decimal


@dataclass(frozen=True, slots=True)
class Cost:
    """The cost of one call in USD, itemised, with where the prices come from. ``estimated``: the
    usage it prices was counted locally because the provider reported none
    (``CompletionUsage.estimated``): real prices times estimated tokens, never an exact bill."""

    provider: str
    model: str
    total: Decimal
    items: tuple[CostItem, ...]
    source: Source
    estimated: bool = False

    def __float__(self) -> float:
        return float(self.total)


@dataclass(frozen=True, slots=True)
class Unpriced:
    """No cost can be given; ``reason`` says which price or count is missing."""

    provider: str
    model: str
    reason: str


_LOCAL = Source("local", note="runs on the user's machine: no per-token charge")


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    value = getattr(obj, key, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        value = extra.get(key) if isinstance(extra, Mapping) else None
    return value


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _counts(usage: Any) -> tuple[int, int, int, int, int]:
    """(prompt, cached read, cache written, completion, reasoning) of an OpenAI-shaped usage."""
    if type(usage) is CompletionUsage and not usage.model_extra:  # what every response carries: read directly
        details, out = usage.prompt_tokens_details, usage.completion_tokens_details
        if details is None or not details.model_extra:
            return (usage.prompt_tokens, (details.cached_tokens or 0) if details else 0,
                    (details.cache_creation_tokens or 0) if details else 0, usage.completion_tokens,
                    (out.reasoning_tokens or 0) if out else 0)
    prompt, completion = _int(_get(usage, "prompt_tokens")), _int(_get(usage, "completion_tokens"))
    details, out_details = _get(usage, "prompt_tokens_details"), _get(usage, "completion_tokens_details")
    cached = _int(_get(details, "cached_tokens"))
    # OpenRouter reports cache writes as prompt_tokens_details.cache_write_tokens
    written = _int(_get(details, "cache_creation_tokens") or _get(details, "cache_write_tokens"))
    billed = _get(usage, "billed_units")  # Cohere: what is charged, not what was processed
    if isinstance(billed, Mapping):
        prompt, completion, cached, written = _int(billed.get("input_tokens")), _int(billed.get("output_tokens")), 0, 0
    return prompt, cached, written, completion, _int(_get(out_details, "reasoning_tokens"))


def price(
    provider: str,
    model: str,
    usage: Any,
    *,
    overrides: Mapping[str, Any] | None = None,
    cache_ttl: Literal["5m", "1h"] = "5m",
) -> Cost | Unpriced:
    """Price ``usage`` (a ``CompletionUsage``, an embeddings ``Usage`` or the same as a dict) for
    a provider's model. ``cache_ttl="1h"`` prices cache writes at Anthropic's 1-hour rate. A usage
    flagged ``estimated`` gives a ``Cost`` flagged ``estimated``.
    ``overrides`` as for :func:`~llmplex.catalog.model_info`."""
    info = model_info(provider, model, overrides)
    if info is None:
        return Unpriced(provider, model, f"the catalog does not know {provider}/{model}")
    if info.local:
        return Cost(provider, info.model, Decimal(0), (), _LOCAL)
    if info.prices is None:
        return Unpriced(provider, model, f"the catalog has no prices for {provider}/{info.model}")
    if info.prices.unpriced_fees:
        return Unpriced(provider, model, f"{provider}/{info.model} also bills {info.prices.unpriced_fees}, "
                                         f"which the catalog cannot price")
    return _priced(provider, info.model, _counts(usage), info.prices, cache_ttl, _get(usage, "estimated") is True)


def _priced(
    provider: str, model: str, counts: tuple[int, int, int, int, int], prices: Prices, cache_ttl: str,
    estimated: bool = False,
) -> Cost | Unpriced:
    prompt, cached, written, completion, reasoning = counts
    fresh = prompt - cached - written
    if fresh < 0 or reasoning > completion:
        return Unpriced(provider, model, f"inconsistent usage: {counts}")
    if prices.up_to_prompt_tokens is not None and prompt > prices.up_to_prompt_tokens:
        return Unpriced(provider, model, f"a prompt over {prices.up_to_prompt_tokens} tokens has a long-context "
                                         f"price the catalog lacks")
    write_price = prices.cache_write_1h if cache_ttl == "1h" else prices.cache_write
    plain_output = completion - reasoning if prices.reasoning is not None else completion
    lines: list[tuple[Any, int, Decimal | None]] = [
        ("input", fresh, prices.input),
        ("cache_read", cached, prices.cache_read),
        ("cache_write", written, write_price),
        ("output", plain_output, prices.output),
        ("reasoning", reasoning if prices.reasoning is not None else 0, prices.reasoning),
    ]
    items: list[CostItem] = []
    for kind, tokens, rate in lines:
        if tokens == 0:
            continue
        if rate is None:
            label = f"{kind} ({cache_ttl} TTL)" if kind == "cache_write" else kind
            return Unpriced(provider, model, f"no {label} price for {provider}/{model} ({tokens} such tokens)")
        items.append(CostItem(kind, tokens, rate, rate * tokens / MILLION))
    total = sum((item.usd for item in items), Decimal(0))
    return Cost(provider, model, total, tuple(items), prices.source, estimated)


def cost_of(
    provider: str,
    model: str,
    usage: Any,
    *,
    overrides: Mapping[str, Any] | None = None,
    cache_ttl: Literal["5m", "1h"] = "5m",
) -> Cost | None:
    """:func:`price`, with ``None`` for a call that cannot be priced (see :func:`price` for why)."""
    result = price(provider, model, usage, overrides=overrides, cache_ttl=cache_ttl)
    return result if isinstance(result, Cost) else None
