"""Prometheus metrics operators ask for, exposed on ``GET /metrics`` by every service.

docs/operations.md lists every metric with its labels; dashboards and alert rules use only those names. Labels
are low-cardinality by construction: a route is its template (``/v1/residents/{resident_id}``), never the path.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OUTBOX_BACKLOG = Gauge("ward_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "ward_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_PUBLISHED = Counter("ward_outbox_published_total", "Outbox rows published to Kafka", ["service", "topic"])
OUTBOX_PUBLISH_ERRORS = Counter("ward_outbox_publish_errors_total", "Failed publish attempts", ["service"])
HANDLER_LATENCY = Histogram(
    "ward_event_handler_seconds", "Time to handle one event", ["service", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_ERRORS = Counter("ward_event_handler_errors_total", "Failed handler attempts", ["service", "event_type"])
EVENTS_HANDLED = Counter("ward_events_handled_total", "Events handled, by outcome", ["service", "outcome"])
DEAD_LETTERS = Counter("ward_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "topic"])
CONSUMER_LAG = Gauge(
    "ward_consumer_lag", "Messages behind the partition's high watermark, as of the consumer's last batch",
    ["service", "group", "topic", "partition"],
)
HTTP_REQUESTS = Counter("ward_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_DURATION = Histogram(
    "ward_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUDIT_HEAD_PUBLISHED = Gauge(
    "ward_audit_head_published_timestamp_seconds", "When the service last published its audit chain head", ["service"]
)
PARKED_EVENTS = Gauge(
    "ward_parked_events", "Events of a type this version does not know yet, parked", ["service", "event_type"]
)


class CountRequests:
    """Counts and times every request (``ward_http_requests_total``, ``ward_http_request_duration_seconds``, by
    route template) and writes its line to ``access_log`` (the services' ``ward.access``), when the response starts
    (the time is the time to the response's start, as before). A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (what
    ``@app.middleware("http")`` makes) costs a task group, a memory stream and a second response object per request.

    As before, an exception no handler answered (``ServerErrorMiddleware``, outside, turns it into the 500 problem)
    is neither counted nor logged here: it propagates through before any response starts."""

    def __init__(self, app: ASGIApp, service: str, access_log: logging.Logger | None = None) -> None:
        self.app = app
        self.service = service
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        async def send_counted(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                self._record(scope, message["status"], time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, send_counted)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")  # the template: never the path's values nor the query
        method = scope["method"]
        labels = (self.service, method, route, str(status))
        HTTP_DURATION.labels(*labels).observe(elapsed)
        HTTP_REQUESTS.labels(*labels).inc()
        if self.access_log is not None:
            self.access_log.info("request", extra={"method": method, "route": route, "status": status,
                                                   "duration_ms": round(elapsed * 1000, 1)})
