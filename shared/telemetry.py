"""OpenTelemetry and logging in one call: ``setup_telemetry(service, otlp_endpoint=...)``.

* ``service.name`` on every span; OTLP/HTTP export of traces and logs when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
* One trace per flow: HTTP server spans and the relay's and consumer's own messaging spans continue the trace
  context stored with each outbox row and carried in ``traceparent``; database calls outside any flow are not
  sampled (``FlowSampler``).
* Span attributes pass an allow-list before export (``ALLOWED_SPAN_ATTRIBUTES``): a reporter's identity, a
  client address or a user agent cannot leave in a trace because nobody thought to deny it. Exception text
  never leaves: only the exception's type (``scrub_span``).
* Names follow the installed semantic conventions: HTTP and database as the instrumentations emit them when
  opted in to the stable conventions, messaging as ``shared.relay`` and ``shared.consumer`` set them.
* JSON logs on stdout: RFC 3339 UTC timestamps, ``trace_id`` and ``span_id``, only allow-listed extra fields,
  exceptions as their type and stack without the message.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.semconv.attributes import (
    db_attributes,
    error_attributes,
    exception_attributes,
    http_attributes,
    network_attributes,
    server_attributes,
    service_attributes,
    url_attributes,
)
from opentelemetry.trace import Link, SpanKind, Status
from pythonjsonlogger.json import JsonFormatter

#: Only these attribute keys (or prefixes ending in '.') are exported. Add to it deliberately. The names are the
#: installed ``opentelemetry-semantic-conventions``' constants (HTTP and database as the instrumentations emit them
#: with ``OTEL_SEMCONV_STABILITY_OPT_IN=http,database``; messaging as the relay and the consumer set them); none of
#: them deprecated (tests/unit/test_telemetry_conventions.py checks that against the package).
ALLOWED_SPAN_ATTRIBUTES: tuple[str, ...] = (
    service_attributes.SERVICE_NAME,
    http_attributes.HTTP_ROUTE,  # the template (/v1/residents/{resident_id}), never url.path
    http_attributes.HTTP_REQUEST_METHOD,
    http_attributes.HTTP_RESPONSE_STATUS_CODE,
    url_attributes.URL_SCHEME,
    server_attributes.SERVER_PORT,
    network_attributes.NETWORK_PROTOCOL_VERSION,
    db_attributes.DB_SYSTEM_NAME,
    db_attributes.DB_NAMESPACE,
    db_attributes.DB_OPERATION_NAME,
    db_attributes.DB_QUERY_TEXT,  # SQL text only: asyncpg instrumentation records no parameters
    db_attributes.DB_QUERY_SUMMARY,
    db_attributes.DB_COLLECTION_NAME,
    messaging.MESSAGING_SYSTEM,
    messaging.MESSAGING_OPERATION_NAME,
    messaging.MESSAGING_OPERATION_TYPE,
    messaging.MESSAGING_DESTINATION_NAME,
    messaging.MESSAGING_DESTINATION_PARTITION_ID,
    messaging.MESSAGING_KAFKA_OFFSET,
    messaging.MESSAGING_BATCH_MESSAGE_COUNT,
    messaging.MESSAGING_MESSAGE_ID,
    messaging.MESSAGING_CONSUMER_GROUP_NAME,
    messaging.MESSAGING_CLIENT_ID,
    "ward.",  # the platform's own attributes, set deliberately (event type, outcome, ward)
    error_attributes.ERROR_TYPE,
    exception_attributes.EXCEPTION_TYPE,  # the type only: exception.message and .stacktrace may quote input
)

#: What a log record may carry besides its message, level, logger, time and trace ids: the span allow-list, the
#: code location, and the platform's own ``extra=`` keys (ids, types, counts - never values a person typed).
ALLOWED_LOG_ATTRIBUTES: tuple[str, ...] = ALLOWED_SPAN_ATTRIBUTES + (
    "code.",
    "service",
    "event_type",
    "event_id",
    "message_id",
    "topic",
    "attempt",
    "attempts",
    "error",  # set to an exception's type name only
    "error_type",
    "retry_in_s",
    "job",
    "path_template",
    "version",
    "pending",  # migration names
    "outcome",
    "webhook_id",  # the feed's webhooks (never their URLs or secrets)
    "topics",  # the relay's missing topics
    "method",  # the access line: method, route template (never the path's values), status, duration
    "route",
    "status",
    "duration_ms",
    "delivery_id",  # notify's deliveries (never an address or a text)
    "channel",
)


@functools.lru_cache(maxsize=8192)  # names come from code, a small set: the scan below was ~120 µs of a ~165 µs log line
def _allowed(key: str, allowed: tuple[str, ...] = ALLOWED_SPAN_ATTRIBUTES) -> bool:
    return any(key == a or (a.endswith(".") and key.startswith(a)) for a in allowed)


def filter_attributes(attrs: Mapping[str, Any] | None, allowed: tuple[str, ...] = ALLOWED_SPAN_ATTRIBUTES) -> dict[str, Any]:
    return {k: v for k, v in (attrs or {}).items() if _allowed(k, allowed)}


class AllowListExporter(SpanExporter):
    """Wraps an exporter; every span, its events and links keep only allow-listed attributes, and no exception
    text leaves (see ``scrub_span``)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub_span(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    """The span as it may leave the process. An exception's message may quote input (a national ID in a
    validation error, a value in a database error), and the SDK copies it into the status description
    ("ValueError: ...") and into the ``exception`` event (``exception.message``, ``exception.stacktrace``). Only
    the exception's type leaves: the status description becomes the type, exception events keep only
    ``exception.type``."""
    events = [SpanEvent(e.name, filter_attributes(e.attributes), e.timestamp) for e in span.events]
    status = span.status
    if status.description:
        exc_type = next((e.attributes.get(exception_attributes.EXCEPTION_TYPE) for e in span.events
                         if e.name == "exception" and e.attributes), None)
        exc_type = exc_type or (span.attributes or {}).get(error_attributes.ERROR_TYPE)
        status = Status(status.status_code, str(exc_type) if exc_type else None)
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=filter_attributes(span.attributes),
        events=events,
        links=[Link(link.context, filter_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class FlowSampler(Sampler):
    """Samples every flow, and drops a database call that belongs to none.

    A flow starts with an HTTP request (a server span), an event without trace context (a consumer span) or an
    outbox row written outside a request (a producer span); everything it causes is a child (``ParentBased``).
    A database call with no parent is the plumbing polling or settling (the relay claiming and marking outbox
    rows, a consumer's batch transaction and inbox look-up, readiness probes, retention): traced, it would be
    a trace of one span for every poll, beside the flows."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):  # noqa: ARG002 - the SDK's signature
        if kind == SpanKind.CLIENT and attributes and (
            db_attributes.DB_SYSTEM_NAME in attributes or "db.system" in attributes
        ):
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "FlowSampler"


SAMPLER = ParentBased(root=FlowSampler())


_provider: TracerProvider | None = None
_logger_provider: LoggerProvider | None = None
_instrumented = False

#: The stable HTTP and database conventions (http.request.method, db.query.text, ...), not the deprecated ones
#: the instrumentations emit by default. Read once, when the first instrumentation is set up.
SEMCONV_OPT_IN = "http,database"


def _new_provider(service_name: str) -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=SAMPLER)


def tracer_provider() -> TracerProvider:
    """The process's SDK tracer provider (created on first use)."""
    global _provider
    if _provider is None:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            _provider = current
        else:
            _provider = _new_provider("ward-platform")
            trace.set_tracer_provider(_provider)
    return _provider


def add_exporter(exporter: SpanExporter, *, batch: bool = True) -> None:
    wrapped = AllowListExporter(exporter)
    tracer_provider().add_span_processor(BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped))


def setup_telemetry(service_name: str, *, otlp_endpoint: str | None = None, log_level: str = "INFO") -> TracerProvider:
    """Tracing (service.name, OTLP when configured, asyncpg spans) and JSON logging for one service process."""
    global _provider, _instrumented
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", SEMCONV_OPT_IN)
    if _provider is None and not isinstance(trace.get_tracer_provider(), TracerProvider):
        _provider = _new_provider(service_name)
        trace.set_tracer_provider(_provider)
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            add_exporter(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
    if not _instrumented:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument(tracer_provider=tracer_provider())
        _instrumented = True
    configure_logging(service_name, log_level, otlp_endpoint=otlp_endpoint)
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


# -- logs ------------------------------------------------------------------------------------------------------
class _TraceIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.service = self.service
        if ctx.is_valid and not hasattr(record, "trace_id"):  # a line may name the trace it is about itself
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


def format_exception_without_message(ei: Any) -> str:
    """An exception as its type and stack, without its message (which may quote input)."""
    exc_type, _, tb = ei
    frames = "".join(traceback.format_list(traceback.extract_tb(tb)))
    name = getattr(exc_type, "__qualname__", str(exc_type))
    return f"Traceback (most recent call last):\n{frames}{name} (message withheld)"


class JsonLogFormatter(JsonFormatter):
    """One JSON object a line: ``timestamp`` (RFC 3339, UTC), ``level``, ``logger``, ``message``, ``service``,
    ``trace_id``/``span_id`` inside a span, allow-listed ``extra=`` fields, ``exc_info`` without the message."""

    _BASE = frozenset({"timestamp", "level", "logger", "message", "trace_id", "span_id", "exc_info", "stack_info",
                       "taskName"})

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level", "name": "logger"},
                         timestamp=True)

    def formatException(self, ei: Any) -> str:
        return format_exception_without_message(ei)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in log_data.items() if k in self._BASE or _allowed(k, ALLOWED_LOG_ATTRIBUTES)}


class AllowListLogProcessor(LogRecordProcessor):
    """Runs before the exporting processor: a log record leaves with allow-listed attributes only (the SDK's
    handler adds every ``extra=`` field, ``exception.message`` and ``exception.stacktrace``)."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        record.attributes = filter_attributes(record.attributes, ALLOWED_LOG_ATTRIBUTES)

    def emit(self, log_record: ReadWriteLogRecord) -> None:  # older SDKs' name
        self.on_emit(log_record)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:  # noqa: ARG002 - the SDK's signature
        return True


def _otlp_log_handler(service_name: str, otlp_endpoint: str) -> logging.Handler:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    global _logger_provider
    if _logger_provider is None:
        _logger_provider = LoggerProvider(resource=Resource.create({"service.name": service_name}))
        _logger_provider.add_log_record_processor(AllowListLogProcessor())
        _logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/logs")))
    with warnings.catch_warnings():  # "use opentelemetry-instrumentation-logging's": the same handler, one more package
        warnings.simplefilter("ignore", DeprecationWarning)
        return LoggingHandler(logger_provider=_logger_provider)


def configure_logging(service_name: str, level: str = "INFO", *, otlp_endpoint: str | None = None) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_ward_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler._ward_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(_TraceIdFilter(service_name))
    root.addHandler(handler)
    if otlp_endpoint:
        otlp = _otlp_log_handler(service_name, otlp_endpoint)
        otlp._ward_json = True  # type: ignore[attr-defined]
        root.addHandler(otlp)
    root.setLevel(level)
    # Third-party chatter stays out of INFO: our own access and event lines say what operators need (fontTools
    # writes ~130 INFO lines per certificate PDF it subsets; httpx one per request with its whole URL and query).
    for noisy in ("aiokafka", "faststream", "uvicorn.access", "fontTools", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel("WARNING")
