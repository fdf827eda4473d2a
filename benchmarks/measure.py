"""Small measuring helpers shared by the worker's scenarios (stdlib only, cheap to import)."""

from __future__ import annotations

import gc
import os
from typing import Any

import payloads
from clients.base import StreamResult

_PAGE = os.sysconf("SC_PAGE_SIZE")
MAX_EXCEPTIONS = 20  # a scenario stops early after this many failed calls


def rss_bytes() -> int:
    """Resident set size now, after a full collection (retained memory, not garbage)."""
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Recorder:
    """Counts the calls a scenario makes and checks every answer against the server's."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.exceptions = 0
        self.wrong = 0
        self.first_error: str | None = None
        self.first_wrong: str | None = None

    def called(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def failed(self, exc: BaseException) -> bool:
        """Record an exception; True when the scenario should give up."""
        self.exceptions += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"[:500]
        return self.exceptions >= MAX_EXCEPTIONS

    def _wrong(self, what: str) -> bool:
        self.wrong += 1
        if self.first_wrong is None:
            self.first_wrong = what[:300]
        return False

    def check_chat(self, text: object) -> bool:
        return text == payloads.TEXT or self._wrong(f"chat text {text!r}")

    def check_stream(self, result: StreamResult) -> bool:
        if result.chunks == payloads.CHUNKS and result.text == payloads.TEXT:
            return True
        return self._wrong(f"stream of {result.chunks} chunks, text {result.text[:80]!r}")

    def check_embed(self, length: int) -> bool:
        return length == payloads.EMBED_DIM or self._wrong(f"vector of length {length}")

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "exceptions": self.exceptions,
            "wrong": self.wrong,
            "first_error": self.first_error,
            "first_wrong": self.first_wrong,
        }


def latency_summary(prefix: str, lat: list[float]) -> dict[str, Any]:
    return {
        f"{prefix}_p50_us": _us(percentile(lat, 50)),
        f"{prefix}_p99_us": _us(percentile(lat, 99)),
        f"{prefix}_done": len(lat),
    }


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e6
