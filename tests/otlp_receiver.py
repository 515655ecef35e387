"""A real OTLP/HTTP (protobuf) receiver of traces and logs, for tests.

The services export with the standard OTLP exporters to ``endpoint`` (``/v1/traces``, ``/v1/logs``); the test
reads the spans and log records here. Built on ``opentelemetry-proto`` and the standard library's HTTP server,
so it needs no collector. ``forward_to(receiver)`` sends this process's spans there too (in-process tests).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, object]
    kind: int = 0  # the OTLP enum: 2 server, 3 client, 4 producer, 5 consumer
    status_code: int = 0  # 0 unset, 1 ok, 2 error
    status_message: str = ""
    events: tuple[tuple[str, dict[str, object]], ...] = ()


@dataclass(frozen=True)
class ReceivedLog:
    service: str
    body: object
    severity: str
    trace_id: str
    span_id: str
    attributes: dict[str, object]


SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER = 2, 3, 4, 5


def _value(v) -> object:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.logs: list[ReceivedLog] = []
        self.raw_bodies: list[bytes] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.endswith("/v1/traces"):
                    receiver._add(body)
                    payload = ExportTraceServiceResponse().SerializeToString()
                elif self.path.endswith("/v1/logs"):
                    receiver._add_logs(body)
                    payload = ExportLogsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for rs in request.resource_spans:
            service = next((str(_value(a.value)) for a in rs.resource.attributes if a.key == "service.name"), "?")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append(ReceivedSpan(
                        service, s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                        {a.key: _value(a.value) for a in s.attributes}, kind=s.kind, status_code=s.status.code,
                        status_message=s.status.message,
                        events=tuple((e.name, {a.key: _value(a.value) for a in e.attributes}) for e in s.events)))
        with self._lock:
            self.raw_bodies.append(body)
            self.spans.extend(spans)

    def _add_logs(self, body: bytes) -> None:
        request = ExportLogsServiceRequest()
        request.ParseFromString(body)
        logs = []
        for rl in request.resource_logs:
            service = next((str(_value(a.value)) for a in rl.resource.attributes if a.key == "service.name"), "?")
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    logs.append(ReceivedLog(service, _value(r.body), r.severity_text, r.trace_id.hex(), r.span_id.hex(),
                                            {a.key: _value(a.value) for a in r.attributes}))
        with self._lock:
            self.raw_bodies.append(body)
            self.logs.extend(logs)

    def log_records(self) -> list[ReceivedLog]:
        with self._lock:
            return list(self.logs)

    def snapshot(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.snapshot() if s.trace_id == trace_id]


class _Forwarder(SpanExporter):
    """This process's spans, through the platform's allow-list exporter, to whichever receiver a test set."""

    def __init__(self) -> None:
        self.target: SpanExporter | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        target = self.target
        return target.export(spans) if target is not None else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


_forwarder: _Forwarder | None = None


def forward_to(receiver: OtlpReceiver | None) -> None:
    """Export this process's spans (with the standard OTLP exporter, synchronously) to ``receiver``; ``None``
    stops. The exporter sits behind ``shared.telemetry.add_exporter``, so spans pass the allow-list first."""
    global _forwarder
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from shared.telemetry import add_exporter

    if _forwarder is None:
        _forwarder = _Forwarder()
        add_exporter(_forwarder, batch=False)
    _forwarder.target = OTLPSpanExporter(endpoint=receiver.endpoint + "/v1/traces") if receiver else None
