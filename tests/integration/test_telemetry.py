"""What operators see of the platform: traces (through a real OTLP receiver), metrics and logs.

* one trace per flow: the HTTP request, the relay's ``send`` and every consumer's ``process`` span, nothing
  else (no trace of broker batches beside it), with the messaging conventions' names and attributes;
* no exception text in a trace: only the exception's type;
* HTTP latency by route template; ``GET /metrics`` changes nothing (outbox retention is a scheduled job);
* JSON logs on stdout with RFC 3339 UTC timestamps and trace ids, and over OTLP where configured, both with
  allow-listed fields only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import generate_latest

from shared.devstack.stack import ROOT
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.telemetry import tracer
from tests.conftest import auth, settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import consumer_runtime, publisher_app
from tests.otlp_receiver import SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, OtlpReceiver

pytestmark = pytest.mark.integration

NATIONAL_ID = "001203004005"  # 12 digits, the form of a citizen identity card number


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


def _things_app(settings):
    """A service with one route that has a path parameter, and fails with personal data in the message."""
    runtime = ServiceRuntime(settings, description="telemetry probe")
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "boom":
            raise ValueError(f"resident with national ID {NATIONAL_ID} refused")
        return {"id": thing_id}

    return create_app(runtime, [router], title="things"), runtime


async def test_exception_text_never_reaches_traces_only_its_type(probe_db, started, otlp: OtlpReceiver):
    app, runtime = _things_app(settings_for("registry", probe_db, None))
    await started(runtime)
    async with _client(app) as client:
        assert (await client.get("/things/boom")).status_code == 500
    t = tracer("ward.test")
    with t.start_as_current_span("outer"), contextlib.suppress(ValueError), t.start_as_current_span("failing"):
        raise ValueError(f"national ID {NATIONAL_ID} is not valid")

    async def exported() -> bool:
        names = {s.name for s in otlp.snapshot()}
        return "failing" in names and "GET /things/{thing_id}" in names

    await eventually(exported)
    assert otlp.raw_bodies and not [b for b in otlp.raw_bodies if NATIONAL_ID.encode() in b]
    failing = next(s for s in otlp.snapshot() if s.name == "failing")
    assert failing.status_code == 2 and failing.status_message == "ValueError"
    assert failing.events == (("exception", {"exception.type": "ValueError"}),)
    http = next(s for s in otlp.snapshot() if s.name == "GET /things/{thing_id}")
    assert http.status_code == 2 and http.status_message in ("", "ValueError")
    assert all(attrs == {"exception.type": "ValueError"} for name, attrs in http.events if name == "exception")


async def test_one_trace_per_flow_with_messaging_conventions_and_no_broker_traces(probe_db, broker, started, otlp):
    app, publisher = publisher_app(settings_for("registry", probe_db, broker))
    await started(publisher)
    await started(consumer_runtime(settings_for("incidents", probe_db, broker)))

    def handled() -> list:
        return [s for s in otlp.snapshot() if s.name == "process registry.wards" and s.attributes.get("ward.outcome") == "handled"]

    async with _client(app) as client:
        # One after the other: the first batch is over (and any span of it exported) before the second is handled.
        for i in range(2):
            r = await client.post("/probe", json={"id": f"flow-{i}", "value": i}, headers=auth("ward_official"))
            assert r.status_code == 201

            async def done(n: int = i + 1) -> bool:
                return len(handled()) >= n

            await eventually(done)
    spans = otlp.snapshot()
    by_id = {s.span_id: s for s in spans}
    http_traces = {s.trace_id for s in spans if s.kind == SPAN_KIND_SERVER and s.attributes.get("http.route") == "/probe"}
    assert len(http_traces) == 2
    # every trace starts with an HTTP request: no trace of broker batches, no lone database polls
    roots = [s for s in spans if not s.parent_span_id]
    assert roots and all(s.kind == SPAN_KIND_SERVER for s in roots), [(s.service, s.name, s.kind) for s in roots]
    for trace_id in {s.trace_id for s in spans}:
        assert {s.kind for s in spans if s.trace_id == trace_id} != {SPAN_KIND_CONSUMER}
    # the consumer's span is the child of the relay's send span, in the trace of the request that wrote the event
    for process in handled():
        send = by_id[process.parent_span_id]
        assert send.name == "send registry.wards" and send.kind == SPAN_KIND_PRODUCER
        assert process.trace_id == send.trace_id and process.trace_id in http_traces
        assert process.kind == SPAN_KIND_CONSUMER
        assert {k: process.attributes[k] for k in (
            "messaging.system", "messaging.operation.name", "messaging.operation.type",
            "messaging.destination.name", "messaging.consumer.group.name")} == {
            "messaging.system": "kafka", "messaging.operation.name": "process", "messaging.operation.type": "process",
            "messaging.destination.name": "registry.wards", "messaging.consumer.group.name": "incidents-service"}
        assert process.attributes["messaging.destination.partition.id"] == send.attributes["messaging.destination.partition.id"]
        assert process.attributes["messaging.kafka.offset"] == send.attributes["messaging.kafka.offset"]
        assert {send.attributes[k] for k in ("messaging.operation.name", "messaging.operation.type")} == {"send"}
        assert send.attributes["messaging.system"] == "kafka"
    # the consumer's lag, per group, topic and partition (caught up: 0)
    lag = [line for line in generate_latest().decode().splitlines() if line.startswith("ward_consumer_lag{")
           and 'group="incidents-service"' in line and 'topic="registry.wards"' in line]
    assert lag and all('partition="' in line and line.endswith(" 0.0") for line in lag), lag
    # the probe event carries a stand-in for personal data ("Nguyễn Văn A, CCCD ..."): it never reaches a span
    assert not [b for b in otlp.raw_bodies if b"CCCD" in b or "Nguyễn".encode() in b]
    for s in spans:  # every span of a flow is in a flow's trace; none carries the deprecated names
        assert s.trace_id in http_traces, (s.service, s.name)
        assert not s.name.endswith((" publish", " process", " create")), s.name
        assert not {"messaging.operation", "messaging.kafka.message.offset", "db.statement", "http.method"} & set(s.attributes)


async def test_http_latency_by_route_template_and_a_scrape_changes_nothing(probe_db, started):
    app, runtime = _things_app(settings_for("registry", probe_db, None))
    conn = await probe_db.connect("registry")
    try:
        insert = ("INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, trace_context, "
                  "created_at, published_at) VALUES (gen_random_uuid(), 't', 'k', 'x.v1', '{}', '\\x00', '{}', "
                  "now() - interval '40 days', now() - interval '40 days') RETURNING seq")
        canary = await conn.fetchval(insert)
        await started(runtime)

        async def retention_ran_at_start() -> bool:
            return not await conn.fetchval("SELECT count(*) FROM outbox WHERE seq = $1", canary)

        await eventually(retention_ran_at_start)  # the job's first run; the next is an hour away
        kept = await conn.fetchval(insert)  # published 40 days ago: past the 30-day retention
        before = [dict(r) for r in await conn.fetch("SELECT * FROM outbox ORDER BY seq")]
        async with _client(app) as client:
            # Path values no metric could hold by chance (not hex: every id label in the registry is a UUID).
            for thing in ("thing-q1", "thing-r2", "thing-s3"):
                assert (await client.get(f"/things/{thing}")).status_code == 200
            first = (await client.get("/metrics")).text
            second = (await client.get("/metrics")).text
        after = [dict(r) for r in await conn.fetch("SELECT * FROM outbox ORDER BY seq")]
        assert after == before and any(r["seq"] == kept for r in after)  # a scrape deleted nothing
        assert await runtime.run_job("outbox-retention") == 1  # retention is the scheduled job's
        assert not await conn.fetchval("SELECT count(*) FROM outbox WHERE seq = $1", kept)
    finally:
        await conn.close()
    for text in (first, second):
        assert ('ward_http_request_duration_seconds_count{method="GET",route="/things/{thing_id}",'
                'service="registry",status="200"}') in text
        assert "thing-q1" not in text and "/things/thing-r2" not in text  # never the raw path
    count = next(line for line in second.splitlines()
                 if line.startswith('ward_http_request_duration_seconds_count{method="GET",route="/things/{thing_id}"'))
    assert float(count.rsplit(" ", 1)[1]) >= 3
    for name in ("ward_consumer_lag", "ward_dead_letters_total", "ward_outbox_backlog",
                 "ward_outbox_oldest_unpublished_age_seconds", "ward_http_request_duration_seconds"):
        assert f"# TYPE {name}" in second, name


LOGGING_PROCESS = """
import logging, sys
from shared.telemetry import setup_telemetry, tracer
setup_telemetry("registry", otlp_endpoint=sys.argv[1])
log = logging.getLogger("ward.check")
with tracer("ward.check").start_as_current_span("op") as span:
    ctx = span.get_span_context()
    print(format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), file=sys.stderr, flush=True)
    log.warning("inside a span", extra={"event_type": "registry.probe.v1", "full_name": "Nguyen Van A"})
    try:
        raise ValueError("national ID %s refused")
    except ValueError:
        log.exception("handler failed", extra={"error_type": "ValueError"})
log.info("outside any span")  # the providers flush at exit
""".replace("%s", NATIONAL_ID)


async def test_logs_are_json_on_stdout_with_utc_time_and_trace_ids_and_reach_otlp():
    receiver = OtlpReceiver().start()
    try:
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", LOGGING_PROCESS, receiver.endpoint], cwd=ROOT,
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        trace_id, span_id = done.stderr.split()[:2]
        lines = [json.loads(line) for line in done.stdout.splitlines()]  # every line is one JSON object
        inside = next(rec for rec in lines if rec["message"] == "inside a span")
        stamp = datetime.fromisoformat(inside["timestamp"].replace("Z", "+00:00"))
        assert stamp.utcoffset() == timedelta(0)
        assert (inside["trace_id"], inside["span_id"], inside["level"]) == (trace_id, span_id, "WARNING")
        assert inside["event_type"] == "registry.probe.v1" and inside["service"] == "registry"
        assert "full_name" not in inside  # not an allow-listed field
        failed = next(rec for rec in lines if rec["message"] == "handler failed")
        assert "ValueError" in failed["exc_info"] and failed["error_type"] == "ValueError"
        assert NATIONAL_ID not in done.stdout and "Nguyen" not in done.stdout
        outside = next(rec for rec in lines if rec["message"] == "outside any span")
        assert "trace_id" not in outside

        records = receiver.log_records()
        otlp_inside = next(r for r in records if r.body == "inside a span")
        assert (otlp_inside.trace_id, otlp_inside.span_id, otlp_inside.service) == (trace_id, span_id, "registry")
        assert otlp_inside.attributes.get("event_type") == "registry.probe.v1"
        otlp_failed = next(r for r in records if r.body == "handler failed")
        assert otlp_failed.attributes.get("exception.type") == "ValueError"
        assert not [b for b in receiver.raw_bodies if NATIONAL_ID.encode() in b or b"Nguyen" in b]
    finally:
        receiver.stop()


ACCESS_PROCESS = """
import asyncio, httpx, sys
from services.registry.bootstrap import build
from shared.settings import ServiceSettings
from shared.telemetry import configure_logging
import logging
configure_logging("registry")
logging.getLogger("fontTools.subset").info("chatter")  # a third party's INFO: not shown
app = build(ServiceSettings(service_name="registry", database_url="postgresql://u:p@127.0.0.1:1/x"))
async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        await client.get("/v1/residents/%s", params={"full_name": "Nguyen Van A"})
asyncio.run(main())
""".replace("%s", NATIONAL_ID)


async def test_one_access_line_per_request_with_the_route_template_and_trace_and_no_third_party_chatter():
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", ACCESS_PROCESS], cwd=ROOT,
                                   capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    access = [rec for rec in lines if rec.get("logger") == "ward.access"]
    assert len(access) == 1, lines
    assert {k: access[0][k] for k in ("method", "route", "status")} == {
        "method": "GET", "route": "/v1/residents/{resident_id}", "status": 401}
    assert access[0]["duration_ms"] >= 0 and len(access[0]["trace_id"]) == 32
    assert NATIONAL_ID not in done.stdout and "Nguyen" not in done.stdout  # no path values, no query
    assert not [rec for rec in lines if rec.get("logger", "").startswith("fontTools")]
