"""The built-in metrics as a Prometheus collector (``pip install llmplex[prometheus]``).

>>> from prometheus_client import generate_latest                        # doctest: +SKIP
>>> from llmplex.events.prometheus import register
>>> register(client.metrics)                                            # doctest: +SKIP
>>> print(generate_latest().decode())                                   # doctest: +SKIP

Families (labels ``provider``, ``model``; the prefix is ``llmplex`` unless told otherwise):
``llmplex_calls_total``, ``llmplex_errors_total`` (+ ``error_type``), ``llmplex_retries_total``,
``llmplex_tokens_total`` (+ ``type``: input, output, cached, reasoning), ``llmplex_cost_usd_total``,
``llmplex_cache_hits_total``, ``llmplex_cache_misses_total`` (the response cache),
and the summaries ``llmplex_latency_seconds`` and ``llmplex_ttft_seconds`` with quantiles 0.5,
0.95 and 0.99. Values are read from the live metrics at each scrape, so they are the same figures
``client.metrics()`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

try:
    from prometheus_client.core import REGISTRY, CounterMetricFamily, Metric
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("llmplex.events.prometheus needs prometheus-client: pip install llmplex[prometheus]") from exc

from ._metrics import Metrics, Percentiles

__all__ = ["LLMPLEX_COLLECTOR_PREFIX", "MetricsCollector", "register"]

LLMPLEX_COLLECTOR_PREFIX = "llmplex"
_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))


class MetricsCollector:
    """A ``prometheus_client`` collector over one or more live :class:`~llmplex.events.Metrics`
    (a client's, a session's); with several, their figures are exported under the extra label
    ``scope`` (the names given)."""

    def __init__(self, metrics: Metrics | dict[str, Metrics], prefix: str = LLMPLEX_COLLECTOR_PREFIX) -> None:
        self._sources = metrics if isinstance(metrics, dict) else {"": metrics}
        self._prefix = prefix

    def collect(self) -> Iterator[Metric]:
        p = self._prefix
        scoped = len(self._sources) > 1 or "" not in self._sources
        base = ["scope", "provider", "model"] if scoped else ["provider", "model"]
        calls = CounterMetricFamily(f"{p}_calls", "Calls finished (succeeded or failed).", labels=base)
        errors = CounterMetricFamily(f"{p}_errors", "Failed calls by error type.", labels=[*base, "error_type"])
        retries = CounterMetricFamily(f"{p}_retries", "Retries made.", labels=base)
        tokens = CounterMetricFamily(f"{p}_tokens", "Tokens by type.", labels=[*base, "type"])
        cost = CounterMetricFamily(f"{p}_cost_usd", "Cost in USD of the calls whose price is known.", labels=base)
        hits = CounterMetricFamily(f"{p}_cache_hits", "Calls answered by the response cache.", labels=base)
        misses = CounterMetricFamily(f"{p}_cache_misses", "Calls the response cache could not answer.",
                                     labels=base)
        latency = Metric(f"{p}_latency_seconds", "Call latency (successful calls).", "summary")
        ttft = Metric(f"{p}_ttft_seconds", "Time to first token (successful streams).", "summary")
        for scope, source in self._sources.items():
            for key, stats in source().by_model.items():
                provider, model = key.split("/", 1)
                labels = [scope, provider, model] if scoped else [provider, model]
                calls.add_metric(labels, stats.calls)
                for error_type, n in sorted(stats.errors_by_type.items()):
                    errors.add_metric([*labels, error_type], n)
                retries.add_metric(labels, stats.retries)
                for kind in ("input", "output", "cached", "reasoning"):
                    tokens.add_metric([*labels, kind], getattr(stats.tokens, kind))
                cost.add_metric(labels, stats.cost or 0.0)
                hits.add_metric(labels, stats.cache_hits)
                misses.add_metric(labels, stats.cache_misses)
                _summary(latency, dict(zip(base, labels, strict=True)), stats.latency)
                _summary(ttft, dict(zip(base, labels, strict=True)), stats.ttft)
        yield from (calls, errors, retries, tokens, cost, hits, misses, latency, ttft)

    def describe(self) -> list[Any]:
        return []  # collected at scrape time only: no metrics at registration


def _summary(family: Metric, labels: dict[str, str], figures: Percentiles) -> None:
    if not figures.count:
        return
    for quantile, name in _QUANTILES:
        family.add_sample(family.name, {**labels, "quantile": quantile}, getattr(figures, name))
    family.add_sample(f"{family.name}_count", labels, figures.count)
    family.add_sample(f"{family.name}_sum", labels, (figures.mean or 0.0) * figures.count)


def register(metrics: Metrics | dict[str, Metrics], registry: Any = None,
             prefix: str = LLMPLEX_COLLECTOR_PREFIX) -> MetricsCollector:
    """Register a collector over ``metrics`` (default registry: prometheus_client's global one)."""
    collector = MetricsCollector(metrics, prefix)
    (REGISTRY if registry is None else registry).register(collector)
    return collector


