"""Prometheus metrics operators ask for, exposed on ``GET /metrics`` by every service.

docs/operations.md lists every metric with its labels; dashboards and alert rules use only those names. Labels
are low-cardinality by construction: a route is its template (``/v1/residents/{resident_id}``), never the path.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
