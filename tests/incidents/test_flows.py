"""Flows 2 and 3 of the brief through the incidents service against the real broker: registry, mediation and
awards events go in through Kafka, this service's events come out on Kafka. Then everything it published and
logged is searched for the reporters' identities."""

from __future__ import annotations

import json
import logging
from datetime import date

import httpx
import pytest

from services.incidents.bootstrap import build
from shared.claims import claim_verifier
from shared.contracts.awards import AwardGranted
from shared.contracts.mediation import CaseOpened, CaseRefused, CaseSucceeded
from shared.events import PUBLIC_TOPIC, to_kafka
from tests.conftest import auth, settings_for
from tests.incidents.conftest import CAMERA, GROUP, MEDIATION_TEAM, WARD, registry_facts
from tests.integration.conftest import eventually
from tests.kafka_helpers import header, produce, read_topic

pytestmark = pytest.mark.integration

AN = {"resident_id": "r-an-7731", "sub": "user-an-7731"}
AN_NAME, AN_PHONE = "Nguyễn Văn An", "0912 345 678"
BINH = {"resident_id": "r-binh-5520", "sub": "user-binh-5520"}
BINH_NAME, BINH_PHONE = "Trần Thị Bình", "0987 654 321"
ANON_SUB = "user-anon-9912"
IDENTITIES = [AN_NAME, AN_PHONE, AN_PHONE.replace(" ", ""), AN["resident_id"], AN["sub"],
              BINH_NAME, BINH_PHONE, BINH_PHONE.replace(" ", ""), BINH["resident_id"], BINH["sub"], ANON_SUB]


async def publish(bootstrap: str, *events) -> None:
    for e in events:
        key, value, headers = to_kafka(e)
        await produce(bootstrap, e.topic, value, key=key.encode(), headers=list(headers.items()))


def decoded(records, event_type: str) -> list[dict]:
    return [json.loads(r.value) for r in records if header(r, "ce_type") == event_type]


async def test_flows_2_and_3_through_kafka_without_leaking_reporters(db, broker, started, caplog):
    caplog.set_level(logging.INFO)
    app = build(settings_for("incidents", db, broker))
    await started(app.state.runtime)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                               base_url="http://incidents")
    police = auth("police", sub="ca-khu-vuc-1")

    async def do(incident_id: str, step: str, body: dict | None = None) -> dict:
        answer = await client.post(f"/v1/incidents/{incident_id}/{step}", json=body or {}, headers=police)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def fetch(incident_id: str) -> dict:
        return (await client.get(f"/v1/incidents/{incident_id}", headers=police)).json()

    # Registry facts arrive over Kafka: the camera becomes citable.
    await publish(broker.bootstrap, *registry_facts())

    async def camera_known() -> bool:
        return await db.fetchval("incidents", "SELECT count(*) FROM cameras WHERE facility_id = $1", CAMERA) == 1

    await eventually(camera_known)

    # -- flow 3: crime tips, one anonymous and one identified, solved with footage of a registered camera --------
    tip = {"category": "theft", "is_crime_tip": True, "place": {"group_id": GROUP, "address": "Hẻm 5 Trần Phú"},
           "description": "Nhóm thanh niên lạ trộm xe máy lúc nửa đêm", "footage": [{"camera_id": CAMERA}]}
    anon = await client.post("/v1/incidents", json={**tip, "anonymous": True},
                             headers=auth("resident", sub=ANON_SUB))
    assert anon.status_code == 201
    anon_id, code, secret = anon.json()["incident_id"], anon.json()["follow_up_code"], anon.json()["secret"]
    named_ids = []
    for _ in range(2):  # the same reporter twice: one pseudonym
        named = await client.post("/v1/incidents", json={**tip, "reporter": {"full_name": AN_NAME, "phone": AN_PHONE}},
                                  headers=auth("resident", **AN))
        assert named.status_code == 201
        named_ids.append(named.json()["incident_id"])
    for incident_id in (anon_id, named_ids[0]):
        await do(incident_id, "triage", {"note": "tin có cơ sở"})
        await do(incident_id, "assign", {"kind": "police", "officer": "ca-khu-vuc-1"})
        await do(incident_id, "start")
        await do(incident_id, "resolve", {"outcome": "solved", "note": "đã bắt giữ, thu hồi tài sản"})
    assert "reporter" not in await fetch(named_ids[0])  # the plain read never says who
    disclosed = await client.post(f"/v1/incidents/{named_ids[0]}/reporter-disclosure", headers=police)
    assert disclosed.json()["reporter"]["full_name"] == AN_NAME  # police see who, when they ask (audited)

    records = await read_topic(broker.bootstrap, "incidents.incidents",
                               until=lambda rs: len(decoded(rs, "incidents.incident.resolved.v1")) >= 2)
    resolved = {e["incident_id"]: e for e in decoded(records, "incidents.incident.resolved.v1")}
    assert resolved[anon_id]["outcome"] == "solved" and resolved[anon_id]["camera_ids"] == [CAMERA]
    assert resolved[anon_id]["camera_footage_used"] is True and resolved[anon_id]["is_crime_tip"] is True
    refs = {r["incident_id"]: r["reporter_ref"] for r in await db.fetch("incidents", "SELECT * FROM incidents")}
    assert refs[named_ids[0]] == refs[named_ids[1]] != refs[anon_id]
    assert resolved[named_ids[0]]["reporter_ref"] == refs[named_ids[0]]
    reported = decoded(records, "incidents.incident.reported.v1")
    assert {e["incident_id"] for e in reported} == {anon_id, *named_ids}
    assert all(r.key.decode() == json.loads(r.value)["incident_id"] for r in records)

    # Awards credits the anonymous reporter by reference; the reporter sees it with code and secret alone.
    await publish(broker.bootstrap, AwardGranted(
        ward_id=WARD, subject="aw-1", award_id="aw-1", recipient_kind="reporter",
        recipient_ref=resolved[anon_id]["reporter_ref"], title="Giấy khen tố giác tội phạm", issuer="ward_chairman",
        decision_number="15/QĐ-UBND", decision_date=date(2026, 11, 25), verification_code="VX-7Q2K", year=2026))

    async def recognised() -> bool:
        answer = await client.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret},
                                   headers=auth("resident", sub="any-device"))
        body = answer.json()
        return body.get("outcome") == "solved" and [a["verification_code"] for a in body["recognition"]] == ["VX-7Q2K"]

    await eventually(recognised)
    # The follow-up also shows the claim secret, whose verifier (and only that) went to awards in IncidentResolved:
    # with it, and only with it, the reporter can put a name on the certificate (tests/awards).
    follow = (await client.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret},
                                headers=auth("resident", sub="any-device"))).json()
    claim = follow["claim_secret"]
    assert claim and claim != secret
    assert resolved[anon_id]["reporter_claim_verifier"] == claim_verifier(claim, resolved[anon_id]["reporter_ref"])
    assert resolved[named_ids[0]]["reporter_claim_verifier"] is None  # an identified report has no follow-up
    stored = json.dumps([dict(r) for r in await db.fetch("incidents", "SELECT * FROM incidents")], default=str)
    assert claim not in stored and secret not in stored

    # -- flow 2: disputes referred to mediation; one mediated, one refused and back with the police --------------
    dispute = {"category": "dispute", "place": {"group_id": GROUP}, "description": "Tranh chấp lối đi chung",
               "reporter": {"full_name": BINH_NAME, "phone": BINH_PHONE}}
    dispute_ids = []
    for _ in range(2):
        made = await client.post("/v1/incidents", json=dispute, headers=auth("resident", **BINH))
        dispute_ids.append(made.json()["incident_id"])
        await do(made.json()["incident_id"], "triage")
        await do(made.json()["incident_id"], "refer-to-mediation", {
            "summary": "Hai hộ tranh chấp lối đi chung giữa hai nhà",
            "parties": [{"resident_id": "r-cuong", "display_name": "Hộ ông Cường"}, {"display_name": "Hộ bà Dung"}]})
    records = await read_topic(broker.bootstrap, "incidents.incidents", until=lambda rs: len(
        decoded(rs, "incidents.incident.referred_to_mediation.v1")) >= 2)
    referral = next(e for e in decoded(records, "incidents.incident.referred_to_mediation.v1")
                    if e["incident_id"] == dispute_ids[0])
    assert referral["group_id"] == GROUP and referral["parties"][1] == {"resident_id": None, "display_name": "Hộ bà Dung"}

    facts = {"ward_id": WARD, "group_id": GROUP, "team_id": MEDIATION_TEAM, "kind": "neighbours"}
    await publish(
        broker.bootstrap,
        CaseOpened(**facts, subject="case-1", case_id="case-1", referral_incident_id=dispute_ids[0], origin="referral"),
        CaseSucceeded(**facts, subject="case-1", case_id="case-1", referral_incident_id=dispute_ids[0],
                      mediator_ids=["r-m1", "r-m2"], concluded_on=date(2026, 11, 24)),
        CaseRefused(**facts, subject="case-2", case_id="case-2", referral_incident_id=dispute_ids[1],
                    reason="có dấu hiệu tội phạm, không thuộc phạm vi hòa giải"),
    )

    async def outcomes_back() -> bool:
        return (await fetch(dispute_ids[0]))["outcome"] == "mediated" and (await fetch(dispute_ids[1]))["state"] == "assigned"

    await eventually(outcomes_back)
    back = await fetch(dispute_ids[1])
    assert "không thuộc phạm vi hòa giải" in back["mediation_note"] and back["assignee"]["kind"] == "police"
    records = await read_topic(broker.bootstrap, "incidents.incidents", until=lambda rs: bool(
        decoded(rs, "incidents.incident.returned_to_police.v1")) and any(
        e["outcome"] == "mediated" for e in decoded(rs, "incidents.incident.resolved.v1")))
    mediated = [e for e in decoded(records, "incidents.incident.resolved.v1") if e["outcome"] == "mediated"]
    assert [e["incident_id"] for e in mediated] == [dispute_ids[0]]
    assert decoded(records, "incidents.incident.returned_to_police.v1")[0]["mediation_case_id"] == "case-2"

    # A warning recorded in the same period, to search its topic too.
    warning = {"group_id": GROUP, "kind": "summons", "reason": "nghi vấn tàng trữ", "issued_on": "2026-11-20",
               "person": {"full_name": "Lê Văn Em"}}
    assert (await client.post("/v1/warnings", json=warning, headers=police)).status_code == 201
    await read_topic(broker.bootstrap, "incidents.warnings", min_count=1)
    assert await db.fetchval("incidents", "SELECT count(*) FROM inbox WHERE outcome <> 'handled'") == 0

    # -- nothing the service published or logged names a reporter -------------------------------------------------
    published = []
    for topic in ("incidents.incidents", "incidents.warnings", PUBLIC_TOPIC, "incidents.dead-letter"):
        published += await read_topic(broker.bootstrap, topic, min_count=10_000, timeout=2)
    assert len(published) >= 20
    haystack = "\n".join(
        (r.key or b"").decode() + " " + (r.value or b"").decode() + " "
        + " ".join(f"{k}={v.decode()}" for k, v in r.headers or ()) for r in published
    ) + "\n" + caplog.text + "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "Lê Văn Em" not in haystack
    assert claim not in haystack
    for identity in IDENTITIES + [secret]:
        assert identity not in haystack, "found a reporter's identity in what the service published or logged"
    await client.aclose()
