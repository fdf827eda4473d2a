"""From a run's raw worker results to per-client medians, checks and target verdicts (stdlib only)."""

from __future__ import annotations

import os
import platform
import statistics
from typing import Any

from clients import ClientSpec
from metrics import METRICS, NOISY_PCT
from targets import evaluate_targets


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"cores": os.cpu_count(), "kernel": platform.release(), "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = models[0] if models else "?"
        with open("/proc/meminfo") as f:
            total_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        info["memory_gib"] = round(total_kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return info


# ---------------------------------------------------------------- checks


def counter_problem(result: dict[str, Any]) -> str | None:
    """Compare the server's per-route request counter with the calls the worker made.

    More requests than calls means hidden retries; fewer than the calls that got an answer means caching.
    A call that raised, or was cut off by a time bound, may or may not have reached the server.
    """
    calls: dict[str, int] = result.get("calls") or {}
    delta = {k: v for k, v in (result.get("server_delta") or {}).items() if k != "connections"}
    unanswered = (
        (result.get("cancelled_in_flight") or 0) + (result.get("exceptions") or 0) + (result.get("warm_errors") or 0)
    )
    for route in sorted(set(calls) | set(delta)):
        made, seen = calls.get(route, 0), delta.get(route, 0)
        if not (made - unanswered <= seen <= made):
            return f"server saw {seen} {route} requests for {made} calls"
    return None


def problems(result: dict[str, Any]) -> list[str]:
    out = []
    if result.get("status") != "ok":
        out.append(f"error: {result.get('error')}")
    if result.get("exceptions"):
        out.append(f"{result['exceptions']} failed calls (first: {result.get('first_error')})")
    if result.get("wrong"):
        out.append(f"{result['wrong']} wrong answers (first: {result.get('first_wrong')})")
    if result.get("tput_errors"):
        out.append(f"{result['tput_errors']} errors in the timed burst")
    counter = counter_problem(result)
    if counter:
        out.append(counter)
    if result.get("egress_blocked"):
        out.append(f"non-loopback attempts blocked: {result['egress_blocked'][:3]}")
    return out


# ---------------------------------------------------------------- aggregation


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _row(spec: ClientSpec, raw: dict[str, Any]) -> dict[str, Any]:
    results = [r for r in raw["results"] if r["client"] == spec.name]
    row: dict[str, Any] = {"label": spec.label, "partial": {}, "problems": [], "runs": {}}
    imports = [imp["import_ms"][spec.imports] for imp in raw["imports"] if spec.imports in imp["import_ms"]]
    row["import_ms"] = _median(imports)
    for metric, (scenario, key, done_key, planned_key) in METRICS.items():
        runs = [r for r in results if r["scenario"] == scenario and r.get("status") == "ok"]
        row[metric] = _median([r[key] for r in runs if isinstance(r.get(key), (int, float))])
        if done_key and planned_key and runs:
            done = min(r.get(done_key) or 0 for r in runs)
            planned = runs[0].get(planned_key) or 0
            if done < planned:
                row["partial"][scenario] = f"{done:,}/{planned:,}"
    row["per_repeat"] = _per_repeat(results, raw["repeats"])
    row["per_repeat"]["import_ms"] = [imp["import_ms"].get(spec.imports) for imp in raw["imports"]]
    for inflight in ("100", "1000"):
        runs = [r for r in results if r["scenario"] == f"throughput{inflight}"]
        row[f"tput{inflight}_errors"] = sum(r.get("tput_errors") or 0 for r in runs) if runs else None
    if row["soak_rss_end"] is not None and row["soak_rss_1k"]:
        row["soak_growth"] = row["soak_rss_end"] - row["soak_rss_1k"]
    else:
        row["soak_growth"] = None
    row["noisy"] = [
        f"{r['scenario']} (repeat {r.get('repeat', 0) + 1}) {r['foreign_cpu_pct']:.0f} %"
        for r in results
        if r.get("foreign_cpu_pct", 0) > NOISY_PCT
    ]
    for r in results:
        row["runs"][r["scenario"]] = row["runs"].get(r["scenario"], 0) + 1
        row["problems"] += [f"{r['scenario']} (repeat {r.get('repeat', 0) + 1}): {p}" for p in problems(r)]
    return row


def _per_repeat(results: list[dict[str, Any]], repeats: int) -> dict[str, list[float | None]]:
    """Each metric's value in each repeat (None where it did not run), for ratios of adjacent runs."""
    out: dict[str, list[float | None]] = {}
    for metric, (scenario, key, _done, _planned) in METRICS.items():
        values: list[float | None] = [None] * repeats
        for r in results:
            if r["scenario"] == scenario and r.get("status") == "ok" and isinstance(r.get(key), (int, float)):
                values[r.get("repeat", 0)] = r[key]
        out[metric] = values
    return out


def compact(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary to commit: numbers rounded, per-run bookkeeping left in the raw file."""

    def rounded(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.4g}")
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    out: dict[str, Any] = rounded(summary)
    for row in out["rows"].values():
        row.pop("runs", None)
        row.pop("noisy", None)
        row["problem_count"] = len(row.pop("problems", []))
    return out


def floor_spread(rows: dict[str, Any]) -> tuple[str, float] | None:
    """The largest move of the raw aiohttp floor between repeats: (metric, (max - min) / median)."""
    per = rows.get("aiohttp", {}).get("per_repeat", {})
    spreads = []
    for metric in ("seq_p50_us", "tput100", "tput1000", "chunks_per_s"):
        values = [v for v in per.get(metric, []) if v]
        if len(values) > 1:
            spreads.append((metric, (max(values) - min(values)) / statistics.median(values)))
    return max(spreads, key=lambda x: x[1]) if spreads else None


def summarize(raw: dict[str, Any], specs: list[ClientSpec]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for spec in specs:
        if spec.name in raw["pending"]:
            rows[spec.name] = {"label": spec.label, "pending": raw["pending"][spec.name]}
        else:
            rows[spec.name] = _row(spec, raw)
    startup = [imp["python_startup_ms"] for imp in raw["imports"]]
    modules = sorted({m for imp in raw["imports"] for m in imp["import_ms"]})
    import_ms = {m: _median([imp["import_ms"][m] for imp in raw["imports"] if m in imp["import_ms"]]) for m in modules}
    versions = raw["probe"]["versions"]
    return {
        "generated": raw["started"],
        "elapsed_s": round(raw.get("elapsed_s", 0)),
        "quick": raw["quick"],
        "repeats": raw["repeats"],
        "params": raw["params"],
        "machine": {**raw["machine"], "python": raw["probe"]["python"]},
        "python_startup_ms": _median(startup),
        "versions": {k: v for k, v in versions.items() if v},
        "import_ms": import_ms,
        "rows": rows,
        "targets": evaluate_targets(rows, import_ms, "soak" in raw["params"]),
    }
