"""Assisted intake (issue 17): a team leader files a report for a resident of one of their teams' groups. The
resident is the reporter (their identity encrypted as for their own report, the report in their own list); the
leader is ``entered_by``, the actor of the audit entry and of the intake transition; the event says ``assisted``.
Refused: another role, a resident outside the leader's groups (or unknown), a crime tip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.incidents.handlers import REPORTER_PURPOSE
from shared.contracts.registry import ResidentMoved, ResidentRegistered
from tests.conftest import auth
from tests.incidents.conftest import ANXH_TEAM, GROUP, OTHER_GROUP, WARD, seed
from tests.incidents.fakes import dev_protector

pytestmark = pytest.mark.integration

RESIDENT = "r-ba-tu"              # lives in GROUP, the leader's team's group
ELSEWHERE = "r-chu-nam"           # lives in OTHER_GROUP, which no team of the leader works in
NAME, PHONE = "Bà Nguyễn Thị Tư", "0912 345 678"
LEADER = auth("team_leader", WARD, sub="leader-1", team_ids=[ANXH_TEAM])
POLICE = auth("police", WARD, sub="police-1")
REPORT = {"resident_id": RESIDENT, "reporter": {"full_name": NAME, "phone": PHONE}, "category": "public_order",
          "place": {"group_id": GROUP, "address": "Hẻm 5 Trần Phú"}, "description": "Đèn đường hẻm 5 hỏng ba hôm nay"}


def residents(at: datetime | None = None) -> list:
    at = at or datetime.now(UTC)
    return [ResidentRegistered(ward_id=WARD, subject=RESIDENT, resident_id=RESIDENT, household_id="hh-1",
                               group_id=GROUP, full_name=NAME, sex="female", occurred_at=at),
            ResidentRegistered(ward_id=WARD, subject=ELSEWHERE, resident_id=ELSEWHERE, household_id="hh-2",
                               group_id=OTHER_GROUP, full_name="Ông Chu Văn Năm", sex="male", occurred_at=at)]


async def test_a_leader_files_for_a_resident_of_their_group_who_is_the_reporter(service, db):
    await seed(db, residents())
    # The projection keeps the group only: never the name the event carries.
    kept = await db.fetch("incidents", "SELECT * FROM known_residents ORDER BY resident_id")
    assert [(r["resident_id"], r["group_id"]) for r in kept] == [(RESIDENT, GROUP), (ELSEWHERE, OTHER_GROUP)]
    assert NAME not in json.dumps([dict(r) for r in kept], default=str)

    made = await service.post("/v1/incidents/assisted", json=REPORT, headers={**LEADER, "Idempotency-Key": "a-1"})
    assert made.status_code == 201, made.text
    assert made.json() == {"incident_id": made.json()["incident_id"], "state": "received", "assisted": True}
    iid = made.json()["incident_id"]
    again = await service.post("/v1/incidents/assisted", json=REPORT, headers={**LEADER, "Idempotency-Key": "a-1"})
    assert again.json() == made.json() and again.headers.get("Idempotent-Replayed") == "true"

    # The resident is the reporter: the police disclose them, with the pseudonym of their own reports.
    disclosed = (await service.post(f"/v1/incidents/{iid}/reporter-disclosure", headers=POLICE)).json()
    assert disclosed["anonymous"] is False
    assert disclosed["reporter"] == {"resident_id": RESIDENT, "full_name": NAME, "phone": PHONE}
    row = (await db.fetch("incidents", "SELECT * FROM incidents WHERE incident_id = $1", iid))[0]
    assert row["reporter_ref"] == dev_protector().pseudonym(RESIDENT, REPORTER_PURPOSE)
    assert row["assisted"] is True and row["entered_by"] == "leader-1" and not row["is_crime_tip"]
    assert NAME.encode() not in row["reporter_identity"] and PHONE.encode() not in row["reporter_identity"]

    # The police see that it was assisted and who entered it; the resident sees it in their own list, assisted.
    seen = (await service.get(f"/v1/incidents/{iid}", headers=POLICE)).json()
    assert seen["assisted"] is True and seen["entered_by"] == "leader-1" and seen["anonymous"] is False
    official = (await service.get(f"/v1/incidents/{iid}", headers=auth("ward_official", WARD))).json()
    assert "assisted" not in official and "entered_by" not in official
    resident = auth("resident", WARD, sub="resident-tu", resident_id=RESIDENT)
    own = (await service.get("/v1/incidents", headers=resident)).json()
    assert [i["incident_id"] for i in own["items"]] == [iid]
    mine = (await service.get(f"/v1/incidents/{iid}", headers=resident)).json()
    assert mine["assisted"] is True and "entered_by" not in mine

    # The trail: the leader entered it (transition, audit); the event says assisted and names no one.
    history = (await service.get(f"/v1/incidents/{iid}/history", headers=POLICE)).json()["items"]
    assert history[0]["action"] == "report" and history[0]["actor"] == "leader-1"
    audit = (await db.fetch("incidents", "SELECT * FROM audit_log WHERE target_id = $1", iid))[0]
    assert audit["actor"] == "leader-1" and audit["command"] == "incident.report_for_resident"
    assert RESIDENT not in json.dumps(dict(audit), default=str) and NAME not in json.dumps(dict(audit), default=str)
    events = await db.fetch("incidents", "SELECT payload FROM outbox WHERE event_type = "
                                         "'incidents.incident.reported.v1'")
    assert len(events) == 1  # the replay filed nothing twice
    payload = json.loads(bytes(events[0]["payload"]))
    data = payload.get("data", payload)
    assert data["assisted"] is True and data["anonymous"] is False
    for secret in (RESIDENT, NAME, PHONE, "leader-1"):
        assert secret not in json.dumps(payload, ensure_ascii=False)


async def test_who_may_file_for_whom(service, db):
    await seed(db, residents())

    async def refused(body: dict, headers) -> tuple[int, dict]:
        r = await service.post("/v1/incidents/assisted", json=body, headers=headers)
        assert r.headers["content-type"] == "application/problem+json", r.text
        return r.status_code, r.json()

    # Not a leader: a resident for a neighbour, a team member, the police (they take reports themselves).
    for role in ("resident", "team_member", "police"):
        status, problem = await refused(REPORT, auth(role, WARD, team_ids=[ANXH_TEAM]))
        assert status == 403, (role, problem)
    # A resident of a group none of the leader's teams works in, or one incidents does not know: the same 403.
    outside, _ = await refused({**REPORT, "resident_id": ELSEWHERE}, LEADER)
    unknown, unknown_problem = await refused({**REPORT, "resident_id": "r-nobody"}, LEADER)
    assert outside == unknown == 403 and "team leader" in unknown_problem["detail"]
    # A leader of another ward's team (its team id in the token) reaches nobody here.
    assert (await refused(REPORT, auth("team_leader", "other-ward", team_ids=[ANXH_TEAM])))[0] == 403
    # A crime tip is never filed on someone's behalf.
    status, problem = await refused({**REPORT, "is_crime_tip": True}, LEADER)
    assert status == 422 and problem["type"].endswith("rule-violated") and "anonymous" in problem["detail"]
    # No anonymous assisted report: the command has no such field.
    assert (await refused({**REPORT, "anonymous": True}, LEADER))[0] == 422
    assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 0

    # The resident moves to the other group: the leader no longer files for them; an older event changes nothing.
    now = datetime.now(UTC)
    await seed(db, [ResidentMoved(ward_id=WARD, subject=RESIDENT, resident_id=RESIDENT, from_household_id="hh-1",
                                  to_household_id="hh-2", group_id=OTHER_GROUP, occurred_at=now + timedelta(seconds=5)),
                    *residents(now - timedelta(days=1))])
    assert (await refused(REPORT, LEADER))[0] == 403
    assert await db.fetchval("incidents", "SELECT group_id FROM known_residents WHERE resident_id = $1",
                             RESIDENT) == OTHER_GROUP
