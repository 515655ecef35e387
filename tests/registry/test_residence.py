"""Residence declarations, stay notices, the expiry job and the "checks due" view, through the API."""

from __future__ import annotations

import json
from datetime import timedelta

from shared import clock


async def _setup(api):
    await api.ward()
    group = await api.group()
    home = await api.household(group["group_id"])
    landlord = await api.resident(home["household_id"], "Chủ trọ Hoàng Văn Em")
    lodging = await api.household(group["group_id"])
    lodger = await api.resident(lodging["household_id"], "Sinh viên Vũ Thị Giang", "female")
    house = await api.ok("POST", "/v1/boarding-houses", {
        "group_id": group["group_id"], "name": "Nhà trọ Hoàng Em", "address": "12 ngõ 5 Trần Phú",
        "landlord_resident_id": landlord["resident_id"], "rooms": ["P101", "P102"]})
    return group, landlord, lodger, house


async def test_declarations_through_the_api_and_how_their_refusals_answer(registry, db):
    """The Law on Residence's rules: tests/registry/test_handlers.py. Here: the routes and their statuses."""
    api, _ = registry
    group, _, lodger, house = await _setup(api)
    body = {"resident_id": lodger["resident_id"], "boarding_house_id": house["boarding_house_id"], "room": "P101",
            "valid_from": "2025-09-01", "valid_until": "2026-06-30"}
    decl = await api.ok("POST", "/v1/temporary-residences", body)
    assert decl["status"] == "active" and decl["group_id"] == group["group_id"]
    before = await db.fetchval("registry", "SELECT count(*) FROM outbox")
    for payload, status in [
        ({**body, "valid_from": "2026-01-01", "valid_until": "2026-12-31"}, 409),  # overlaps the first
        ({**body, "valid_from": "2026-08-01", "valid_until": "2026-08-20"}, 422),  # under 30 days: a rule
        ({**body, "valid_from": "2026-08-01", "valid_until": "2026-12-01", "stay": "long"}, 422),  # unknown field
    ]:
        r = await api.call("POST", "/v1/temporary-residences", json=payload)
        assert r.status_code == status, (payload, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert await db.fetchval("registry", "SELECT count(*) FROM outbox") == before

    path = f"/v1/temporary-residences/{decl['declaration_id']}"
    assert (await api.ok("POST", f"{path}/renew", {"valid_until": "2027-06-30"}))["valid_until"] == "2027-06-30"
    assert (await api.ok("POST", f"{path}/end", {"ended_on": "2026-12-31"}))["status"] == "ended"
    assert (await api.call("POST", f"{path}/renew", json={"valid_until": "2028-01-01"})).status_code == 422
    assert (await api.call("POST", f"{path}/end", json={"ended_on": "2026-12-31"}, role="resident")).status_code == 403
    listed = await api.ok("GET", "/v1/declarations", role="police", params={"status": "ended"})
    assert [d["declaration_id"] for d in listed["items"]] == [decl["declaration_id"]]

    absence = {"resident_id": lodger["resident_id"], "case": "military_age", "absent_from": "2026-01-01",
               "absent_until": "2026-05-01", "destination": "Hà Nội"}
    assert (await api.call("POST", "/v1/absences", json={**absence, "absent_until": "2026-02-01"})).status_code == 422
    assert (await api.ok("POST", "/v1/absences", absence))["kind"] == "absence"


async def test_a_team_leader_reads_the_groups_of_their_teams_and_nothing_else(registry):
    api, _ = registry
    group, landlord, lodger, house = await _setup(api)
    other = await api.group("Tổ dân phố Lê Lợi")
    team = await api.team(group["group_id"], "anxh", "Tổ ANXH 1")
    await api.ok("POST", "/v1/stay-notices", {
        "boarding_house_id": house["boarding_house_id"], "lodger_resident_id": lodger["resident_id"],
        "lodger_name": "Vũ Thị Giang", "room": "P101", "arrived_at": clock.now().isoformat()})
    leader = {"role": "team_leader", "team_ids": [team["team_id"]]}
    mine = {"group_id": group["group_id"]}
    for path, count in [("/v1/households", 2), ("/v1/residents", 2), ("/v1/boarding-houses", 1),
                        ("/v1/stay-notices", 1), ("/v1/declarations", 0)]:
        assert len((await api.ok("GET", path, params=mine, **leader))["items"]) == count, path
        for params in ({}, {"group_id": other["group_id"]}):
            assert (await api.call("GET", path, params=params, **leader)).status_code == 403, (path, params)
    seen = await api.ok("GET", f"/v1/households/{lodger['household_id']}", **leader)
    assert [r["full_name"] for r in seen["residents"]] == ["Sinh viên Vũ Thị Giang"]
    assert (await api.ok("GET", f"/v1/residents/{landlord['resident_id']}", **leader)).get("national_id") is None
    member = {"role": "team_member", "team_ids": [team["team_id"]]}
    assert (await api.call("GET", "/v1/households", params=mine, **member)).status_code == 403


async def test_expiry_job_emits_exactly_one_event_per_expired_declaration(registry, db):
    api, runtime = registry
    _, _, lodger, house = await _setup(api)
    expired = await api.ok("POST", "/v1/temporary-residences", {
        "resident_id": lodger["resident_id"], "valid_from": "2024-01-01", "valid_until": "2024-06-30"})
    today = clock.ward_today()
    current = await api.ok("POST", "/v1/temporary-residences", {
        "resident_id": lodger["resident_id"], "boarding_house_id": house["boarding_house_id"],
        "valid_from": str(today - timedelta(days=10)), "valid_until": str(today + timedelta(days=60))})

    assert await runtime.run_job("expire-temporary-residences") == 1
    assert await runtime.run_job("expire-temporary-residences") == 0  # a second run finds nothing to do
    rows = await db.fetch("registry", "SELECT payload FROM outbox WHERE event_type = "
                                      "'registry.residence.temporary_expired.v1'")
    assert [json.loads(bytes(r["payload"]))["declaration_id"] for r in rows] == [expired["declaration_id"]]
    assert (await api.ok("GET", f"/v1/declarations/{expired['declaration_id']}", role="police"))["status"] == "expired"
    assert (await api.ok("GET", f"/v1/declarations/{current['declaration_id']}", role="police"))["status"] == "active"


async def test_stay_notices_are_flagged_late_and_checks_due_lists_what_police_must_see(registry, db):
    api, _ = registry
    _, landlord, lodger, house = await _setup(api)
    today = clock.ward_today()
    decl = await api.ok("POST", "/v1/temporary-residences", {
        "resident_id": lodger["resident_id"], "boarding_house_id": house["boarding_house_id"], "room": "P102",
        "valid_from": str(today - timedelta(days=20)), "valid_until": str(today + timedelta(days=15))})

    due = await api.ok("GET", "/v1/checks-due", role="police", params={"within_days": 30})
    assert [d["declaration_id"] for d in due["declarations_expiring"]] == [decl["declaration_id"]]
    assert [x["resident_id"] for x in due["lodgers_without_stay_notice"]] == [lodger["resident_id"]]
    assert [b["boarding_house_id"] for b in due["boarding_houses_not_checked_this_month"]] == [house["boarding_house_id"]]
    assert (await api.ok("GET", "/v1/checks-due", role="police", params={"within_days": 7}))["declarations_expiring"] == []
    assert (await api.call("GET", "/v1/checks-due", role="resident")).status_code == 403

    # The landlord files the notice two days after arrival: accepted, and flagged late.
    arrived = (clock.now() - timedelta(days=2)).isoformat()
    landlord_claims = {"resident_id": landlord["resident_id"], "household_id": landlord["household_id"]}
    notice = {"boarding_house_id": house["boarding_house_id"], "lodger_resident_id": lodger["resident_id"], "lodger_name": "Vũ Thị Giang",
              "room": "P102", "arrived_at": arrived}
    late = await api.ok("POST", "/v1/stay-notices", notice, role="resident", **landlord_claims)
    assert late["late"] is True
    on_time = await api.ok("POST", "/v1/stay-notices", {**notice, "lodger_resident_id": None, "lodger_name": "Khách",
                                                         "arrived_at": (clock.now() - timedelta(minutes=1)).isoformat()})
    # Only a notice filed after the deadline may be late; one minute after arrival is late only across 23:00.
    arrival_local = clock.in_ward_time(clock.now() - timedelta(minutes=1))
    assert on_time["late"] is (arrival_local.hour == 22 and arrival_local.minute == 59)
    stranger = {"resident_id": lodger["resident_id"], "household_id": lodger["household_id"]}
    assert (await api.call("POST", "/v1/stay-notices", role="resident", json=notice, **stranger)).status_code == 403
    future = {**notice, "arrived_at": (clock.now() + timedelta(hours=1)).isoformat()}
    assert (await api.call("POST", "/v1/stay-notices", json=future, role="police")).status_code == 422
    listed = await api.ok("GET", "/v1/stay-notices", role="police", params={"late": "true"})
    assert [n["notice_id"] for n in listed["items"]] == [late["notice_id"]]

    await api.ok("POST", f"/v1/boarding-houses/{house['boarding_house_id']}/checks", {"checked_on": str(today)}, role="police")
    due = await api.ok("GET", "/v1/checks-due", role="police")
    assert due["lodgers_without_stay_notice"] == [] and due["boarding_houses_not_checked_this_month"] == []
    stay_events = await db.fetch("registry", "SELECT payload FROM outbox WHERE event_type = "
                                             "'registry.residence.stay_notified.v1' ORDER BY seq")
    assert json.loads(bytes(stay_events[0]["payload"]))["late"] is True
