"""Places in the registry through the API (issue 18): the groups' areas as GeoJSON, the points of facilities and
boarding houses at each viewer's precision, and the bbox filter on their lists."""

from __future__ import annotations

import json

from tests.registry.conftest import outbox_payloads

SQUARE = {"type": "Polygon", "coordinates": [[[105.77, 19.80], [105.78, 19.80], [105.78, 19.81], [105.77, 19.81],
                                              [105.77, 19.80]]]}
FAR = {"type": "MultiPolygon", "coordinates": [[[[105.90, 19.90], [105.91, 19.90], [105.91, 19.91],
                                                  [105.90, 19.90]]]]}
# a boarding house (a home): the exact point, and what a team leader sees of it (~100 m)
HOME = {"latitude": 19.8076543, "longitude": 105.7765432}
HOME_SNAPPED = {"latitude": 19.808, "longitude": 105.777}


def _problem(r, where: str = "body") -> dict:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("#invalid-input") and body["status"] == 422
    assert body["errors"] and all(e["loc"][0] == where for e in body["errors"]), body
    return body


async def test_an_area_is_a_closed_bounded_wgs84_polygon_or_multipolygon_else_a_problem(registry):
    api, _ = registry
    await api.ward()
    group = await api.group()
    path = f"/v1/groups/{group['group_id']}/area"
    ring = SQUARE["coordinates"][0]
    unclosed = {"type": "Polygon", "coordinates": [ring[:-1] + [[105.771, 19.80]]]}
    out_of_range = {"type": "Polygon", "coordinates": [[[181, 19.8], [105.78, 19.8], [105.78, 19.81], [181, 19.8]]]}
    south_of_the_pole = {"type": "Polygon", "coordinates": [[[105.7, -91], [105.8, 19.8], [105.8, 19.9],
                                                             [105.7, -91]]]}
    many = [[105.7 + i * 1e-5, 19.8 + (i % 2) * 1e-5] for i in range(5000)]
    too_many = {"type": "Polygon", "coordinates": [[*many, many[0]]]}  # 5001 positions
    with_altitude = {"type": "Polygon", "coordinates": [[[*p, 10.0] for p in ring]]}
    for body in (unclosed, out_of_range, south_of_the_pole, too_many, with_altitude,
                 {"type": "Point", "coordinates": [105.77, 19.80]},
                 {"type": "LineString", "coordinates": ring},
                 {"type": "Feature", "geometry": SQUARE, "properties": {}},
                 {"type": "Polygon", "coordinates": []},
                 {"type": "Polygon", "coordinates": [[[105.77, 19.80], [105.78, 19.80], [105.77, 19.80]]]}):
        problem = _problem(await api.call("PUT", path, json=body))
        assert "181" not in json.dumps(problem)  # the values are never repeated
    assert (await api.call("GET", path, role="resident")).status_code == 404  # nothing was stored
    just_enough = {"type": "Polygon", "coordinates": [[*many[:4999], many[0]]]}  # 5000 positions
    assert (await api.call("PUT", path, json=just_enough)).status_code == 200


async def test_only_a_ward_official_draws_an_area_and_anyone_signed_in_of_the_ward_reads_it(registry, db):
    api, _ = registry
    await api.ward()
    await api.ward("dong-ve", "Phường Đông Vệ")
    group = await api.group()
    path = f"/v1/groups/{group['group_id']}/area"
    for role in ("police", "team_leader", "resident", "city_official", "admin"):
        assert (await api.call("PUT", path, json=SQUARE, role=role)).status_code == 403, role
    assert (await api.call("PUT", path, json=SQUARE, ward="dong-ve")).status_code == 404  # another ward's group
    unknown = "/v1/groups/00000000-0000-4000-8000-000000000000/area"
    assert (await api.call("PUT", unknown, json=SQUARE)).status_code == 404

    r = await api.call("PUT", path, json=SQUARE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feature = r.json()
    assert feature["type"] == "Feature" and feature["properties"]["group_id"] == group["group_id"]
    assert feature["geometry"] == SQUARE and feature["bbox"] == [105.77, 19.80, 105.78, 19.81]
    assert feature["properties"]["name"] == group["name"]
    read = await api.call("GET", path, role="resident")
    assert read.status_code == 200 and read.headers["content-type"].startswith("application/geo+json")
    assert read.json()["geometry"] == SQUARE
    assert (await api.call("GET", path, role="resident", ward="dong-ve")).status_code == 404

    redrawn = await api.ok("PUT", path, FAR)
    assert redrawn["geometry"] == FAR
    assert await db.fetchval("registry", "SELECT count(*) FROM group_areas") == 1
    rows = await db.fetch("registry", "SELECT payload FROM outbox WHERE event_type = 'registry.group.area_set.v1' "
                                      "ORDER BY seq")
    events = [json.loads(bytes(r["payload"])) for r in rows]
    assert [e["geometry"] for e in events] == [SQUARE, FAR]
    assert set(events[0]) == {"id", "occurred_at", "ward_id", "subject", "group_id", "geometry", "bbox"}
    assert await db.fetchval("registry", "SELECT count(*) FROM audit_log WHERE target_type = 'group' "
                                         "AND command = 'group.area.set'") == 2


async def test_the_ward_s_areas_are_one_geojson_feature_collection_filtered_by_bbox(registry):
    api, _ = registry
    await api.ward()
    await api.ward("dong-ve", "Phường Đông Vệ")
    tran_phu, le_loi = await api.group("Tổ dân phố Trần Phú"), await api.group("Tổ dân phố Lê Lợi")
    await api.group("Tổ dân phố Không Vẽ")  # no area: not in the collection
    await api.ok("PUT", f"/v1/groups/{tran_phu['group_id']}/area", SQUARE)
    await api.ok("PUT", f"/v1/groups/{le_loi['group_id']}/area", FAR)
    other = await api.group("Tổ dân phố 1", ward="dong-ve")
    await api.ok("PUT", f"/v1/groups/{other['group_id']}/area", SQUARE, ward="dong-ve")

    r = await api.call("GET", "/v1/groups/areas", role="resident")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    collection = r.json()
    assert collection["type"] == "FeatureCollection"
    assert [(f["properties"]["group_id"], f["properties"]["name"]) for f in collection["features"]] == [
        (le_loi["group_id"], "Tổ dân phố Lê Lợi"), (tran_phu["group_id"], "Tổ dân phố Trần Phú")]
    assert [f["geometry"] for f in collection["features"]] == [FAR, SQUARE]
    near = await api.ok("GET", "/v1/groups/areas", role="team_member", params={"bbox": "105.775,19.805,105.8,19.9"})
    assert [f["properties"]["group_id"] for f in near["features"]] == [tran_phu["group_id"]]
    assert (await api.call("GET", "/v1/groups/areas", params={"ward_id": "dong-ve"})).status_code == 403
    assert (await api.call("GET", "/v1/groups/areas", params={"bbox": "1,2,3"})).status_code == 422


async def _house(api, group_id: str, **place) -> dict:
    landlord = await api.resident((await api.household(group_id))["household_id"], "Chủ trọ")
    return await api.ok("POST", "/v1/boarding-houses", {
        "group_id": group_id, "name": f"Nhà trọ {landlord['resident_id'][:4]}", "address": "3 Trần Phú",
        "landlord_resident_id": landlord["resident_id"], "rooms": ["P101"], **place})


async def test_each_role_sees_a_boarding_house_at_its_own_precision_and_no_event_carries_the_point(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    team = await api.team(group["group_id"], "anxh", "Tổ ANXH 1")
    house = await _house(api, group["group_id"], **HOME)
    assert house["place"] == {**HOME, "precision": "exact", "group_id": group["group_id"]}
    assert "latitude" not in house and "longitude" not in house
    bid, gid = house["boarding_house_id"], group["group_id"]
    leader = {"role": "team_leader", "team_ids": [team["team_id"]]}
    landlord = {"role": "resident", "resident_id": house["landlord_resident_id"]}
    seen = {
        "police": (await api.ok("GET", f"/v1/boarding-houses/{bid}", role="police"))["place"],
        "official": (await api.ok("GET", "/v1/boarding-houses"))["items"][0]["place"],
        "leader": (await api.ok("GET", f"/v1/boarding-houses/{bid}", **leader))["place"],
        "leader's list": (await api.ok("GET", "/v1/boarding-houses", params={"group_id": gid}, **leader))["items"][0]["place"],
        "landlord": (await api.ok("GET", f"/v1/boarding-houses/{bid}", **landlord))["place"],
        "admin": (await api.ok("GET", f"/v1/boarding-houses/{bid}", role="admin"))["place"],
    }
    exact, snapped = {**HOME, "precision": "exact"}, {**HOME_SNAPPED, "precision": "approximate"}
    none = {"latitude": None, "longitude": None, "precision": "group"}
    assert seen == {k: {**v, "group_id": gid} for k, v in {
        "police": exact, "official": exact, "leader": snapped, "leader's list": snapped, "landlord": none,
        "admin": none}.items()}
    unplaced = await _house(api, gid)
    assert unplaced["place"] == {"latitude": None, "longitude": None, "precision": "exact", "group_id": gid}
    body = {"group_id": gid, "name": "x", "address": "y", "landlord_resident_id": house["landlord_resident_id"]}
    for place in ({"latitude": 19.8}, {"longitude": 105.7}, {"latitude": 91, "longitude": 105.7},
                  {"latitude": 19.8, "longitude": -180.5}):
        _problem(await api.call("POST", "/v1/boarding-houses", json={**body, **place}))
    for payload in await outbox_payloads(db):  # a home's point never leaves the registry
        assert b"19.807" not in payload and b"105.776" not in payload and b"latitude" not in payload


async def test_facilities_have_a_place_and_residents_see_only_their_group(registry):
    api, _ = registry
    await api.ward()
    group = await api.group()
    camera = await api.ok("POST", "/v1/facilities", {
        "group_id": group["group_id"], "kind": "security_camera", "name": "Camera chợ", "location": "Cổng chợ",
        "latitude": 19.80012, "longitude": 105.77049})
    assert camera["place"]["precision"] == "exact" and camera["place"]["latitude"] == 19.80012
    fid = camera["facility_id"]
    assert (await api.ok("GET", f"/v1/facilities/{fid}", role="resident"))["place"] == {
        "latitude": None, "longitude": None, "precision": "group", "group_id": group["group_id"]}
    assert (await api.ok("GET", "/v1/facilities", role="team_member"))["items"][0]["place"] == {
        "latitude": 19.8, "longitude": 105.77, "precision": "approximate", "group_id": group["group_id"]}
    done = await api.ok("POST", f"/v1/facilities/{fid}/decommission", {"decommissioned_on": "2025-01-10",
                                                                       "reason": "Hỏng"}, role="police")
    assert done["place"]["latitude"] == 19.80012


async def test_the_bbox_filter_matches_the_points_as_the_caller_sees_them(registry, db):
    api, _ = registry
    await api.ward()
    drawn, undrawn = await api.group("Tổ dân phố Trần Phú"), await api.group("Tổ dân phố Lê Lợi")
    await api.ok("PUT", f"/v1/groups/{drawn['group_id']}/area", SQUARE)

    async def facility(group: dict, name: str, lat: float | None, lon: float | None) -> str:
        place = {} if lat is None else {"latitude": lat, "longitude": lon}
        return (await api.ok("POST", "/v1/facilities", {"group_id": group["group_id"], "kind": "fire_point",
                                                        "name": name, "location": "x", **place}))["facility_id"]

    # 19.99996 is south of 20.0; snapped to ~100 m it is 20.0, inside a box starting at 20.0
    edge = await facility(undrawn, "A trụ nước mép", 19.99996, 105.5)
    inside = await facility(undrawn, "B trụ nước giữa", 20.05, 105.5)
    far = await facility(undrawn, "C trụ nước xa", 21.0, 106.5)
    await facility(undrawn, "D không toạ độ", None, None)
    in_drawn = await facility(drawn, "E trụ nước tổ vẽ", 25.0, 109.0)  # its point lies far from its group's area

    async def names(role: str, bbox: str, path: str = "/v1/facilities") -> list[str]:
        listed = await api.ok("GET", path, role=role, params={"bbox": bbox, "limit": 2})
        items = listed["items"]
        while listed["next_cursor"]:  # the filter holds across pages
            listed = await api.ok("GET", path, role=role, params={"bbox": bbox, "limit": 2,
                                                                 "cursor": listed["next_cursor"]})
            items += listed["items"]
        return sorted(i["facility_id"] for i in items)

    box = "105.4,20.0,105.6,20.1"
    assert await names("police", box) == [inside]
    assert await names("ward_official", "105.0,19.0,110.0,26.0") == sorted([edge, inside, far, in_drawn])
    assert await names("team_member", box) == sorted([edge, inside])  # the snapped point, 20.000, is inside
    assert await names("team_member", "105.4,19.9,105.6,19.99999") == []  # ...and no longer where it really is
    # callers who see no points match by their group's area: the point itself cannot be searched out
    assert await names("resident", box) == []
    assert await names("resident", "105.775,19.805,105.776,19.806") == [in_drawn]
    for bad in ("1,2,3", "a,b,c,d", "105.6,20,105.4,20.1", "105,91,106,92", "nan,1,2,3", "inf,1,2,3"):
        r = await api.call("GET", "/v1/facilities", params={"bbox": bad})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), bad


async def test_the_bbox_filter_of_boarding_houses_uses_the_point_index(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    team = await api.team(group["group_id"], "anxh", "Tổ ANXH 1")
    house = await _house(api, group["group_id"], **HOME)
    await _house(api, group["group_id"], latitude=20.5, longitude=106.0)
    leader = {"role": "team_leader", "team_ids": [team["team_id"]]}
    box = {"bbox": "105.7770,19.8080,105.78,19.81", "group_id": group["group_id"]}  # the snapped corner only
    assert [b["boarding_house_id"] for b in (await api.ok("GET", "/v1/boarding-houses", params=box,
                                                          **leader))["items"]] == [house["boarding_house_id"]]
    assert (await api.ok("GET", "/v1/boarding-houses", params=box, role="police"))["items"] == []
    conn = await db.connect("registry")
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT id FROM boarding_houses WHERE point(longitude, latitude) <@ "
            "box(point(105.7, 19.8), point(105.8, 19.9))"))
    finally:
        await conn.close()
    assert "boarding_houses_point" in plan, plan
