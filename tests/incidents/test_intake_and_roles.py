"""Intake and who sees what: identified and anonymous reporters, cameras from the registry, roles and wards."""

from __future__ import annotations

import json
import uuid

import pytest

from shared.claims import claim_verifier
from tests.conftest import auth
from tests.harness import assert_indistinguishable
from tests.incidents.conftest import CAMERA, GROUP, OLD_CAMERA

pytestmark = pytest.mark.integration

RESIDENT = {"resident_id": "r-an", "sub": "user-an"}
REPORTER = {"full_name": "Nguyễn Văn An", "phone": "0912 345 678"}
EVIDENCE = {"media_type": "image/jpeg", "size_bytes": 20480, "sha256": "a" * 64,
            "file_name": "IMG_2041_NguyenVanAn.jpg", "captured_at": "2026-11-20T21:00:00+07:00"}


def theft(**over) -> dict:
    body = {"category": "theft", "is_crime_tip": True, "description": "Xe máy bị lấy trộm trước nhà",
            "place": {"group_id": GROUP, "address": "12 Trần Phú", "latitude": 10.1, "longitude": 106.2},
            "happened_at": "2026-11-20T21:00:00+07:00", "evidence": [EVIDENCE],
            "footage": [{"camera_id": CAMERA}], "reporter": REPORTER}
    body.update(over)
    return body


async def test_identified_reporter_is_seen_by_police_only_through_the_disclosure(service, db):
    made = await service.post("/v1/incidents", json=theft(), headers=auth("resident", **RESIDENT))
    assert made.status_code == 201, made.text
    incident_id = made.json()["incident_id"]
    assert "secret" not in made.json()

    # The plain read carries no identity, not even for the police: only the pseudonym and `anonymous`.
    read = await service.get(f"/v1/incidents/{incident_id}", headers=auth("police"))
    police = read.json()
    assert read.status_code == 200 and "reporter" not in police
    assert "Nguyễn Văn An" not in read.text and "0912" not in read.text and "r-an" not in read.text
    assert police["anonymous"] is False and police["reporter_ref"]
    assert police["state"] == "received" and police["footage"][0]["camera_id"] == CAMERA
    listed = await service.get("/v1/incidents", headers=auth("police"))
    assert "reporter" not in listed.json()["items"][0] and "Nguyễn Văn An" not in listed.text
    disclosed = await service.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=auth("police"))
    assert disclosed.json()["reporter"] == {"resident_id": "r-an", "full_name": "Nguyễn Văn An",
                                            "phone": "0912 345 678"}

    official = await service.get(f"/v1/incidents/{incident_id}", headers=auth("ward_official"))
    assert official.status_code == 200 and "reporter" not in official.json()
    assert "Nguyễn Văn An" not in official.text and "0912" not in official.text

    own = await service.get(f"/v1/incidents/{incident_id}", headers=auth("resident", **RESIDENT))
    assert own.status_code == 200 and "reporter" not in own.json()
    mine = (await service.get("/v1/incidents", headers=auth("resident", **RESIDENT))).json()["items"]
    assert [i["incident_id"] for i in mine] == [incident_id]

    neighbour = {"resident_id": "r-binh", "sub": "user-binh"}
    assert (await service.get(f"/v1/incidents/{incident_id}", headers=auth("resident", **neighbour))).status_code == 404
    assert (await service.get("/v1/incidents", headers=auth("resident", **neighbour))).json()["items"] == []
    other_ward = await service.get(f"/v1/incidents/{incident_id}", headers=auth("police", ward="hoa-binh"))
    assert other_ward.status_code == 404

    # At rest: the identity only as ciphertext; the audit trail names a pseudonym, not the resident.
    row = (await db.fetch("incidents", "SELECT * FROM incidents WHERE incident_id = $1", incident_id))[0]
    assert b"Nguy" not in row["reporter_identity"] and row["follow_up_code"] is None
    actors = [r["actor"] for r in await db.fetch("incidents", "SELECT actor FROM audit_log")]
    assert actors and all("user-an" not in a and "r-an" not in a for a in actors)


async def test_anonymous_tip_keeps_nothing_that_identifies_the_reporter(service, db):
    headers = auth("resident", **RESIDENT)
    refused = await service.post("/v1/incidents", json=theft(anonymous=True, reporter=None),
                                 headers={**headers, "Idempotency-Key": "k-1"})
    assert refused.status_code == 422

    made = await service.post("/v1/incidents", json=theft(anonymous=True, reporter=None),
                              headers={**headers, "User-Agent": "Zalo/1.0 (Nokia 3310)"})
    assert made.status_code == 201, made.text
    reply = made.json()
    code, secret, incident_id = reply["follow_up_code"], reply["secret"], reply["incident_id"]

    row = dict((await db.fetch("incidents", "SELECT * FROM incidents WHERE incident_id = $1", incident_id))[0])
    assert row["reporter_identity"] is None and row["secret_hash"] != secret and secret not in json.dumps(
        {k: str(v) for k, v in row.items()})
    assert json.loads(row["evidence"]) == [{"media_type": "image/jpeg", "size_bytes": 20480, "sha256": "a" * 64}]
    everything = json.dumps([dict(r) for r in await db.fetch("incidents", "SELECT * FROM audit_log")], default=str)
    everything += json.dumps([dict(r) for r in await db.fetch("incidents", "SELECT * FROM idempotency_keys")],
                             default=str)
    assert "user-an" not in everything and "r-an" not in everything and "Zalo" not in everything
    assert secret not in everything

    # The tip is not among the resident's own reports: nothing links it to them.
    assert (await service.get("/v1/incidents", headers=headers)).json()["items"] == []
    wrong = await service.post("/v1/follow-up", json={"follow_up_code": code, "secret": "guess"}, headers=headers)
    assert wrong.status_code == 404
    status = await service.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret},
                                headers=auth("resident", sub="someone-else"))
    assert status.status_code == 200 and status.json()["state"] == "received"
    # The claim secret for awards: derived from the follow-up secret, never kept; only its verifier is.
    claim = status.json()["claim_secret"]
    assert claim and claim not in json.dumps({k: str(v) for k, v in row.items()})
    assert row["claim_verifier"] == claim_verifier(claim, row["reporter_ref"])
    police = (await service.get(f"/v1/incidents/{incident_id}", headers=auth("police"))).json()
    assert police["anonymous"] is True and "reporter" not in police
    disclosed = await service.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=auth("police"))
    assert disclosed.json() == {"incident_id": incident_id, "anonymous": True, "reporter": None}


@pytest.mark.parametrize("change, problem", [  # the rules themselves: tests/incidents/test_handlers.py
    ({"footage": [{"camera_id": OLD_CAMERA}]}, "decommissioned"),
    ({"category": "kidnapping"}, "does not match the schema"),
    ({"surprise": True}, "does not match the schema"),
    ({"place": {"group_id": GROUP, "latitude": 10.0}}, "does not match the schema"),
])
async def test_bad_intake_is_refused_and_nothing_is_written(service, db, change, problem):
    answer = await service.post("/v1/incidents", json=theft(**change), headers=auth("resident", **RESIDENT))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json" and problem in answer.json()["detail"]
    assert "Nguyễn Văn An" not in answer.text
    assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 0
    assert await db.fetchval("incidents", "SELECT count(*) FROM outbox") == 0


async def test_another_wards_incident_answers_as_one_that_does_not_exist(service):
    made = await service.post("/v1/incidents", json=theft(), headers=auth("resident", **RESIDENT))
    theirs, nobody = made.json()["incident_id"], str(uuid.uuid4())
    police_elsewhere = auth("police", ward="hoa-binh")
    for method, suffix, body in [("GET", "", None), ("GET", "/history", None), ("POST", "/triage", {"note": "x"}),
                                 ("POST", "/assign", {"kind": "police", "officer": "p"}),
                                 ("POST", "/resolve", {"outcome": "solved", "note": "xong"})]:
        answers = [await service.request(method, f"/v1/incidents/{i}{suffix}", json=body, headers=police_elsewhere)
                   for i in (theirs, nobody)]
        assert_indistinguishable(answers[0], theirs, answers[1], nobody)
        assert answers[0].status_code == 404


async def test_the_incident_list_pages_past_any_fixed_cap(service):
    """Newest first, each once; before, the list stopped at 200 with no way to the rest."""
    made = []
    for i in range(12):
        r = await service.post("/v1/incidents", json=theft(description=f"Vụ trộm số {i}", footage=[]),
                               headers=auth("resident", **RESIDENT))
        assert r.status_code == 201, r.text
        made.append(r.json()["incident_id"])
    seen, cursor = [], None
    while True:
        page = (await service.get("/v1/incidents", params={"limit": 5, **({"cursor": cursor} if cursor else {})},
                                  headers=auth("police"))).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i["incident_id"] for i in seen] == list(reversed(made))
    assert (await service.get("/v1/incidents", params={"limit": 201}, headers=auth("police"))).status_code == 422


async def test_the_reporter_is_disclosed_to_the_police_of_the_ward_only_and_every_disclosure_is_audited(service, db):
    made = await service.post("/v1/incidents", json=theft(), headers=auth("resident", **RESIDENT))
    incident_id = made.json()["incident_id"]
    path = f"/v1/incidents/{incident_id}/reporter-disclosure"

    async def disclosures() -> list[dict]:
        return [dict(r) for r in await db.fetch(
            "incidents", "SELECT * FROM audit_log WHERE command = 'incident.disclose_reporter' ORDER BY seq")]

    # Reading the incident discloses nothing and audits no disclosure.
    assert "reporter" not in (await service.get(f"/v1/incidents/{incident_id}", headers=auth("police"))).json()
    assert await disclosures() == []

    identity = {"resident_id": "r-an", "full_name": "Nguyễn Văn An", "phone": "0912 345 678"}
    for n in (1, 2):  # every disclosure is one audit row: the second reading is audited again
        r = await service.post(path, headers=auth("police", sub=f"officer-{n}"))
        assert r.status_code == 200, r.text
        assert r.json() == {"incident_id": incident_id, "anonymous": False, "reporter": identity}
        rows = await disclosures()
        assert len(rows) == n and (rows[-1]["actor"], rows[-1]["target_id"]) == (f"officer-{n}", incident_id)

    # Refused as the route says, and a refusal is no disclosure: nothing more in the trail.
    assert (await service.post(path, headers=auth("ward_official"))).status_code == 403
    assert (await service.post(path, headers=auth("resident", **RESIDENT))).status_code == 403
    assert (await service.post(path, headers=auth("police", ward="hoa-binh"))).status_code == 404
    assert (await service.post("/v1/incidents/no-such-incident/reporter-disclosure",
                               headers=auth("police"))).status_code == 404
    # No Idempotency-Key: a replay would answer the identity again without an audit row (and keep the reply).
    keyed = await service.post(path, headers={**auth("police"), "Idempotency-Key": "k-disclose"})
    assert keyed.status_code == 422 and "Nguy" not in keyed.text
    assert await db.fetchval("incidents", "SELECT count(*) FROM idempotency_keys "
                                          "WHERE key = 'k-disclose'") == 0
    assert len(await disclosures()) == 2

    anonymous = (await service.post("/v1/incidents", json=theft(anonymous=True, reporter=None),
                                    headers=auth("resident"))).json()["incident_id"]
    r = await service.post(f"/v1/incidents/{anonymous}/reporter-disclosure", headers=auth("police"))
    assert r.status_code == 200 and r.json() == {"incident_id": anonymous, "anonymous": True, "reporter": None}

    rows = await disclosures()
    assert [r["target_id"] for r in rows] == [incident_id, incident_id, anonymous]
    assert "Nguy" not in json.dumps(rows, default=str) and "0912" not in json.dumps(rows, default=str)
