"""Structured output: JSON replies parsed, validated and (while streaming) partially parsed."""

from __future__ import annotations

from ._partial_json import MISSING, parse_partial

__all__ = ["MISSING", "parse_partial"]
