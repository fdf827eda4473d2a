"""The llmplex targets, judged on ratios against the floors measured in the same run."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clients import BY_NAME
from metrics import MB, METRICS


@dataclass(frozen=True)
class Target:
    text: str
    client: str
    metric: str
    ref_client: str | None  # None: an absolute limit
    limit: float
    kind: str  # "le_ratio" | "ge_ratio" | "le_plus" | "lt"
    errors_key: str | None = None
    needs: str | None = None  # a scenario that must have been asked for


TARGETS = [
    Target("async sequential p50 ≤ 1.25 × raw aiohttp", "llmplex-async", "seq_p50_us", "aiohttp", 1.25, "le_ratio"),
    Target(
        "throughput, 100 in flight ≥ 0.85 × raw aiohttp, zero errors",
        "llmplex-async", "tput100", "aiohttp", 0.85, "ge_ratio", errors_key="tput100_errors",
    ),
    Target(
        "throughput, 1,000 in flight ≥ 0.85 × raw aiohttp, zero errors",
        "llmplex-async", "tput1000", "aiohttp", 0.85, "ge_ratio", errors_key="tput1000_errors",
    ),
    Target("streamed chunks/s ≥ 0.7 × raw aiohttp", "llmplex-async", "chunks_per_s", "aiohttp", 0.7, "ge_ratio"),
    Target("sync sequential p50 ≤ 1.25 × raw urllib3", "llmplex-sync", "seq_p50_us", "urllib3", 1.25, "le_ratio"),
    Target("`import llmplex` ≤ `import httpx`", "llmplex-async", "import_ms", "httpx-async", 1.0, "le_ratio"),
    Target("cold first call (async) < 50 ms", "llmplex-async", "cold_ms", None, 50, "lt"),
    Target("cold first call (sync) < 50 ms", "llmplex-sync", "cold_ms", None, 50, "lt"),
    Target("RSS after 1,000 calls ≤ raw aiohttp + 10 MB", "llmplex-async", "rss_1k", "aiohttp", 10 * MB, "le_plus"),
    Target("RSS growth over 100k calls (async) < 5 MB", "llmplex-async", "soak_growth", None, 5 * MB, "lt", "", "soak"),
    Target("RSS growth over 100k calls (sync) < 5 MB", "llmplex-sync", "soak_growth", None, 5 * MB, "lt", "", "soak"),
]  # fmt: skip

CHECKS: dict[str, Callable[[float, float | None, float], tuple[bool, str]]] = {
    "le_ratio": lambda v, ref, lim: (v <= lim * ref, f"{v / ref:.2f}×"),  # type: ignore[operator]
    "ge_ratio": lambda v, ref, lim: (v >= lim * ref, f"{v / ref:.2f}×"),  # type: ignore[operator]
    "le_plus": lambda v, ref, lim: (v <= ref + lim, f"{(v - ref) / MB:+.1f} MB"),  # type: ignore[operator]
    "lt": lambda v, ref, lim: (v < lim, ""),
}


def _verdict(t: Target, rows: dict[str, Any], import_ms: dict[str, float | None], ran_soak: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"target": t.text, "client": t.client, "reference": t.ref_client}
    row, ref_row = rows.get(t.client), rows.get(t.ref_client) if t.ref_client else None
    if t.needs == "soak" and not ran_soak:
        return {**out, "result": "not run (needs --soak)"}
    if row is None or "pending" in row:
        return {**out, "result": "pending (llmplex not measurable yet)" if row else "not run"}
    value = row.get(t.metric)
    ref = ref_row.get(t.metric) if ref_row and "pending" not in ref_row else None
    if t.metric == "import_ms" and t.ref_client:  # measured per module, whether or not the row ran
        value, ref = import_ms.get(BY_NAME[t.client].imports), import_ms.get(BY_NAME[t.ref_client].imports)
        ref_row = None  # the reference module may not have a row; its median is enough
    if value is None or (t.ref_client and ref is None):
        return {**out, "result": "not run"}
    ok, ratio = CHECKS[t.kind](value, ref, t.limit)
    paired = _paired_ratios(row, ref_row, t.metric) if t.kind in ("le_ratio", "ge_ratio") else []
    if paired:  # judge on the ratios of runs made next to each other, not on the ratio of the medians
        median = statistics.median(paired)
        ok = median <= t.limit if t.kind == "le_ratio" else median >= t.limit
        ratio = f"{median:.2f}×" + (f" ({', '.join(f'{x:.2f}' for x in paired)})" if len(paired) > 1 else "")
    out.update({"value": value, "ref_value": ref, "ratio": ratio})
    bad = [p for p in row["problems"] if p.split(" ", 1)[0] in _scenarios_of(t.metric)]
    if t.errors_key and row.get(t.errors_key):
        ok = False
    if bad:
        ok = False
        out["problems"] = bad
    out["result"] = "pass" if ok else "FAIL"
    return out


def _paired_ratios(row: dict[str, Any], ref_row: dict[str, Any] | None, metric: str) -> list[float]:
    if not ref_row or "per_repeat" not in ref_row:
        return []
    pairs = zip(row["per_repeat"].get(metric, []), ref_row["per_repeat"].get(metric, []), strict=False)
    return [v / r for v, r in pairs if v is not None and r]


def _scenarios_of(metric: str) -> set[str]:
    if metric == "import_ms":
        return set()
    if metric == "soak_growth":
        return {"soak"}
    return {METRICS[metric][0]}


def evaluate_targets(rows: dict[str, Any], import_ms: dict[str, float | None], ran_soak: bool) -> list[dict[str, Any]]:
    return [_verdict(t, rows, import_ms, ran_soak) for t in TARGETS]
