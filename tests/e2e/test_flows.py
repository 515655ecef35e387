"""The brief's flows (§3) as they ran in the replay, seen from outside: one trace per flow across every service
it touches (through a real OTLP receiver), and a public topic that carries no personal data."""

from __future__ import annotations

import json
import re

import pytest

from shared.events import PUBLIC_TOPIC, PublicEvent, from_kafka, load_all_contracts
from tests.e2e.conftest import eventually
from tests.kafka_helpers import read_topic
from tests.otlp_receiver import SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER

pytestmark = pytest.mark.e2e

load_all_contracts()

# (flow, the service and route of the command that starts it, the services its one trace must reach)
FLOWS = [
    ("1: a team member joins in registry -> every projection", "registry", "/v1/teams/{team_id}/members",
     {"registry", "mediation", "donations", "awards"}),
    ("2: a dispute is referred -> a mediation case opens", "incidents", "/v1/incidents/{incident_id}/refer-to-mediation",
     {"incidents", "mediation"}),
    ("2: the case succeeds -> the incident is mediated, awards credits the mediators", "mediation",
     "/v1/cases/{case_id}/success", {"mediation", "incidents", "awards"}),
    ("3: a crime tip is solved -> awards credits the reporter", "incidents", "/v1/incidents/{incident_id}/resolve",
     {"incidents", "awards"}),
    ("4: an expense buys cameras -> registry registers them -> awards sees them", "donations",
     "/v1/expenses/{expense_id}/approve", {"donations", "registry", "awards"}),
    ("5: a nomination is approved -> the award reaches incidents", "awards",
     "/v1/nominations/{nomination_id}/approve", {"awards", "incidents"}),
]


def _traces_started_by(spans, service: str, route: str) -> list[str]:
    return sorted({s.trace_id for s in spans if s.service == service and s.attributes.get("http.route") == route})


@pytest.mark.parametrize(("flow", "service", "route", "reaches"), FLOWS, ids=[f[0][:1] + "-" + f[1] for f in FLOWS])
async def test_each_flow_is_one_trace_across_the_services_it_touches(platform, replayed, flow, service, route, reaches):
    async def one_trace_reaches_all() -> bool:
        spans = platform.otlp.snapshot()
        for trace_id in _traces_started_by(spans, service, route):
            in_trace = [s for s in spans if s.trace_id == trace_id]
            handled_by = {s.service for s in in_trace if s.name.startswith("process ")}
            if reaches - {service} <= handled_by:
                # the chain is connected: every consumer span has a parent inside the same trace
                ids = {s.span_id for s in in_trace}
                assert all(s.parent_span_id in ids for s in in_trace if s.name.startswith("process "))
                return True
        return False

    assert await eventually(one_trace_reaches_all, timeout=60), flow


async def test_every_trace_is_a_flow_and_every_consumer_span_is_its_producers_child(platform, replayed):
    spans = platform.otlp.snapshot()
    by_id = {s.span_id: s for s in spans}
    processes = [s for s in spans if s.name.startswith("process ")]
    assert processes
    for p in processes:  # the relay's send span of the same event, in the same trace, is the parent
        if p.parent_span_id in by_id:  # (a parent still in an export batch is checked by the flows above)
            send = by_id[p.parent_span_id]
            assert send.kind == SPAN_KIND_PRODUCER and send.name == "send " + p.name.removeprefix("process ")
            assert send.trace_id == p.trace_id
    # no trace of broker batches or lone database polls: every trace starts with a request, or with a send or a
    # process span of its own (an event written by a scheduled job, or one that arrived without trace context)
    roots = [s for s in spans if not s.parent_span_id]
    assert [(r.service, r.name) for r in roots if not (
        r.kind in (SPAN_KIND_SERVER, SPAN_KIND_PRODUCER)
        or (r.kind == SPAN_KIND_CONSUMER and r.name.startswith("process ") and "ward.outcome" in r.attributes))] == []
    assert any(r.kind == SPAN_KIND_SERVER for r in roots)


async def test_no_personal_data_reaches_traces(platform, replayed):
    names = [r["full_name"] for r in replayed.ward.residents + replayed.ward.lodgers if r.get("full_name")]
    assert names
    spans = platform.otlp.snapshot()
    text = "\n".join(str(s.attributes) + s.name for s in spans)
    leaked = [n for n in names if n in text]
    assert leaked == []
    # attributes pass the allow-list: nothing about the caller (address, user agent) or a message body
    from shared.telemetry import _allowed

    assert {k for s in spans for k in s.attributes if not _allowed(k)} == set()


async def test_public_topic_carries_only_public_models_and_no_personal_data(platform, replayed):
    records = await read_topic(platform.broker.bootstrap, PUBLIC_TOPIC, min_count=10, timeout=30)
    assert records
    names = [r["full_name"] for r in replayed.ward.residents + replayed.ward.lodgers if r.get("full_name")]
    services = set()
    for rec in records:
        headers = {k: v for k, v in rec.headers}
        event = from_kafka(rec.value, headers)
        assert isinstance(event, PublicEvent), event.event_type
        body = json.loads(rec.value)
        # nothing but the public model's declared fields is on the wire
        assert set(body) <= set(type(event).model_fields), (event.event_type, set(body) - set(type(event).model_fields))
        text = rec.value.decode() + repr(rec.key)
        assert not [n for n in names if n in text], event.event_type
        assert not re.search(r"(?<![\w-])\d{12}(?![\w-])", text)  # a national ID number (not a UUID part)
        services.add(type(event).source_service)
    assert {"registry", "incidents", "mediation", "donations", "awards"} <= services, services
