"""The console's operations: Prometheus metrics and OpenTelemetry traces, by the services' conventions.

* ``GET /metrics``: ``ward_http_requests_total`` and ``ward_http_request_duration_seconds`` with
  ``service="console"`` and the route template (shared/metrics.py, as shared/http.py counts the services'), plus
  ``ward_console_api_calls_total`` / ``ward_console_api_call_duration_seconds``: the console's calls to each service
  (and to the OIDC provider), by service and status.
* Traces: a server span per request (FastAPIInstrumentor, as the services), and a client span per outgoing call
  whose W3C ``traceparent`` the called service continues: a click in the console and the service's work are one
  trace. The spans pass the platform's allow-list (shared/telemetry.py) like every other.
"""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI
from fastapi.responses import Response
from opentelemetry import propagate
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.semconv.attributes import error_attributes, http_attributes, server_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared import metrics
from shared.telemetry import tracer, tracer_provider

SERVICE = "console"
API_CALLS = Counter("ward_console_api_calls_total", "The console's calls to the services' APIs and its OIDC provider",
                    ["service", "method", "status"])
API_DURATION = Histogram(
    "ward_console_api_call_duration_seconds", "Time the console waited for a service's (or the provider's) answer",
    ["service", "method", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def instrument(app: FastAPI) -> None:
    """Count every request by route template, answer ``/metrics``, and trace requests (server spans)."""

    app.add_middleware(metrics.CountRequests, service=SERVICE)  # a plain ASGI middleware, as the services'

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider(), excluded_urls="health,metrics",
                                       exclude_spans=["receive", "send"])


class TracedTransport(httpx.AsyncBaseTransport):
    """Wraps the console's outgoing transport: a client span per call (``ward.target`` names the service), the
    trace context in the request's headers, and the call counted. The target comes from the request's
    ``ward.target`` extension (Apis sets it), else ``name``."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, name: str = "http") -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.name = name

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = str(request.extensions.get("ward.target", self.name))
        started = time.perf_counter()
        status = "0"  # unreachable
        try:
            with tracer("ward.console").start_as_current_span(
                    request.method, kind=SpanKind.CLIENT,
                    attributes={http_attributes.HTTP_REQUEST_METHOD: request.method,
                                server_attributes.SERVER_PORT: request.url.port or (
                                    443 if request.url.scheme == "https" else 80),
                                "ward.target": target}) as span:
                propagate.inject(request.headers)
                try:
                    response = await self.inner.handle_async_request(request)
                except httpx.HTTPError as exc:
                    span.set_attribute(error_attributes.ERROR_TYPE, type(exc).__name__)
                    span.set_status(Status(StatusCode.ERROR))
                    raise
                status = str(response.status_code)
                span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, response.status_code)
                if response.status_code >= 500:
                    span.set_attribute(error_attributes.ERROR_TYPE, status)
                    span.set_status(Status(StatusCode.ERROR))
                return response
        finally:
            labels = (target, request.method, status)
            API_DURATION.labels(*labels).observe(time.perf_counter() - started)
            API_CALLS.labels(*labels).inc()

    async def aclose(self) -> None:
        await self.inner.aclose()
