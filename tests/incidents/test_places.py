"""Places of incidents through the HTTP API (issue 18): the precision each role sees, nearby duplicates at 49 m and
not at 51 m (points offset along real WGS84 geodesics), crime tips never offered to residents or the public, "me
too" counted once per person, an official's merge, bounding-box and radius lists on their indexes, and bad
coordinates answered as RFC 9457 problems. No event carries a point or a person."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from geographiclib.geodesic import Geodesic

from services.incidents import repository
from services.incidents.bootstrap import build
from shared import clock
from tests.conftest import auth, settings_for
from tests.incidents.conftest import GROUP, OTHER_GROUP, WARD, registry_facts, seed

pytestmark = pytest.mark.integration

#: A point in Hà Nội (Hoàn Kiếm), with more decimals than the ~100 m grid keeps.
LAT, LON = 21.0285431, 105.8542179
RESIDENT = {"resident_id": "r-an", "sub": "user-an"}
NEIGHBOUR = {"resident_id": "r-binh", "sub": "user-binh"}
THIRD = {"resident_id": "r-cuc", "sub": "user-cuc"}


def offset(metres: float, azimuth: float = 37.0, lat: float = LAT, lon: float = LON) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) along the WGS84 geodesic leaving at ``azimuth`` degrees."""
    g = Geodesic.WGS84.Direct(lat, lon, azimuth, metres)
    return g["lat2"], g["lon2"]


def report(category: str = "fire", *, tip: bool = False, lat: float | None = LAT, lon: float | None = LON,
           group: str = GROUP, anonymous: bool = False) -> dict:
    place: dict = {"group_id": group, "address": "Phố Hàng Bạc"}
    if lat is not None:
        place.update(latitude=lat, longitude=lon)
    body = {"category": category, "is_crime_tip": tip, "description": "Khói bốc lên từ kho hàng", "place": place,
            "anonymous": anonymous}
    if not anonymous:
        body["reporter"] = {"full_name": "Nguyễn Văn An"}
    return body


async def made(service, body: dict, who: dict = RESIDENT) -> str:
    answer = await service.post("/v1/incidents", json=body, headers=auth("resident", **who))
    assert answer.status_code == 201, answer.text
    return answer.json()["incident_id"]


def problem(answer, status: int = 422) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    return body


async def nearby(service, lat: float, lon: float, category: str = "fire", headers=None, public: bool = False):
    path = "/v1/public/nearby" if public else "/v1/incidents/nearby"
    answer = await service.get(path, params={"category": category, "latitude": lat, "longitude": lon},
                               headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def outbox_text(db) -> str:
    rows = await db.fetch("incidents", "SELECT event_type, payload, headers FROM outbox ORDER BY seq")
    return json.dumps([{"type": r["event_type"], "payload": bytes(r["payload"]).decode(),
                        "headers": str(r["headers"])} for r in rows])


# -- nearby duplicates ---------------------------------------------------------------------------------------------
async def test_a_duplicate_is_offered_at_49_m_and_not_at_51_m(service, db):
    incident_id = await made(service, report())
    for azimuth in (0.0, 37.0, 90.0, 213.0):  # north, oblique, east (longitude alone), south-west
        at_49, at_51 = offset(49, azimuth), offset(51, azimuth)
        assert Geodesic.WGS84.Inverse(LAT, LON, *at_51)["s12"] == pytest.approx(51, abs=1e-6)
        for headers, public in ((auth("resident", **NEIGHBOUR), False), (None, True), (auth("police"), False)):
            found = await nearby(service, *at_49, headers=headers, public=public)
            assert [i["incident_id"] for i in found] == [incident_id], (azimuth, public)
            assert found[0]["distance_m"] == 50 and found[0]["supporters"] == 0 and found[0]["group_id"] == GROUP
            assert "latitude" not in found[0] and "longitude" not in found[0]
            assert await nearby(service, *at_51, headers=headers, public=public) == [], (azimuth, public)

    # Same category only; open only; received in the last 7 days only; nearest first.
    here = offset(10)
    assert await nearby(service, *here, category="theft", headers=auth("police")) == []
    closer = await made(service, report(lat=here[0], lon=here[1]), who=NEIGHBOUR)
    found = await nearby(service, *offset(12), headers=auth("police"))
    assert [i["incident_id"] for i in found] == [closer, incident_id]
    assert [i["distance_m"] for i in found] == [0, 10]
    await db.fetch("incidents", "UPDATE incidents SET received_at = $2 WHERE incident_id = $1", closer,
                   clock.now() - timedelta(days=7, minutes=1))
    await db.fetch("incidents", "UPDATE incidents SET state = 'closed' WHERE incident_id = $1", incident_id)
    assert await nearby(service, *offset(12), headers=auth("police")) == []


async def test_crime_tips_are_offered_to_police_and_officials_only(service):
    tip_id = await made(service, report("theft", tip=True, anonymous=True))
    near = offset(20)
    for role in ("police", "ward_official"):
        assert [i["incident_id"] for i in await nearby(service, *near, "theft", auth(role))] == [tip_id]
    for headers in (auth("resident", **NEIGHBOUR), auth("team_leader"), auth("team_member"), None):
        assert await nearby(service, *near, "theft", headers, public=headers is None) == []
    # Nor on the map, nor to a "me too" by id (it answers as no such incident).
    bbox = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"
    police_map = (await service.get("/v1/incidents/map", params={"bbox": bbox}, headers=auth("police"))).json()
    assert [f["properties"]["incident_id"] for f in police_map["features"]] == [tip_id]
    for role in ("resident", "team_leader"):
        seen = (await service.get("/v1/incidents/map", params={"bbox": bbox}, headers=auth(role))).json()
        assert seen["features"] == []
    problem(await service.post(f"/v1/incidents/{tip_id}/supporters", headers=auth("resident", **NEIGHBOUR)), 404)
    problem(await service.post(f"/v1/public/incidents/{tip_id}/supporters"), 404)


# -- precision by viewer -------------------------------------------------------------------------------------------------
async def test_each_role_sees_the_point_at_its_precision(service):
    incident_id = await made(service, report())
    bbox = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"
    expected = {
        "police": ([LON, LAT], "exact"),
        "ward_official": ([LON, LAT], "exact"),
        "city_official": ([LON, LAT], "exact"),
        "team_leader": ([105.854, 21.029], "approximate"),
        "team_member": ([105.854, 21.029], "approximate"),
        "resident": (None, "group"),
        "admin": (None, "group"),
    }
    for role, (coordinates, precision) in expected.items():
        answer = await service.get("/v1/incidents/map", params={"bbox": bbox}, headers=auth(role))
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/geo+json"
        collection = answer.json()
        assert collection["type"] == "FeatureCollection", role
        [feature] = collection["features"]
        assert feature["properties"] == {
            "incident_id": incident_id, "category": "fire", "state": "received", "group_id": GROUP,
            "received_at": feature["properties"]["received_at"], "precision": precision, "supporters": 0}, role
        if coordinates is None:
            assert feature["geometry"] is None, role
            assert str(LAT)[:6] not in answer.text and str(LON)[:6] not in answer.text, role
        else:
            assert feature["geometry"] == {"type": "Point", "coordinates": coordinates}, role
        if precision == "approximate":
            assert str(LAT) not in answer.text and "21.0285" not in answer.text

    # Lists and the detail carry `place` at the same precision.
    police = (await service.get("/v1/incidents", headers=auth("police"))).json()["items"][0]
    assert police["place"] == {"latitude": LAT, "longitude": LON, "precision": "exact", "group_id": GROUP}
    detail = (await service.get(f"/v1/incidents/{incident_id}", headers=auth("ward_official"))).json()
    assert detail["place"]["latitude"] == LAT and detail["place"]["precision"] == "exact"
    own = (await service.get("/v1/incidents", headers=auth("resident", **RESIDENT))).json()["items"][0]
    assert own["place"] == {"latitude": None, "longitude": None, "precision": "group", "group_id": GROUP}
    own_detail = await service.get(f"/v1/incidents/{incident_id}", headers=auth("resident", **RESIDENT))
    assert own_detail.json()["place"]["precision"] == "group" and str(LAT) not in own_detail.text
    # Outside the box, nothing; another ward's map, nothing.
    away = f"{LON + 0.02},{LAT + 0.02},{LON + 0.03},{LAT + 0.03}"
    assert (await service.get("/v1/incidents/map", params={"bbox": away}, headers=auth("police"))).json()[
        "features"] == []
    elsewhere = await service.get("/v1/incidents/map", params={"bbox": bbox}, headers=auth("police", ward="hoa-binh"))
    assert elsewhere.json()["features"] == []


# -- lists by bounding box and radius, on their indexes -----------------------------------------------------------------
async def test_lists_filter_by_bounding_box_and_radius(service):
    here = await made(service, report())
    far_point = offset(2000, 90)
    far = await made(service, report(lat=far_point[0], lon=far_point[1], group=OTHER_GROUP))
    unplaced = await made(service, report(lat=None))

    async def listed(**params) -> list[str]:
        answer = await service.get("/v1/incidents", params=params, headers=auth("police"))
        assert answer.status_code == 200, answer.text
        return [i["incident_id"] for i in answer.json()["items"]]

    assert set(await listed()) == {here, far, unplaced}
    assert await listed(bbox=f"{LON - 0.001},{LAT - 0.001},{LON + 0.001},{LAT + 0.001}") == [here]
    assert await listed(bbox=f"{LON - 0.001},{LAT - 0.001},{LON + 0.03},{LAT + 0.001}") == [far, here]
    assert await listed(near=f"{LAT},{LON}", radius_m=1990) == [here]
    assert await listed(near=f"{LAT},{LON}", radius_m=2010) == [far, here]
    assert await listed(near=f"{LAT},{LON}", radius_m=2010, group_id=OTHER_GROUP) == [far]
    # Paging goes on through the filter.
    first = (await service.get("/v1/incidents", params={"near": f"{LAT},{LON}", "radius_m": 2010, "limit": 1},
                               headers=auth("police"))).json()
    second = (await service.get("/v1/incidents", params={"near": f"{LAT},{LON}", "radius_m": 2010, "limit": 1,
                                                         "cursor": first["next_cursor"]}, headers=auth("police"))).json()
    assert [i["incident_id"] for i in first["items"] + second["items"]] == [far, here]


async def test_the_place_queries_use_their_gist_indexes(db):
    conn = await db.connect("incidents")
    try:
        await conn.execute("SET enable_seqscan = off")
        box = repository._IN_BBOX.format(1, 2, 3, 4)
        plan = await conn.fetch(f"EXPLAIN SELECT * FROM incidents WHERE {repository._HAS_POINT} AND {box}",
                                105.8, 21.0, 105.9, 21.1)
        assert "incidents_point_lonlat" in "\n".join(r[0] for r in plan)
        near = repository._NEAR_BOX.format(1, 2, 3)
        plan = await conn.fetch(f"EXPLAIN SELECT * FROM incidents WHERE {repository._HAS_POINT} AND {near}",
                                LAT, LON, 50.0)
        assert "incidents_point_earth" in "\n".join(r[0] for r in plan)
    finally:
        await conn.close()


# -- bad coordinates ----------------------------------------------------------------------------------------------
async def test_bad_coordinates_answer_problem_details(service):
    headers = auth("resident", **RESIDENT)
    for place in ({"group_id": GROUP, "latitude": 91, "longitude": 105},
                  {"group_id": GROUP, "latitude": 21, "longitude": -180.5},
                  {"group_id": GROUP, "latitude": 21},
                  {"group_id": GROUP, "longitude": 105},
                  {"group_id": GROUP, "latitude": "north", "longitude": 105}):
        problem(await service.post("/v1/incidents", json={**report(), "place": place}, headers=headers))
        public = {k: v for k, v in report(anonymous=True).items() if k != "anonymous"}
        problem(await service.post("/v1/public/tips", json={**public, "place": place}))
    for params in ({"latitude": 95, "longitude": 105}, {"latitude": 21, "longitude": 181},
                   {"latitude": "x", "longitude": 105}, {"longitude": 105}):
        problem(await service.get("/v1/incidents/nearby", params={"category": "fire", **params}, headers=headers))
        problem(await service.get("/v1/public/nearby", params={"category": "fire", **params}))
    for bbox in ("1,2,3", "a,b,c,d", "106,21,105,22", "105,91,106,92", "nan,21,106,22", "inf,21,106,22"):
        problem(await service.get("/v1/incidents/map", params={"bbox": bbox}, headers=headers))
        problem(await service.get("/v1/incidents", params={"bbox": bbox}, headers=headers))
    for params in ({"near": f"{LAT},{LON}"}, {"near": f"{LAT},{LON}", "radius_m": 0},
                   {"near": f"{LAT},{LON}", "radius_m": 5001}, {"near": "91,105", "radius_m": 10},
                   {"near": f"{LAT}", "radius_m": 10}, {"radius_m": 10}):
        problem(await service.get("/v1/incidents", params=params, headers=headers))
    problem(await service.get("/v1/incidents/map", headers=headers))  # bbox is required


# -- "me too" and merging -------------------------------------------------------------------------------------------------
async def test_supporters_count_once_per_person_and_anonymous_ones_follow_up(service, db):
    incident_id = await made(service, report())
    url = f"/v1/incidents/{incident_id}/supporters"
    first = await service.post(url, headers=auth("resident", **NEIGHBOUR))
    assert first.status_code == 200 and first.json() == {"incident_id": incident_id, "supporters": 1, "counted": True}
    again = await service.post(url, headers=auth("resident", **NEIGHBOUR))  # a new token, the same person
    assert again.json() == {"incident_id": incident_id, "supporters": 1, "counted": False}
    own = await service.post(url, headers=auth("resident", **RESIDENT))  # the reporter is counted already
    assert own.json()["counted"] is False and own.json()["supporters"] == 1
    assert (await service.post(url, headers=auth("resident", **THIRD))).json()["supporters"] == 2

    anonymous = await service.post(f"/v1/public/incidents/{incident_id}/supporters",
                                   headers={"User-Agent": "Zalo/1.0 (Nokia 3310)"})
    assert anonymous.status_code == 201, anonymous.text
    receipt = anonymous.json()
    assert receipt["supporters"] == 3 and receipt["follow_up_code"] and receipt["secret"]
    follow = await service.post("/v1/public/supporters/follow-up",
                                json={"follow_up_code": receipt["follow_up_code"], "secret": receipt["secret"]})
    assert follow.status_code == 200 and follow.json()["incident_id"] == incident_id
    assert follow.json()["supporters"] == 3 and follow.json()["state"] == "received"
    problem(await service.post("/v1/public/supporters/follow-up",
                               json={"follow_up_code": receipt["follow_up_code"], "secret": "wrong"}), 404)
    problem(await service.post("/v1/public/incidents/no-such-id/supporters"), 404)
    problem(await service.post(url, headers=auth("resident", ward="hoa-binh")), 404)

    listed = (await service.get("/v1/incidents", headers=auth("police"))).json()["items"][0]
    detail = (await service.get(f"/v1/incidents/{incident_id}", headers=auth("police"))).json()
    assert listed["supporters"] == detail["supporters"] == 3

    # Stored: a pseudonym or a random key, never the resident, the user, the address or the agent.
    stored = json.dumps([dict(r) for r in await db.fetch("incidents", "SELECT * FROM incident_supporters")],
                        default=str)
    for secret in ("r-binh", "user-binh", "r-cuc", "Zalo", "127.0.0.1", receipt["secret"]):
        assert secret not in stored
    actors = [r["actor"] for r in await db.fetch("incidents", "SELECT actor FROM audit_log")]
    assert not any("user-" in a or a.startswith("r-") for a in actors)
    events = await outbox_text(db)
    counts = [json.loads(bytes(r["payload"]))["supporters"] for r in await db.fetch(
        "incidents", "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq", "incidents.incident.supported.v1")]
    assert counts == [1, 2, 3]
    for secret in ("r-binh", "user-binh", "Nguyễn", str(LAT), "21.028", "105.854"):
        assert secret not in events


async def test_an_official_merges_a_duplicate_and_its_people_count_on_the_survivor(service, db):
    survivor = await made(service, report())
    dup_point = offset(30)
    duplicate = await made(service, report(lat=dup_point[0], lon=dup_point[1]), who=NEIGHBOUR)
    await service.post(f"/v1/incidents/{survivor}/supporters", headers=auth("resident", **THIRD))
    await service.post(f"/v1/incidents/{duplicate}/supporters", headers=auth("resident", **THIRD))  # both: once
    await service.post(f"/v1/incidents/{duplicate}/supporters", headers=auth("resident", **RESIDENT))  # A's reporter
    anonymous = (await service.post(f"/v1/public/incidents/{duplicate}/supporters")).json()

    body = {"into": survivor, "reason": "Cùng một đám cháy"}
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json=body, headers=auth("resident")), 403)
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json=body, headers=auth("team_leader")), 403)
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json=body,
                               headers=auth("ward_official", ward="hoa-binh")), 404)
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json={**body, "into": duplicate},
                               headers=auth("ward_official")))
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json={**body, "into": "nope"},
                               headers=auth("ward_official")), 404)

    official = auth("ward_official", sub="can-bo-phuong")
    merged = await service.post(f"/v1/incidents/{duplicate}/merge", json=body, headers=official)
    assert merged.status_code == 200, merged.text
    # Survivor: THIRD (once), the duplicate's reporter (NEIGHBOUR), the anonymous one; RESIDENT is its own reporter.
    assert merged.json()["state"] == "closed"
    assert merged.json()["outcome"] == "merged" and merged.json()["merged_into"] == survivor
    assert merged.json()["into_supporters"] == 3
    detail = (await service.get(f"/v1/incidents/{duplicate}", headers=auth("police"))).json()
    assert detail["state"] == "closed" and detail["outcome"] == "merged" and detail["merged_into"] == survivor
    assert (await service.get(f"/v1/incidents/{survivor}", headers=auth("police"))).json()["supporters"] == 3

    # The duplicate is no longer offered; the survivor is, with its count.
    offered = await nearby(service, *offset(5), headers=auth("police"))
    assert [(i["incident_id"], i["supporters"]) for i in offered] == [(survivor, 3)]
    # Both trails say so; the audit trail names the official; the anonymous supporter now follows the survivor.
    trail = (await service.get(f"/v1/incidents/{duplicate}/history", headers=auth("police"))).json()["items"]
    assert (trail[-1]["action"], trail[-1]["to_state"], trail[-1]["actor"]) == ("merge", "closed", "can-bo-phuong")
    trail = (await service.get(f"/v1/incidents/{survivor}/history", headers=auth("police"))).json()["items"]
    assert trail[-1]["action"] == "absorb" and duplicate in trail[-1]["reason"]
    audit = await db.fetch("incidents", "SELECT command, actor, target_id FROM audit_log WHERE command = $1",
                           "incident.merge")
    assert [(r["actor"], r["target_id"]) for r in audit] == [("can-bo-phuong", duplicate)]
    follow = await service.post("/v1/public/supporters/follow-up",
                                json={"follow_up_code": anonymous["follow_up_code"], "secret": anonymous["secret"]})
    assert follow.json()["incident_id"] == survivor and follow.json()["supporters"] == 3

    events = await outbox_text(db)
    rows = await db.fetch("incidents", "SELECT payload FROM outbox WHERE event_type = $1",
                          "incidents.incident.merged.v1")
    [payload] = [json.loads(bytes(r["payload"])) for r in rows]
    assert payload["incident_id"] == duplicate and payload["into"] == survivor and payload["ward_id"] == WARD
    assert payload["group_id"] == GROUP
    for secret in (str(LAT), "21.028", "105.854", "r-an", "user-an", "r-binh", "Nguyễn"):
        assert secret not in events

    # Closed now: neither merged again, nor merged into, nor supported.
    problem(await service.post(f"/v1/incidents/{duplicate}/merge", json=body, headers=official))
    other = await made(service, report(), who=THIRD)
    problem(await service.post(f"/v1/incidents/{other}/merge", json={**body, "into": duplicate}, headers=official))
    problem(await service.post(f"/v1/incidents/{duplicate}/supporters", headers=auth("resident", **THIRD)))


async def test_the_public_routes_of_places_are_rate_limited_per_address(db, started):
    limit = 3
    await seed(db, registry_facts())
    app = build(settings_for("incidents", db, None, public_rate_limit=limit, public_rate_window_s=3600))
    await started(app.state.runtime, wait_assigned=False)

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://incidents")

    async with client("203.0.113.8") as one, client("198.51.100.10") as other:
        incident_id = await made(one, report())
        params = {"category": "fire", "latitude": LAT, "longitude": LON}
        assert [(await one.get("/v1/public/nearby", params=params)).status_code for _ in range(limit)] == [200] * limit
        problem(await one.get("/v1/public/nearby", params=params), 429)
        supported = [await one.post(f"/v1/public/incidents/{incident_id}/supporters") for _ in range(limit)]
        assert [r.status_code for r in supported] == [201] * limit
        problem(await one.post(f"/v1/public/incidents/{incident_id}/supporters"), 429)
        assert (await other.get("/v1/public/nearby", params=params)).status_code == 200  # another address
    assert await db.fetchval("incidents", "SELECT supporters FROM incidents WHERE incident_id = $1", incident_id) == limit
