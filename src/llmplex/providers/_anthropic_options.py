"""Anthropic provider options (``ProviderSpec.options``): beta flags and prompt caching (pure).

Set them like any provider setting (client constructor, ``llmplex.yaml``, ``llmplex.config``,
environment)::

    providers:
      anthropic:
        anthropic_beta: [files-api-2025-04-14]   # -> "anthropic-beta: files-api-2025-04-14"
        cache_control: auto                      # breakpoints on tools, system, last user turn
        cache_ttl: 1h                            # optional; Anthropic's default is 5 minutes

References: https://docs.anthropic.com/en/api/beta-headers,
https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (breakpoints, the limit of 4,
``ttl``, top-level automatic caching).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigurationError

__all__ = ["CACHE_MODES", "MAX_BREAKPOINTS", "apply_cache_control", "beta_header"]

MAX_BREAKPOINTS = 4
"""Anthropic accepts at most four ``cache_control`` breakpoints per request."""

CACHE_MODES = ("auto", "top_level", "off")
"""``auto``: llmplex marks the last tool, the last system block and the last block of the last user
turn (in that order, skipping marked ones, never past four breakpoints in all, the caller's own
included). ``top_level``: Anthropic's automatic caching (a top-level ``cache_control``; the API
places and moves one breakpoint itself). ``off``: only the caller's own markers."""

_TTLS = ("5m", "1h")


def beta_header(option: Any, given: str | None) -> str | None:
    """The ``anthropic-beta`` value: the option's names (a list or a comma-separated string)
    followed by those already in an ``anthropic-beta`` extra header, without repeats."""
    names = [*_names(option), *_names(given)]
    return ",".join(dict.fromkeys(names)) or None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ConfigurationError(f"anthropic_beta must be a list of beta names or a comma-separated string, "
                                 f"got {type(value).__name__}")
    return [str(item).strip() for item in items if str(item).strip()]


def apply_cache_control(body: dict[str, Any], mode: Any, ttl: Any) -> None:
    """Add the cache breakpoints the ``cache_control`` option asks for to a built request body.
    Nothing the caller passed is modified in place: marked containers are copied."""
    if mode is None or mode == "off":
        return
    if mode not in CACHE_MODES:
        raise ConfigurationError(f"cache_control must be one of {', '.join(CACHE_MODES)}, got {mode!r}")
    if ttl is not None and ttl not in _TTLS:
        raise ConfigurationError(f"cache_ttl must be one of {', '.join(_TTLS)}, got {ttl!r}")
    marker: dict[str, Any] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    if mode == "top_level":
        body.setdefault("cache_control", marker)
        return
    used = _count_markers(body)
    for key in ("tools", "system", "messages"):
        if used >= MAX_BREAKPOINTS:
            return
        used += _mark_last(body, key, marker)


def _count_markers(body: Mapping[str, Any]) -> int:
    blocks: list[Any] = list(body.get("tools") or [])
    if isinstance(body.get("system"), list):
        blocks += body["system"]
    for turn in body.get("messages") or []:
        if isinstance(turn.get("content"), list):
            blocks += turn["content"]
    return sum(1 for b in blocks if isinstance(b, Mapping) and b.get("cache_control"))


def _mark_last(body: dict[str, Any], key: str, marker: dict[str, Any]) -> int:
    """Mark the last block of ``tools`` / ``system`` / the last user turn; 1 if a marker was added."""
    if key == "messages":
        turns = body.get("messages") or []
        users = [i for i, t in enumerate(turns) if t.get("role") == "user"]
        if not users:
            return 0
        turn = dict(turns[users[-1]])
        blocks = _block_list(turn.get("content"))
        if not blocks or not _markable(blocks[-1]):
            return 0
        turn["content"] = [*blocks[:-1], {**blocks[-1], "cache_control": marker}]
        body["messages"] = [*turns[:users[-1]], turn, *turns[users[-1] + 1:]]
        return 1
    blocks = _block_list(body.get(key))
    if not blocks or not _markable(blocks[-1]):
        return 0
    body[key] = [*blocks[:-1], {**blocks[-1], "cache_control": marker}]
    return 1


def _block_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "text", "text": value}] if value else []
    return list(value or [])


def _markable(block: Any) -> bool:
    # already marked, or a kind the API refuses to mark (thinking), or an empty text
    if not isinstance(block, Mapping) or block.get("cache_control"):
        return False
    if block.get("type") in ("thinking", "redacted_thinking"):
        return False
    return not (block.get("type") == "text" and not block.get("text"))
