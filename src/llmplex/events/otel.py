"""OpenTelemetry spans and metrics for every call, following the GenAI semantic conventions
(``pip install llmplex[otel]``).

>>> from llmplex.events import otel
>>> instrumentation = otel.instrument()          # global tracer and meter providers  # doctest: +SKIP
>>> instrumentation.uninstrument()                                                   # doctest: +SKIP

Per call, one CLIENT span named ``"{gen_ai.operation.name} {gen_ai.request.model}"``, started in
the caller's context (so it is a child of the caller's current span) and covering all retries,
with ``gen_ai.operation.name`` (``chat``, ``text_completion``, ``embeddings``),
``gen_ai.provider.name`` (the conventions' well-known names: ``openai``, ``anthropic``,
``aws.bedrock``, ``gcp.gemini``, ``gcp.vertex_ai``, ``azure.ai.openai``, ``mistral_ai``, ``x_ai`` …;
other providers under their llmplex name), ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.response.id``, ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens``,
``gen_ai.usage.output_tokens``, ``gen_ai.usage.cache_read.input_tokens``, and on failure
``error.type`` and an ERROR status. Metrics: the histograms ``gen_ai.client.operation.duration``
(s), ``gen_ai.client.token.usage`` ({token}, ``gen_ai.token.type`` = input | output) and, for
streams, ``gen_ai.client.operation.time_to_first_chunk`` (s), with the bucket boundaries the
conventions advise.

Prompts and completions (``gen_ai.input.messages`` / ``gen_ai.output.messages``, JSON) are
recorded only with ``capture_content=True``. Keys, headers and URLs are never recorded.
"""

from __future__ import annotations

import json
from typing import Any

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("llmplex.events.otel needs OpenTelemetry: pip install llmplex[otel]") from exc

from ._observer import CallObserver, add_hook, remove_hook
from ._types import Failed, Finished

__all__ = ["PROVIDER_NAMES", "Instrumentation", "instrument"]

PROVIDER_NAMES = {
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}
"""llmplex provider → ``gen_ai.provider.name`` where the conventions name it differently."""

_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_TTFC_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]


class Instrumentation:
    """The installed hook; ``uninstrument()`` removes it."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None, capture_content: bool = False) -> None:
        from .. import __version__

        self.capture_content = capture_content
        self._tracer = trace.get_tracer("llmplex", __version__, tracer_provider=tracer_provider)
        meter = otel_metrics.get_meter("llmplex", __version__, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._ttfc = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_TTFC_BUCKETS,
        )

    # -- the Hook protocol ---------------------------------------------------------------------------

    def start(self, observer: CallObserver) -> Any:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": observer.operation,
            "gen_ai.provider.name": PROVIDER_NAMES.get(observer.provider, observer.provider),
            "gen_ai.request.model": observer.model,
        }
        if self.capture_content and observer.request is not None:
            attributes["gen_ai.input.messages"] = _json(observer.request)
        return self._tracer.start_span(f"{observer.operation} {observer.model}", kind=SpanKind.CLIENT,
                                       attributes=attributes)

    def end(self, observer: CallObserver, span: Any, event: Finished | Failed) -> None:
        common: dict[str, Any] = {
            "gen_ai.operation.name": observer.operation,
            "gen_ai.provider.name": PROVIDER_NAMES.get(observer.provider, observer.provider),
            "gen_ai.request.model": observer.model,
        }
        if isinstance(event, Finished):
            if event.response_model:
                common["gen_ai.response.model"] = event.response_model
            self._finished(span, event, common)
        else:
            common["error.type"] = event.error_type
            span.set_attribute("error.type", event.error_type)
            span.set_status(Status(StatusCode.ERROR, event.error_type))
        self._duration.record(event.latency, common)
        span.end()

    def _finished(self, span: Any, event: Finished, common: dict[str, Any]) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.response.model": event.response_model,
            "gen_ai.response.id": event.response_id,
            "gen_ai.response.finish_reasons": list(event.finish_reasons) or None,
            "gen_ai.usage.input_tokens": event.input_tokens,
            "gen_ai.usage.output_tokens": event.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": event.cached_tokens or None,
        }
        if self.capture_content and event.response is not None:
            attributes["gen_ai.output.messages"] = _json(_output_messages(event.response))
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        if event.cached:  # answered by llmplex's response cache: no tokens were used
            span.set_attribute("llmplex.cache.hit", True)
            return
        if event.input_tokens is not None:
            self._tokens.record(event.input_tokens, {**common, "gen_ai.token.type": "input"})
        if event.output_tokens is not None:
            self._tokens.record(event.output_tokens, {**common, "gen_ai.token.type": "output"})
        if event.ttft is not None:
            self._ttfc.record(event.ttft, common)

    def uninstrument(self) -> None:
        """Stop recording."""
        remove_hook(self)


def instrument(*, tracer_provider: Any = None, meter_provider: Any = None,
               capture_content: bool = False) -> Instrumentation:
    """Record a span and the GenAI metrics for every call from now on (all clients). The
    providers default to OpenTelemetry's global ones."""
    instrumentation = Instrumentation(tracer_provider, meter_provider, capture_content)
    add_hook(instrumentation)
    return instrumentation


def _output_messages(response: Any) -> list[dict[str, Any]]:
    out = []
    for choice in getattr(response, "choices", None) or ():
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None) if message is not None else getattr(choice, "text", None)
        entry: dict[str, Any] = {"role": "assistant", "content": text, "finish_reason": choice.finish_reason}
        calls = getattr(message, "tool_calls", None)
        if calls:
            entry["tool_calls"] = [c.model_dump() for c in calls]
        out.append(entry)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda o: o.model_dump() if hasattr(o, "model_dump") else str(o),
                      ensure_ascii=False)
