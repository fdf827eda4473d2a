"""OpenTelemetry spans and metrics (GenAI conventions), the Prometheus exposition, and the one
log record per call — all without secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llmplex
from llmplex.events import otel, prometheus
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

KEY = "sk-secret-test-key-0123456789"
USER = [{"role": "user", "content": "tell me a secret"}]


class Otel:
    def __init__(self, capture_content: bool) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.instrumentation = otel.instrument(
            tracer_provider=self.tracer_provider, meter_provider=MeterProvider(metric_readers=[self.reader]),
            capture_content=capture_content,
        )

    def metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


@pytest.fixture
def telemetry() -> Iterator[Otel]:
    t = Otel(capture_content=False)
    yield t
    t.instrumentation.uninstrument()


@pytest.fixture
def keyed_api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url)
    yield a
    a.close()


def test_spans_follow_the_genai_conventions(keyed_api: Api, emu: Emulator, telemetry: Otel) -> None:
    emu.enqueue(Reply("fine", usage={"prompt_tokens": 5, "completion_tokens": 1,
                                     "prompt_tokens_details": {"cached_tokens": 2}}),
                Reply.error(401, f"Incorrect API key provided: {KEY}"))
    parent_tracer = telemetry.tracer_provider.get_tracer("app")
    with parent_tracer.start_as_current_span("checkout") as parent:
        r = keyed_api.chat(model="openai/gpt-4o", messages=USER)
    with pytest.raises(llmplex.AuthenticationError):
        keyed_api.chat(model="openai/gpt-4o", messages=USER)
    ok, failed = [s for s in telemetry.spans.get_finished_spans() if s.name != "checkout"]
    assert ok.name == "chat gpt-4o" and ok.kind is SpanKind.CLIENT
    assert ok.parent is not None and ok.parent.span_id == parent.get_span_context().span_id
    assert dict(ok.attributes or {}) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": r.model, "gen_ai.response.id": r.id, "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1, "gen_ai.usage.cache_read.input_tokens": 2,
    }
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "AuthenticationError"
    everything = json.dumps([dict(s.attributes or {}) for s in telemetry.spans.get_finished_spans()])
    assert KEY not in everything and KEY[3:11] not in everything and "tell me a secret" not in everything
    points = telemetry.metrics()
    duration = points["gen_ai.client.operation.duration"]
    assert sorted(p.attributes.get("error.type", "") for p in duration) == ["", "AuthenticationError"]
    usage = {p.attributes["gen_ai.token.type"]: p.sum for p in points["gen_ai.client.token.usage"]}
    assert usage == {"input": 5, "output": 1}
    assert all(p.attributes["gen_ai.provider.name"] == "openai" for p in duration)


def test_streams_record_time_to_first_chunk(api: Api, emu: Emulator, telemetry: Otel) -> None:
    api.stream(model="openai/gpt-4o", messages=USER)
    (span,) = telemetry.spans.get_finished_spans()
    assert span.name == "chat gpt-4o" and "gen_ai.input.messages" not in (span.attributes or {})
    (ttfc,) = telemetry.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.count == 1 and ttfc.sum > 0


def test_prompts_and_completions_only_when_asked(emu: Emulator) -> None:
    t = Otel(capture_content=True)
    try:
        client = llmplex.Client(provider="gemini", api_key=KEY, base_url=emu.base_url)
        client.chat.completions.create(model="gemini/gemini-2.0-flash", messages=USER)
    finally:
        t.instrumentation.uninstrument()
    (span,) = t.spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert json.loads(str(attributes["gen_ai.input.messages"])) == USER
    output = json.loads(str(attributes["gen_ai.output.messages"]))
    assert output[0]["content"] == "Echo: tell me a secret" and KEY not in json.dumps(attributes)


def test_a_cache_hit_is_a_span_without_token_usage(emu: Emulator, telemetry: Otel) -> None:
    client = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache="memory")
    emu.enqueue(Reply(usage={"prompt_tokens": 3, "completion_tokens": 2}))
    client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    provider_call, hit = telemetry.spans.get_finished_spans()
    assert "llmplex.cache.hit" not in (provider_call.attributes or {})
    assert (hit.attributes or {})["llmplex.cache.hit"] is True
    assert (hit.attributes or {})["gen_ai.usage.input_tokens"] == 3  # what the stored answer took
    (tokens,) = [p for p in telemetry.metrics()["gen_ai.client.token.usage"]
                 if p.attributes["gen_ai.token.type"] == "input"]
    assert tokens.count == 1 and tokens.sum == 3  # the hit used none


def test_prometheus_exposes_the_same_figures(emu: Emulator) -> None:
    client = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache="memory")
    emu.enqueue(Reply(usage={"prompt_tokens": 3, "completion_tokens": 2}), Reply.error(400, "bad"))
    client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert client.chat.completions.create(model="openai/gpt-4o", messages=USER).cached
    with pytest.raises(llmplex.BadRequestError):
        client.chat.completions.create(model="openai/gpt-4o", messages=USER, temperature=0)
    registry = CollectorRegistry()
    prometheus.register(client.metrics, registry)
    text = generate_latest(registry).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    labels = (("model", "gpt-4o"), ("provider", "openai"))
    snap = client.metrics()
    assert samples[("llmplex_calls_total", labels)] == snap.calls == 3
    assert samples[("llmplex_cache_hits_total", labels)] == snap.cache_hits == 1
    assert samples[("llmplex_cache_misses_total", labels)] == snap.cache_misses == 2
    assert samples[("llmplex_errors_total", (("error_type", "BadRequestError"), *labels))] == 1
    assert samples[("llmplex_tokens_total", (*labels, ("type", "input")))] == 3
    assert samples[("llmplex_tokens_total", (*labels, ("type", "output")))] == 2
    assert samples[("llmplex_latency_seconds", (*labels, ("quantile", "0.5")))] == snap.latency.p50
    assert samples[("llmplex_latency_seconds_count", labels)] == 1
    assert KEY not in text
    scoped = CollectorRegistry()
    prometheus.register({"api": client.metrics, "batch": llmplex.events.Metrics()}, scoped)
    assert 'llmplex_calls_total{model="gpt-4o",provider="openai",scope="api"} 3.0' in generate_latest(scoped).decode()
    client.close()


def test_one_log_record_per_call_without_secrets(
    keyed_api: Api, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.enqueue(Reply.error(503, "busy", headers={"retry-after-ms": "10"}), Reply("ok"),
                Reply.error(401, f"Incorrect API key provided: {KEY}"))
    with caplog.at_level(logging.INFO, logger="llmplex"):
        keyed_api.chat(model="openai/gpt-4o", messages=USER)
        with pytest.raises(llmplex.AuthenticationError):
            keyed_api.chat(model="openai/gpt-4o", messages=USER)
    records = [r for r in caplog.records if r.name == "llmplex"]
    assert len(records) == 2
    ok, failed = (r.llmplex for r in records)  # type: ignore[attr-defined]
    assert (ok["outcome"], ok["attempts"], ok["provider"], ok["model"]) == ("ok", 2, "openai", "gpt-4o")
    assert ok["input_tokens"] is not None and ok["latency_ms"] > 0
    assert (failed["outcome"], failed["error_type"], failed["status_code"]) == ("error", "AuthenticationError", 401)
    text = caplog.text + json.dumps([r.llmplex for r in records])  # type: ignore[attr-defined]
    assert KEY not in text and KEY[-8:] not in text and "[REDACTED]" in failed["error"]
