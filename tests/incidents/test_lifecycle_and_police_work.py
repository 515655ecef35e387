"""The lifecycle over HTTP with its audit trail, crime-tip deadlines and the overdue check, warnings and the
monthly briefing (giao ban). The events are checked in the outbox here; the flow tests check them on Kafka."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from services.incidents import handlers
from shared import clock
from shared.contracts.mediation import CaseOpened, CaseSucceeded
from tests.conftest import auth
from tests.incidents.conftest import (
    ANXH_TEAM,
    CAMERA,
    GROUP,
    MEDIATION_TEAM,
    OLD_CAMERA,
    WARD,
    seed,
)

pytestmark = pytest.mark.integration

POLICE = {"sub": "ca-khu-vuc-1"}


async def _report(service, **over) -> str:
    body = {"category": "theft", "is_crime_tip": True, "description": "Trộm xe đạp ở đầu hẻm",
            "place": {"group_id": GROUP}, "anonymous": True}
    body.update(over)
    made = await service.post("/v1/incidents", json=body, headers=auth("resident"))
    assert made.status_code == 201, made.text
    return made.json()["incident_id"]


async def _do(service, incident_id: str, step: str, body: dict | None = None, roles: str = "police"):
    return await service.post(f"/v1/incidents/{incident_id}/{step}", json=body or {}, headers=auth(roles, **POLICE))


async def _run_overdue_check(service, today: date) -> int:
    """The scheduled job, as the runtime runs it, on a chosen day (the tests cannot wait 20 days)."""
    application = service.app.state.runtime.application
    job = application.job("flag-overdue-tips", lambda uow: handlers.flag_overdue_tips(uow, today))
    async with service.app.state.runtime.pool.acquire() as conn, conn.transaction():
        return await job(conn)


async def _events(db, event_type: str) -> list[dict]:
    rows = await db.fetch("incidents", "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq", event_type)
    return [json.loads(bytes(r["payload"])) for r in rows]


async def test_the_lifecycle_over_http_answers_problems_and_keeps_its_trail(service, db):
    """The wiring: commands by HTTP (rules: tests/incidents/test_handlers.py), their problems, the history read."""
    incident_id = await _report(service)
    early = await _do(service, incident_id, "resolve", {"outcome": "solved", "note": "bắt được"})
    assert early.status_code == 422 and "cannot resolve" in early.json()["detail"]
    assert early.headers["content-type"] == "application/problem+json"
    assert (await _do(service, incident_id, "triage", {"note": "tin có cơ sở"}, roles="ward_official")).status_code == 403
    assert (await _do(service, incident_id, "triage", {"note": "x", "surprise": 1})).status_code == 422

    assert (await _do(service, incident_id, "triage", {"note": "tin có cơ sở"})).json()["state"] == "triaged"
    assert (await _do(service, incident_id, "assign", {"kind": "team", "team_id": ANXH_TEAM})).status_code == 200
    assert (await _do(service, incident_id, "start", {"note": "xác minh"})).json()["state"] == "in_progress"
    assert (await _do(service, incident_id, "footage", {"camera_id": CAMERA})).status_code == 200
    solved = await _do(service, incident_id, "resolve", {"outcome": "solved", "note": "đã thu hồi xe"})
    assert solved.json()["state"] == "resolved" and solved.json()["outcome"] == "solved"
    assert (await _do(service, incident_id, "reopen", {"reason": ""})).status_code == 422  # a reason is required
    assert (await _do(service, incident_id, "close", {"note": "xong"})).json()["state"] == "closed"

    history = (await service.get(f"/v1/incidents/{incident_id}/history", headers=auth("ward_official"))).json()
    steps = [(t["action"], t["from_state"], t["to_state"], t["actor"], t["reason"]) for t in history["items"]]
    assert steps[0] == ("report", None, "received", "reporter", None)
    assert steps[-1] == ("close", "resolved", "closed", "ca-khu-vuc-1", "xong") and len(steps) == 6
    assert all(t["at"] for t in history["items"]) and history["next_cursor"] is None
    assert (await service.get(f"/v1/incidents/{incident_id}/history", headers=auth("resident"))).status_code == 403
    audited = [r["command"] for r in await db.fetch("incidents", "SELECT command FROM audit_log ORDER BY seq")]
    assert audited[-2:] == ["incident.resolve", "incident.close"]
    [resolved] = await _events(db, "incidents.incident.resolved.v1")
    assert resolved["camera_ids"] == [CAMERA] and resolved["reporter_ref"]


async def test_the_scheduled_overdue_check_and_the_deadline_extension_over_http(service, db):
    incident_id = await _report(service)
    received_on = clock.ward_today()
    assert await _run_overdue_check(service, received_on + timedelta(days=21)) == 1
    assert (await service.get("/v1/incidents", headers=auth("police"))).json()["items"][0]["overdue"] is True
    extended = await _do(service, incident_id, "extend-deadline", {"reason": "cần giám định"})
    assert extended.status_code == 200 and extended.json()["overdue"] is False
    again = await _do(service, incident_id, "extend-deadline", {"reason": "lần nữa"})
    assert again.status_code == 422 and "only once" in again.json()["detail"]
    assert len(await _events(db, "incidents.incident.overdue.v1")) == 1


async def test_warnings_and_the_monthly_briefing_over_http(service, db):
    """The wiring and who sees what (the briefing's figures: tests/incidents/test_handlers.py)."""
    month = clock.ward_today().strftime("%Y-%m")
    today = clock.ward_today()
    await _report(service)
    dispute = await _report(service, category="dispute", is_crime_tip=False)
    assert (await _do(service, dispute, "triage")).status_code == 200
    referred = await _do(service, dispute, "refer-to-mediation", {
        "summary": "Hai hộ tranh chấp lối đi chung", "parties": [{"display_name": "Hộ bà Dung"}]})
    assert referred.json()["outcome"] == "referred_to_mediation"
    await seed(db, [
        CaseOpened(ward_id=WARD, subject="case-1", case_id="case-1", group_id=GROUP, team_id=MEDIATION_TEAM,
                   referral_incident_id=dispute, kind="neighbours", origin="referral"),
        CaseSucceeded(ward_id=WARD, subject="case-1", case_id="case-1", group_id=GROUP, team_id=MEDIATION_TEAM,
                      referral_incident_id=dispute, kind="neighbours", mediator_ids=["r-m1"], concluded_on=today),
    ])
    mediated = (await service.get(f"/v1/incidents/{dispute}", headers=auth("police"))).json()
    assert mediated["outcome"] == "mediated" and mediated["mediation_case_id"] == "case-1"

    warning = {"group_id": GROUP, "kind": "admonition", "reason": "tụ tập gây mất trật tự",
               "person": {"resident_id": "r-e", "full_name": "Lê Văn Em"}, "issued_on": today.isoformat()}
    assert (await service.post("/v1/warnings", json=warning, headers=auth("ward_official"))).status_code == 403
    assert (await service.post("/v1/warnings", json={**warning, "x": 1}, headers=auth("police"))).status_code == 422
    made = await service.post("/v1/warnings", json=warning, headers=auth("police"))
    assert made.status_code == 201 and set(made.json()) == {"warning_id", "group_id", "kind", "issued_on"}
    police_view = (await service.get(f"/v1/warnings?month={month}", headers=auth("police"))).json()
    official_view = (await service.get(f"/v1/warnings?month={month}", headers=auth("ward_official"))).json()
    assert police_view["items"][0]["person"]["full_name"] == "Lê Văn Em" and "person" not in official_view["items"][0]
    assert police_view["next_cursor"] is None
    [event] = await _events(db, "incidents.warning.recorded.v1")
    assert event["kind"] == "admonition" and "Lê Văn Em" not in json.dumps(event) and "r-e" not in json.dumps(event)

    b = (await service.get(f"/v1/briefings/{GROUP}/{month}", headers=auth("ward_official"))).json()
    assert b["group_name"] == "Tổ dân phố Trần Phú" and b["incidents"]["total"] == 2
    assert b["warnings"]["by_kind"] == {"summons": 0, "admonition": 1} and b["mediations"]["by_status"] == {
        "succeeded": 1}
    assert "Lê Văn Em" not in json.dumps(b)
    printed = await service.get(f"/v1/briefings/{GROUP}/{month}/print", headers=auth("police"))
    assert printed.status_code == 200 and printed.headers["content-type"].startswith("text/html")
    assert "@page" in printed.text and "Tổ dân phố Trần Phú" in printed.text and "case-1" in printed.text
    assert (await service.get(f"/v1/briefings/{GROUP}/{month}", headers=auth("resident"))).status_code == 403
    assert (await service.get(f"/v1/briefings/{GROUP}/2026-13", headers=auth("police"))).status_code == 422
    # Another ward's group answers as one that does not exist (404, as an unknown group), not 422.
    elsewhere = await service.get(f"/v1/briefings/{GROUP}/{month}", headers=auth("police", ward="hoa-binh"))
    unknown = await service.get(f"/v1/briefings/g-nowhere/{month}", headers=auth("police"))
    assert elsewhere.status_code == unknown.status_code == 404 and elsewhere.json()["detail"] == unknown.json()["detail"]
    city = await service.get(f"/v1/briefings/{GROUP}/{month}", headers=auth("city_official", ward="*"))
    assert city.status_code == 200 and city.json()["ward_id"] == WARD and city.json()["incidents"]["total"] == 2


async def test_the_cameras_incidents_knows_are_listed_for_the_ward(service):
    """What a client waits on before citing footage: the registry's cameras as incidents knows them."""
    everyone = (await service.get("/v1/cameras", headers=auth("resident"))).json()
    assert [c["camera_id"] for c in everyone["items"]] == [OLD_CAMERA, CAMERA]  # by id
    assert everyone["next_cursor"] is None
    working = (await service.get("/v1/cameras", params={"in_service": "true", "group_id": GROUP},
                                 headers=auth("police"))).json()["items"]
    assert working == [{"camera_id": CAMERA, "group_id": GROUP, "name": "Camera ngã ba",
                        "location": "Ngã ba Trần Phú - Lê Lợi", "decommissioned_on": None}]
    first = (await service.get("/v1/cameras", params={"limit": 1}, headers=auth("police"))).json()
    rest = (await service.get("/v1/cameras", params={"limit": 1, "cursor": first["next_cursor"]},
                              headers=auth("police"))).json()
    assert len(first["items"]) == len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert (await service.get("/v1/cameras", headers=auth("police", ward="hoa-binh"))).json()["items"] == []
