"""Removing credentials from text before it reaches an exception, a log record or an event.

Two passes: the exact secrets of the call (and any 8-character run of them, so a provider that
echoes part of a key is caught too), then well-known credential shapes as a safety net.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact", "redact_known_shapes"]

REDACTED = "[REDACTED]"
_WINDOW = 8

# Shapes of credentials we must never print even when we were not told the exact value.
_KNOWN_SHAPES = re.compile(
    r"(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"   # OpenAI / Anthropic / many compatibles
    r"|gsk_[A-Za-z0-9]{8,}"               # Groq
    r"|xai-[A-Za-z0-9]{8,}"               # xAI
    r"|hf_[A-Za-z0-9]{8,}"                # Hugging Face
    r"|AIza[0-9A-Za-z_\-]{8,}"            # Google API keys
)
_BEARER = re.compile(r"([Bb]earer )[A-Za-z0-9._~+/\-]{8,}=*")
_QUERY = re.compile(r"([?&](?:key|api_key|api-key|token|access_token|sig)=)[^&#\s]+")


def redact_known_shapes(text: str) -> str:
    """Replace substrings that look like credentials."""
    text = _KNOWN_SHAPES.sub(REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _QUERY.sub(r"\1" + REDACTED, text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every secret, every 8-character run of a secret, and every known
    credential shape replaced by ``[REDACTED]``.

    >>> redact("bad key sk-abcdefgh12345678 (…12345678)", ["sk-abcdefgh12345678"])
    'bad key [REDACTED] (…[REDACTED])'
    """
    for secret in secrets:
        if len(secret) < _WINDOW:
            if secret:
                text = text.replace(secret, REDACTED)
            continue
        text = _redact_runs(text, secret)
    return redact_known_shapes(text)


def _redact_runs(text: str, secret: str) -> str:
    grams = {secret[i : i + _WINDOW] for i in range(len(secret) - _WINDOW + 1)}
    hidden = bytearray(len(text))
    found = False
    for i in range(len(text) - _WINDOW + 1):
        if text[i : i + _WINDOW] in grams:
            hidden[i : i + _WINDOW] = b"\x01" * _WINDOW
            found = True
    if not found:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append(REDACTED)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
