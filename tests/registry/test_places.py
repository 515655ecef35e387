"""Facilities and boarding houses through the API; a repeated command with its Idempotency-Key."""

from __future__ import annotations

import json


async def test_facility_is_decommissioned_once_and_not_before_it_was_installed(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    camera = await api.ok("POST", "/v1/facilities", {
        "group_id": group["group_id"], "kind": "security_camera", "name": "Camera chợ", "location": "Cổng chợ Phú Sơn",
        "installed_on": "2024-05-01", "funded_by_campaign_id": "campaign-9"})
    path = f"/v1/facilities/{camera['facility_id']}/decommission"
    early = await api.call("POST", path, json={"decommissioned_on": "2024-04-30", "reason": "hỏng"})
    assert early.status_code == 422
    done = await api.ok("POST", path, {"decommissioned_on": "2025-01-10", "reason": "Hỏng do sét"})
    assert done["decommissioned_on"] == "2025-01-10"
    again = await api.call("POST", path, json={"decommissioned_on": "2025-01-11", "reason": "x"})
    assert again.status_code == 409
    rows = await db.fetch("registry", "SELECT event_type, payload FROM outbox WHERE topic = 'registry.facilities' ORDER BY seq")
    assert [r["event_type"] for r in rows] == ["registry.facility.registered.v1", "registry.facility.decommissioned.v1"]
    assert json.loads(bytes(rows[0]["payload"]))["funded_by_campaign_id"] == "campaign-9"
    assert (await api.call("POST", "/v1/facilities", role="resident", json={
        "group_id": group["group_id"], "kind": "fire_point", "name": "x", "location": "y"})).status_code == 403


async def test_boarding_house_rooms_and_landlord_are_checked_and_a_repeated_command_changes_nothing(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    landlord = await api.resident((await api.household(group["group_id"]))["household_id"], "Chủ trọ")
    body = {"group_id": group["group_id"], "name": "Nhà trọ A", "address": "3 Trần Phú",
            "landlord_resident_id": landlord["resident_id"], "rooms": ["1", "1"]}
    assert (await api.call("POST", "/v1/boarding-houses", json=body)).status_code == 422  # rooms twice
    body["rooms"] = ["1", "2"]
    unknown = {**body, "landlord_resident_id": "00000000-0000-4000-8000-000000000000"}
    assert (await api.call("POST", "/v1/boarding-houses", json=unknown)).status_code == 422

    first = await api.call("POST", "/v1/boarding-houses", json=body, headers={"Idempotency-Key": "bh-1"}, sub="clerk-1")
    repeat = await api.call("POST", "/v1/boarding-houses", json=body, headers={"Idempotency-Key": "bh-1"}, sub="clerk-1")
    assert first.status_code == repeat.status_code == 201
    assert repeat.json()["boarding_house_id"] == first.json()["boarding_house_id"] and repeat.headers["Idempotent-Replayed"] == "true"
    assert await db.fetchval("registry", "SELECT count(*) FROM boarding_houses") == 1
    assert await db.fetchval("registry", "SELECT count(*) FROM outbox WHERE topic = 'registry.boarding-houses'") == 1
    listed = await api.ok("GET", "/v1/boarding-houses", role="police")
    assert [b["rooms"] for b in listed["items"]] == [["1", "2"]]
