"""OpenTelemetry and logging in one call: ``setup_telemetry(settings)``.

* ``service.name`` on every span; OTLP/HTTP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
* Span attributes pass an allow-list before export (``ALLOWED_SPAN_ATTRIBUTES``): a reporter's identity, a
  client address or a user agent cannot leave in a trace because nobody thought to deny it.
* JSON logs carrying ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from pythonjsonlogger.json import JsonFormatter

#: Only these attribute keys (or prefixes ending in '.') are exported. Add to it deliberately.
ALLOWED_SPAN_ATTRIBUTES: tuple[str, ...] = (
    "service.name",
    "http.route",
    "http.request.method",
    "http.method",
    "http.response.status_code",
    "http.status_code",
    "http.scheme",
    "url.scheme",
    "server.port",
    "db.system",
    "db.system.name",
    "db.name",
    "db.namespace",
    "db.operation",
    "db.operation.name",
    "db.statement",  # SQL text only: asyncpg instrumentation does not record parameters
    "db.query.text",
    "messaging.system",
    "messaging.operation",
    "messaging.operation.name",
    "messaging.operation.type",
    "messaging.destination.name",
    "messaging.destination.partition.id",
    "messaging.kafka.destination.partition",
    "messaging.kafka.message.offset",
    "messaging.kafka.offset",
    "messaging.batch.message_count",
    "messaging.message.id",
    "messaging.consumer.group.name",
    "ward.",  # the platform's own attributes, set deliberately (event type, outcome, ward)
    "error.type",
    "exception.type",
)


def _allowed(key: str) -> bool:
    return any(key == a or (a.endswith(".") and key.startswith(a)) for a in ALLOWED_SPAN_ATTRIBUTES)


def filter_attributes(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (attrs or {}).items() if _allowed(k)}


class AllowListExporter(SpanExporter):
    """Wraps an exporter; every span, and its events, keep only allow-listed attributes."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub_span(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    from opentelemetry.sdk.trace import Event as SpanEvent

    events = [SpanEvent(e.name, filter_attributes(e.attributes), e.timestamp) for e in span.events
              if e.name != "exception"]  # exception messages may quote input; the type stays as error.type
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=filter_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


_provider: TracerProvider | None = None
_instrumented = False


def tracer_provider() -> TracerProvider:
    """The process's SDK tracer provider (created on first use)."""
    global _provider
    if _provider is None:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            _provider = current
        else:
            _provider = TracerProvider(resource=Resource.create({"service.name": "ward-platform"}))
            trace.set_tracer_provider(_provider)
    return _provider


def add_exporter(exporter: SpanExporter, *, batch: bool = True) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    wrapped = AllowListExporter(exporter)
    tracer_provider().add_span_processor(BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped))


def setup_telemetry(service_name: str, *, otlp_endpoint: str | None = None, log_level: str = "INFO") -> TracerProvider:
    """Tracing (service.name, OTLP when configured, asyncpg spans) and JSON logging for one service process."""
    global _provider, _instrumented
    if _provider is None and not isinstance(trace.get_tracer_provider(), TracerProvider):
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(_provider)
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            add_exporter(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
    if not _instrumented:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument(tracer_provider=tracer_provider())
        _instrumented = True
    configure_logging(service_name, log_level)
    return tracer_provider()


def tracer(name: str) -> trace.Tracer:
    return tracer_provider().get_tracer(name)


def current_trace_carrier() -> dict[str, str]:
    """The W3C trace context of the current span, to store with an outbox row or send in headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_carrier(carrier: Mapping[str, str] | None) -> otel_context.Context:
    return propagate.extract(dict(carrier or {}))


class _TraceIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.service = self.service
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


def configure_logging(service_name: str, level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_ward_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._ward_json = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
    )
    handler.addFilter(_TraceIdFilter(service_name))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiokafka", "faststream", "uvicorn.access"):
        logging.getLogger(noisy).setLevel("WARNING")
