"""The catalog data: loading ``models.json`` (once, on first use), checking its shape, and finding
one model's entry under the names it goes by.

Lookup of ``(provider, model)``, first hit wins:

1. the configured overrides of that provider (``catalog:`` in llmplex.yaml, ``llmplex.config``,
   ``Client(catalog=...)``), then the shipped entries;
2. the name as given, then the name with its snapshot decorations removed: a ``models/`` prefix
   (Gemini resource names), a Bedrock region prefix (``us.``, ``eu.``, ``apac.``, ``global.`` …)
   and ``-v2:0`` version suffix, a date (``-20250929``, ``-2024-08-06``, ``@20240229``) or
   ``-latest``;
3. each name as an entry key, then as one of an entry's ``aliases``;
4. a provider with ``models_like`` (Azure -> openai, Vertex AI -> gemini) borrows that provider's
   limits and capabilities, never its prices; an entry with ``like: "provider/model"`` (Bedrock's
   Claude ids) does the same for one model.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["DATA_PATH", "candidates", "find_entry", "load", "merged_provider", "validate"]

DATA_PATH = Path(__file__).parent / "models.json"

_PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
_CAPABILITY_KEYS = {"vision": bool, "tools": bool, "parallel_tools": bool, "json_schema": bool,
                    "reasoning": bool, "embeddings": bool, "dimensions": int}
_ENTRY_KEYS = {"aliases", "context_window", "max_output_tokens", "limits_source", "capabilities", "prices", "like"}
_PROVIDER_KEYS = {"sources", "models", "models_like", "local", "note"}
_SOURCE_KEYS = {"url", "checked", "via", "note"}
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")

_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|global|us-gov|jp|au|ca)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_SNAPSHOT = re.compile(r"(?:-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8}|-latest)$")


@functools.cache
def load() -> Mapping[str, Any]:
    """The shipped catalog (prices as ``Decimal``), read on first use."""
    data: Mapping[str, Any] = json.loads(DATA_PATH.read_text(encoding="utf-8"), parse_float=Decimal)
    return data


def candidates(model: str) -> Iterator[str]:
    """The names a model id may be catalogued under, most specific first."""
    seen: set[str] = set()
    name = model.removeprefix("models/")
    for step in (model, name, _BEDROCK_REGION.sub("", name)):
        name = step
        for form in (name, _BEDROCK_VERSION.sub("", name)):
            for variant in (form, _SNAPSHOT.sub("", form)):
                if variant and variant not in seen:
                    seen.add(variant)
                    yield variant


def merged_provider(provider: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A provider's shipped section with the configured entries of that provider laid over it
    (an override entry updates the shipped one key by key; ``prices`` and ``capabilities`` merge)."""
    shipped = load()["providers"].get(provider) or {}
    own = (overrides or {}).get(provider)
    if not own:
        return dict(shipped)
    models = dict(shipped.get("models") or {})
    for name, entry in own.items():
        base = dict(models.get(name) or {})
        for key, value in entry.items():
            if key in ("prices", "capabilities") and isinstance(value, Mapping):
                base[key] = {**(base.get(key) or {}), **value}
            else:
                base[key] = value
        models[name] = base
    return {**shipped, "models": models}


def _in_section(section: Mapping[str, Any], model: str) -> tuple[str, Mapping[str, Any]] | None:
    models: Mapping[str, Any] = section.get("models") or {}
    for name in candidates(model):
        if name in models:
            return name, models[name]
    for name in candidates(model):
        for key, entry in models.items():
            if name in (entry.get("aliases") or ()):
                return key, entry
    return None


def find_entry(
    provider: str, model: str, overrides: Mapping[str, Any] | None = None
) -> tuple[str, str, dict[str, Any], Mapping[str, Any]] | None:
    """``(provider, catalog key, entry, provider section)`` or ``None``. A borrowed entry
    (``like`` / ``models_like``) keeps only the borrowing entry's own prices."""
    section = merged_provider(provider, overrides)
    found = _in_section(section, model)
    if found is not None:
        key, entry = found
        like = entry.get("like")
        if isinstance(like, str) and "/" in like:
            other_provider, _, other_model = like.partition("/")
            other = find_entry(other_provider, other_model, overrides)
            if other is not None:
                borrowed = {k: v for k, v in other[2].items() if k != "prices"}
                borrowed.update({k: v for k, v in entry.items() if k != "like"})
                return provider, key, borrowed, other[3]
        return provider, key, dict(entry), section
    like_provider = section.get("models_like")
    if isinstance(like_provider, str):
        other = find_entry(like_provider, model, overrides)
        if other is not None:
            return provider, other[1], {k: v for k, v in other[2].items() if k != "prices"}, other[3]
    return None


def validate(data: Mapping[str, Any]) -> list[str]:
    """Every problem of a catalog document (the shipped ``models.json``); ``[]`` when sound.
    A ``catalog:`` configuration section is checked by :func:`validate_overrides`."""
    problems: list[str] = []
    providers = data.get("providers")
    if not isinstance(providers, Mapping):
        return ["'providers' must be a mapping"]
    for name, section in providers.items():
        where = f"providers.{name}"
        if not isinstance(section, Mapping):
            problems.append(f"{where}: must be a mapping")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in section if k not in _PROVIDER_KEYS]
        sources = section.get("sources") or {}
        for key, source in sources.items():
            problems += _source_problems(source, f"{where}.sources.{key}")
        like = section.get("models_like")
        if like is not None and like not in providers:
            problems.append(f"{where}.models_like: no provider {like!r}")
        for model, entry in (section.get("models") or {}).items():
            problems += _entry_problems(entry, f"{where}.models.{model}", sources, providers)
    return problems


def validate_overrides(overrides: Any, where: str) -> list[str]:
    """Problems of a ``catalog:`` configuration section: ``{provider: {model: entry}}``."""
    if not isinstance(overrides, Mapping):
        return [f"{where}: 'catalog' must be a mapping of provider -> model -> entry"]
    problems: list[str] = []
    for provider, models in overrides.items():
        if not isinstance(models, Mapping):
            problems.append(f"{where}: catalog.{provider} must be a mapping of model -> entry")
            continue
        for model, entry in models.items():
            problems += _entry_problems(entry, f"{where}: catalog.{provider}.{model}", None, None)
    return problems


def _source_problems(source: Any, where: str) -> list[str]:
    if not isinstance(source, Mapping):
        return [f"{where}: a source is a mapping with url and checked"]
    problems = [f"{where}: unknown key {k!r}" for k in source if k not in _SOURCE_KEYS]
    if not isinstance(source.get("url"), str) or not source.get("url"):
        problems.append(f"{where}: url is required")
    if not isinstance(source.get("checked"), str) or not _DATE.match(source.get("checked", "")):
        problems.append(f"{where}: checked must be a date (YYYY-MM or YYYY-MM-DD)")
    return problems


def _entry_problems(
    entry: Any, where: str, sources: Mapping[str, Any] | None, providers: Mapping[str, Any] | None
) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"{where}: an entry is a mapping"]
    problems = [f"{where}: unknown key {k!r}" for k in entry if k not in _ENTRY_KEYS]
    for key in ("context_window", "max_output_tokens"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            problems.append(f"{where}.{key}: a positive integer")
    if sources is not None and "context_window" in entry and entry.get("limits_source") not in sources:
        problems.append(f"{where}.limits_source: names none of the provider's sources")
    caps = entry.get("capabilities") or {}
    for key, value in caps.items():
        kind = _CAPABILITY_KEYS.get(key)
        if kind is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"{where}.capabilities.{key}: unknown or not a {kind.__name__ if kind else 'known key'}")
    prices = entry.get("prices")
    if prices is not None:
        problems += _price_problems(prices, f"{where}.prices", sources)
    like = entry.get("like")
    if like is not None and providers is not None:
        other_provider, _, other_model = str(like).partition("/")
        if other_model not in ((providers.get(other_provider) or {}).get("models") or {}):
            problems.append(f"{where}.like: no entry {like!r}")
    return problems


def _price_problems(prices: Any, where: str, sources: Mapping[str, Any] | None) -> list[str]:
    if not isinstance(prices, Mapping):
        return [f"{where}: a mapping of USD per million tokens"]
    allowed = (*_PRICE_KEYS, "source", "up_to_prompt_tokens", "unpriced_fees")
    problems = [f"{where}: unknown key {k!r}" for k in prices if k not in allowed]
    fees = prices.get("unpriced_fees")
    if fees is not None and (not isinstance(fees, str) or not fees):
        problems.append(f"{where}.unpriced_fees: a text naming the charges the catalog cannot price")
    for key in _PRICE_KEYS:
        value = prices.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or value < 0):
            problems.append(f"{where}.{key}: a number >= 0 (USD per million tokens)")
    source = prices.get("source")
    if sources is not None:
        if source not in sources:
            problems.append(f"{where}.source: names none of the provider's sources")
    elif isinstance(source, Mapping):
        problems += _source_problems(source, f"{where}.source")
    elif source is not None and not isinstance(source, str):
        problems.append(f"{where}.source: a text or a mapping with url and checked")
    return problems
