"""Flow 2 end to end through Kafka, with the real incidents service beside mediation: a dispute reported in
incidents -> referred -> a case opens with the group's mediation team -> mediators assigned -> the case
succeeds -> CaseSucceeded (with the referral) on Kafka for incidents and awards -> the incident is resolved as
mediated. And the way back: a referral that may not be mediated is refused and returns to the police."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest

from services.incidents.bootstrap import build as build_incidents
from services.mediation.bootstrap import build as build_mediation
from shared.contracts.incidents import DisputeParty, IncidentReferredToMediation
from shared.contracts.registry import GroupCreated
from shared.events import to_kafka
from tests.conftest import auth, settings_for
from tests.kafka_helpers import header, produce, read_topic
from tests.mediation.conftest import (
    GROUP,
    LEADER,
    MEDIATOR,
    OFFICIAL,
    TEAM,
    WARD,
    as_,
    eventually,
    resident_events,
    team_events,
)

pytestmark = pytest.mark.integration

POLICE = auth("police", WARD, sub="ca-khu-vuc-1")


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def _publish(bootstrap: str, *events) -> None:
    for event in events:
        key, value, headers = to_kafka(event)
        await produce(bootstrap, event.topic, value, key=key.encode(), headers=list(headers.items()))


async def _refer(incidents: httpx.AsyncClient, summary: str) -> str:
    made = await incidents.post("/v1/incidents", headers=auth("resident", WARD), json={
        "category": "dispute", "is_crime_tip": False, "description": summary, "place": {"group_id": GROUP},
        "anonymous": True})
    assert made.status_code == 201, made.text
    incident_id = made.json()["incident_id"]
    assert (await incidents.post(f"/v1/incidents/{incident_id}/triage", json={}, headers=POLICE)).status_code == 200
    referred = await incidents.post(f"/v1/incidents/{incident_id}/refer-to-mediation", headers=POLICE, json={
        "summary": summary, "parties": [{"resident_id": "r-binh", "display_name": "Vũ Văn Bình"},
                                        {"resident_id": "r-cuong", "display_name": "Ngô Văn Cường"}]})
    assert referred.status_code == 200, referred.text
    return incident_id


async def test_flow_2_referral_to_successful_mediation_and_a_refused_referral_back(db, broker, started):
    med_app = build_mediation(settings_for("mediation", db, broker))
    inc_app = build_incidents(settings_for("incidents", db, broker))
    await asyncio.gather(started(med_app.state.runtime), started(inc_app.state.runtime))  # join groups together
    # Flow 1 feeds flow 2: the registry's group, mediation team and residents reach both services by Kafka.
    await _publish(broker.bootstrap, GroupCreated(ward_id=WARD, subject=GROUP, group_id=GROUP, name="Tổ Trần Phú"),
                   *team_events(), *resident_events())
    async with _client(med_app) as mediation, _client(inc_app) as incidents:

        async def team_ready() -> bool:
            teams = (await mediation.get("/v1/teams", headers=as_(OFFICIAL))).json()["items"]
            return bool(teams) and len(teams[0]["mediators"]) == 4 and teams[0]["compliant"]

        await eventually(team_ready)
        await eventually(lambda: db.fetchval("incidents", "SELECT count(*) > 0 FROM inbox "
                                             "WHERE event_type = 'registry.group.created.v1'"))

        incident_id = await _refer(incidents, "Hai hộ tranh chấp lối đi chung")
        case: dict = {}

        async def case_opened() -> bool:
            cases = (await mediation.get("/v1/cases", headers=as_(OFFICIAL))).json()["items"]
            case.update(next((c for c in cases if c["referral_incident_id"] == incident_id), {}))
            return bool(case)

        await eventually(case_opened)
        assert case["team_id"] == TEAM and case["origin"] == "referral" and case["group_id"] == GROUP
        assert case["summary"] == "Hai hộ tranh chấp lối đi chung"
        cid = case["case_id"]

        r = await mediation.post(f"/v1/cases/{cid}/mediators", json={"mediator_ids": ["r-lan", "r-tuan"]},
                                 headers=as_(LEADER))
        assert r.status_code == 422  # r-tuan lives with the party r-binh (known from the registry's events)
        r = await mediation.post(f"/v1/cases/{cid}/mediators", json={"mediator_ids": ["r-lan", "r-minh"]},
                                 headers=as_(LEADER))
        assert r.status_code == 200, r.text
        r = await mediation.post(f"/v1/cases/{cid}/sessions", headers=as_(MEDIATOR), json={
            "held_at": datetime.now(UTC).isoformat(), "mediator_ids": ["r-lan", "r-minh"], "parties_present": [1, 2]})
        assert r.status_code == 201, r.text
        r = await mediation.post(f"/v1/cases/{cid}/success", headers=as_(MEDIATOR), json={
            "agreement": "Mở lại lối đi chung", "carry_out_how": "Tháo hàng rào trong tuần"})
        assert r.status_code == 200, r.text

        # On Kafka, in the case's order (key = case id), for incidents and awards.
        def has_success(recs) -> bool:
            return any(header(x, "ce_type") == "mediation.case.succeeded.v1" for x in recs)

        records = await read_topic(broker.bootstrap, "mediation.cases", until=has_success, timeout=30)
        mine = [x for x in records if x.key == cid.encode()]
        assert [header(x, "ce_type") for x in mine] == [
            "mediation.case.opened.v1", "mediation.case.mediator_assigned.v1", "mediation.case.mediator_assigned.v1",
            "mediation.case.session_held.v1", "mediation.case.succeeded.v1"]
        succeeded = json.loads(mine[-1].value)
        assert succeeded["referral_incident_id"] == incident_id and succeeded["team_id"] == TEAM
        assert sorted(succeeded["mediator_ids"]) == ["r-lan", "r-minh"]
        assert all("Vũ Văn Bình".encode() not in x.value and "lối đi".encode() not in x.value for x in mine)

        async def resolved_as_mediated() -> bool:
            got = (await incidents.get(f"/v1/incidents/{incident_id}", headers=POLICE)).json()
            return got.get("outcome") == "mediated"

        await eventually(resolved_as_mediated)

        # A redelivered referral (another message id, same incident) opens no second case.
        again = IncidentReferredToMediation(
            ward_id=WARD, subject=incident_id, incident_id=incident_id, group_id=GROUP, summary="lặp lại",
            parties=[DisputeParty(display_name="A"), DisputeParty(display_name="B")], referred_at=datetime.now(UTC))
        await _publish(broker.bootstrap, again)
        await eventually(lambda: db.fetchval("mediation", "SELECT count(*) = 1 FROM inbox WHERE message_id = $1",
                                             str(again.id)))
        assert await db.fetchval("mediation", "SELECT count(*) FROM cases WHERE referral_incident_id = $1",
                                 incident_id) == 1

        # The way back: a matter that may not be mediated is refused and returns to the police.
        assault = await _refer(incidents, "Xô xát, một bên bị thương")
        refused: dict = {}

        async def second_case() -> bool:
            cases = (await mediation.get("/v1/cases", params={"referral_incident_id": assault},
                                         headers=as_(LEADER))).json()["items"]
            refused.update(cases[0] if cases else {})
            return bool(refused)

        await eventually(second_case)
        r = await mediation.post(f"/v1/cases/{refused['case_id']}/refusal", headers=as_(LEADER),
                                 json={"ground": "criminal_offence"})
        assert r.status_code == 200, r.text

        def returned(recs) -> bool:
            return any(header(x, "ce_type") == "incidents.incident.returned_to_police.v1" for x in recs)

        cases_topic = await read_topic(broker.bootstrap, "mediation.cases", timeout=10,
                                       until=lambda rs: any(header(x, "ce_type") == "mediation.case.refused.v1"
                                                            for x in rs))
        [refusal] = [json.loads(x.value) for x in cases_topic if header(x, "ce_type") == "mediation.case.refused.v1"]
        assert refusal["referral_incident_id"] == assault and "Art. 3(1)(c)" in refusal["reason"]
        back = await read_topic(broker.bootstrap, "incidents.incidents", until=returned, timeout=30)
        [gave_back] = [json.loads(x.value) for x in back if returned([x])]
        assert gave_back["incident_id"] == assault and gave_back["mediation_case_id"] == refused["case_id"]
