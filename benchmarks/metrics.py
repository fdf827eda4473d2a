"""What a run measures: each reported metric, where it comes from, and the units (stdlib only)."""

from __future__ import annotations

MIB = 1024 * 1024
MB = 1_000_000
NOISY_PCT = 15.0  # other processes' CPU use, in % of one core, above which a run is flagged

# metric -> (scenario, key in the worker's result, key holding how many finished, key holding how many planned)
METRICS: dict[str, tuple[str, str, str | None, str | None]] = {
    "rss_import": ("cold", "rss_import", None, None),
    "cold_ms": ("cold", "cold_ms", None, None),
    "rss_1k": ("sequential", "rss_1k", None, None),
    "seq_p50_us": ("sequential", "seq_p50_us", "seq_done", "seq_planned"),
    "seq_p99_us": ("sequential", "seq_p99_us", "seq_done", "seq_planned"),
    "seq_cpu_us": ("sequential", "seq_cpu_us", "seq_done", "seq_planned"),
    "tput100": ("throughput100", "tput_per_s", "tput_ok", "tput_planned"),
    "tput1000": ("throughput1000", "tput_per_s", "tput_ok", "tput_planned"),
    "chunks_per_s": ("stream", "chunks_per_s", "stream_done", "stream_planned"),
    "ttfc_p50_us": ("stream", "ttfc_p50_us", "stream_done", "stream_planned"),
    "embed_p50_us": ("embed", "embed_p50_us", "embed_done", "embed_planned"),
    "soak_rss_1k": ("soak", "soak_rss_1k", "soak_done", "soak_planned"),
    "soak_rss_end": ("soak", "soak_rss_end", "soak_done", "soak_planned"),
}
