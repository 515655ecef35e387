"""Wards, groups, households and residents through the API: roles, the national ID's protection, bad input."""

from __future__ import annotations

import uuid

from tests.harness import assert_indistinguishable
from tests.registry.conftest import WARD, outbox_payloads, outbox_types

NATIONAL_ID = "038090001234"


async def test_resident_national_id_is_protected_and_shown_only_to_police_and_officials(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    household = await api.household(group["group_id"])
    resident = await api.resident(household["household_id"], "Lê Thị Hoa", "female", national_id=NATIONAL_ID,
                                  birth_date="1990-05-01", phone="0912345678")
    assert resident["national_id"] == NATIONAL_ID  # the ward official who registered her sees it

    for role in ("police", "ward_official"):
        seen = await api.ok("GET", f"/v1/residents/{resident['resident_id']}", role=role)
        assert seen["national_id"] == NATIONAL_ID
    as_resident = await api.ok("GET", f"/v1/households/{household['household_id']}", role="resident",
                               household_id=household["household_id"], resident_id=resident["resident_id"])
    assert as_resident["residents"][0]["full_name"] == "Lê Thị Hoa"
    assert "national_id" not in as_resident["residents"][0] and as_resident["residents"][0]["has_national_id"]

    # Stored encrypted, never in clear; never in an event nor in the audit trail.
    stored = await db.fetchval("registry", "SELECT national_id_cipher FROM residents WHERE id = $1", resident["resident_id"])
    assert NATIONAL_ID.encode() not in bytes(stored)
    assert all(NATIONAL_ID.encode() not in p for p in await outbox_payloads(db))
    audit = await db.fetch("registry", "SELECT details::text AS d FROM audit_log")
    assert all(NATIONAL_ID not in r["d"] for r in audit)
    assert await outbox_types(db) == [
        "registry.ward.registered.v1", "registry.group.created.v1", "public.registry.group.created.v1",
        "registry.household.registered.v1", "registry.resident.registered.v1",
    ]

    # The same number for a second person is refused, without echoing it.
    other = await api.household(group["group_id"])
    dup = await api.call("POST", "/v1/residents", json={"household_id": other["household_id"], "full_name": "X", "sex": "male",
                                                       "national_id": NATIONAL_ID})
    assert dup.status_code == 409 and NATIONAL_ID not in dup.text
    assert dup.headers["content-type"] == "application/problem+json"

    # Head of household: named afterwards, announced by its own event.
    changed = await api.ok("PATCH", f"/v1/households/{household['household_id']}", {"head_resident_id": resident["resident_id"]})
    assert changed["head_resident_id"] == resident["resident_id"]
    assert (await outbox_types(db))[-1] == "registry.household.head_changed.v1"


async def test_bad_input_is_a_clear_problem_and_writes_nothing(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    household = await api.household(group["group_id"])
    before = await db.fetchval("registry", "SELECT count(*) FROM outbox")

    cases = [
        ("POST", "/v1/residents", {"household_id": household["household_id"], "full_name": "A", "sex": "male",
                                   "national_id": "12345"}, 422),                      # not 12 digits
        ("POST", "/v1/residents", {"household_id": "not-a-uuid", "full_name": "A", "sex": "male"}, 422),  # malformed id
        ("POST", "/v1/residents", {"household_id": str(uuid.uuid4()), "full_name": "A", "sex": "male"}, 422),  # unknown
        ("POST", "/v1/households", {"group_id": group["group_id"], "address": ""}, 422),
        ("POST", "/v1/groups", {"ward_id": WARD, "name": group["name"]}, 409),          # same name twice
        ("GET", "/v1/residents/not-a-uuid", None, 422),
        ("GET", f"/v1/households/{uuid.uuid4()}", None, 404),
    ]
    for method, path, body, status in cases:
        r = await api.call(method, path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert "12345" not in (await api.call("POST", "/v1/residents", json=cases[0][2])).text
    assert await db.fetchval("registry", "SELECT count(*) FROM residents") == 0
    assert await db.fetchval("registry", "SELECT count(*) FROM outbox") == before


async def test_nobody_sees_or_changes_another_wards_records_nor_learns_they_exist(registry):
    api, _ = registry
    await api.ward()
    await api.ward("dong-ve", "Phường Đông Vệ")
    ours = await api.group()
    theirs = await api.group("Tổ dân phố Lê Lợi", ward="dong-ve")
    their_house = await api.household(theirs["group_id"], ward="dong-ve")
    their_resident = await api.resident(their_house["household_id"], ward="dong-ve", national_id=NATIONAL_ID)
    our_house = await api.household(ours["group_id"])
    nobody = str(uuid.uuid4())

    async def both(method: str, path: str, their_id: str, role: str = "ward_official", body=None) -> None:
        def fill(x, id_):
            return None if x is None else {k: (id_ if v == "<id>" else v) for k, v in x.items()}
        theirs_r = await api.call(method, path.replace("<id>", their_id), role=role, json=fill(body, their_id))
        unknown_r = await api.call(method, path.replace("<id>", nobody), role=role, json=fill(body, nobody))
        assert_indistinguishable(theirs_r, their_id, unknown_r, nobody)

    await both("GET", "/v1/groups/<id>", theirs["group_id"])
    await both("GET", "/v1/households/<id>", their_house["household_id"], role="police")
    await both("GET", "/v1/residents/<id>", their_resident["resident_id"])
    await both("PATCH", "/v1/residents/<id>", their_resident["resident_id"], body={"phone": "0900000000"})
    await both("POST", "/v1/residents/<id>/move", their_resident["resident_id"], body={"household_id": our_house["household_id"]})
    await both("POST", "/v1/households", theirs["group_id"], body={"group_id": "<id>", "address": "1"})
    await both("POST", "/v1/residents", their_house["household_id"], body={"household_id": "<id>", "full_name": "A", "sex": "male"})
    # a household in our ward cannot take a head from theirs, and is not told that theirs exists
    await both("PATCH", f"/v1/households/{our_house['household_id']}", their_resident["resident_id"], body={"head_resident_id": "<id>"})
    # the national-ID check looks at our ward only: the same number registers here, and says nothing of theirs
    ours_too = await api.resident(our_house["household_id"], "Người chuyển đến", national_id=NATIONAL_ID)
    assert ours_too["national_id"] == NATIONAL_ID
    dup = await api.call("POST", "/v1/residents", json={"household_id": our_house["household_id"], "full_name": "B",
                                                       "sex": "male", "national_id": NATIONAL_ID})
    assert dup.status_code == 409  # within the ward, one number, one resident
    assert (await api.call("GET", "/v1/residents", params={"ward_id": "dong-ve"})).status_code == 403  # a named ward
    ok = await api.ok("GET", "/v1/groups")
    assert [g["group_id"] for g in ok["items"]] == [ours["group_id"]]


async def test_resident_sees_only_their_household_and_lists_are_paged(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    mine, other = await api.household(group["group_id"]), await api.household(group["group_id"])
    me = await api.resident(mine["household_id"], "Phạm Thị Mai", "female")
    for i in range(3):
        await api.resident(other["household_id"], f"Hàng xóm {i}")
    claims = {"household_id": mine["household_id"], "resident_id": me["resident_id"]}
    assert (await api.call("GET", f"/v1/households/{other['household_id']}", role="resident", **claims)).status_code == 403
    own_list = await api.ok("GET", "/v1/residents", role="resident", **claims)
    assert [r["resident_id"] for r in own_list["items"]] == [me["resident_id"]]
    assert (await api.call("POST", "/v1/residents", role="resident", json={
        "household_id": mine["household_id"], "full_name": "Z", "sex": "male"}, **claims)).status_code == 403

    page1 = await api.ok("GET", "/v1/residents", params={"group_id": group["group_id"], "limit": 3})
    page2 = await api.ok("GET", "/v1/residents", params={"group_id": group["group_id"], "limit": 3,
                                                         "cursor": page1["next_cursor"]})
    assert len(page1["items"]) == 3 and page1["next_cursor"] and len(page2["items"]) == 1
    assert page2["next_cursor"] is None
    names = [r["full_name"] for r in page1["items"] + page2["items"]]
    assert names == sorted(names) and len({r["resident_id"] for r in page1["items"] + page2["items"]}) == 4

    moved = await api.ok("POST", f"/v1/residents/{me['resident_id']}/move", {"household_id": other["household_id"]})
    assert moved["household_id"] == other["household_id"]
    updated = await api.ok("PATCH", f"/v1/residents/{me['resident_id']}", {"full_name": "Phạm Thị Mai Anh"})
    assert updated["full_name"] == "Phạm Thị Mai Anh"
    assert (await outbox_types(db))[-2:] == ["registry.resident.moved.v1", "registry.resident.updated.v1"]


async def test_a_group_shows_its_household_count_and_replies_name_their_ids(registry):
    api, _ = registry
    ward = await api.ward()
    assert ward == {"ward_id": WARD, "name": "Phường Phú Sơn", "city": "Thanh Hóa"}
    group = await api.group()
    assert group["household_count"] == 0 and "id" not in group
    for _ in range(2):
        await api.household(group["group_id"])
    assert (await api.ok("GET", f"/v1/groups/{group['group_id']}", role="resident"))["household_count"] == 2
    listed = await api.ok("GET", "/v1/groups")
    assert [(g["group_id"], g["household_count"]) for g in listed["items"]] == [(group["group_id"], 2)]
    assert (await api.ok("GET", f"/v1/wards/{WARD}"))["ward_id"] == WARD


async def test_request_bodies_with_unknown_fields_are_refused(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    household = await api.household(group["group_id"])
    resident = await api.resident(household["household_id"])
    before = await db.fetchval("registry", "SELECT count(*) FROM outbox")
    for method, path, body in [
        ("POST", "/v1/wards", {"ward_id": "ba-dinh", "name": "X", "city": "Y", "id": "ba-dinh"}),
        ("POST", "/v1/groups", {"ward_id": WARD, "name": "Tổ mới", "leader": "x"}),
        ("POST", "/v1/households", {"group_id": group["group_id"], "address": "1", "household_id": "x"}),
        ("PATCH", f"/v1/households/{household['household_id']}", {"address": "2", "group_id": group["group_id"]}),
        ("PATCH", f"/v1/residents/{resident['resident_id']}", {"phone": "1", "resident_id": "x"}),
        ("POST", f"/v1/residents/{resident['resident_id']}/move", {"household_id": household["household_id"],
                                                                    "why": "x"}),
    ]:
        admin = path == "/v1/wards"
        r = await api.call(method, path, json=body, role="admin" if admin else "ward_official",
                           ward="*" if admin else WARD)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert await db.fetchval("registry", "SELECT count(*) FROM outbox") == before
