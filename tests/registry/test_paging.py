"""The registry's lists page with the shared scheme (``?limit=&cursor=``, ``{"items", "next_cursor"}``)."""

from __future__ import annotations

import pytest

from shared.paging import MAX_LIMIT

pytestmark = pytest.mark.integration


async def test_residents_page_through_each_once_in_name_order(registry):
    api, _ = registry
    await api.ward()
    group = await api.group()
    households = [await api.household(group["group_id"]) for _ in range(3)]
    names = ["Lê Văn Nam", "Trần Thị Hoa", "Nguyễn Văn An"] * 4  # equal names: the id orders them
    made = [await api.resident(households[i % 3]["household_id"], name) for i, name in enumerate(names)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"group_id": group["group_id"], "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", "/v1/residents", params=params)
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 5
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(r["resident_id"] for r in seen) == sorted(r["resident_id"] for r in made)  # each exactly once
    assert [(r["full_name"], r["resident_id"]) for r in seen] == sorted((r["full_name"], r["resident_id"]) for r in seen)


async def test_the_maximum_page_size_and_a_bad_cursor_are_problems(registry):
    api, _ = registry
    await api.ward()
    too_many = await api.call("GET", "/v1/groups", params={"limit": MAX_LIMIT + 1})
    assert too_many.status_code == 422 and too_many.headers["content-type"] == "application/problem+json"
    assert (await api.call("GET", "/v1/groups", params={"limit": MAX_LIMIT})).status_code == 200
    for cursor in ("bm90LWpzb24", "WyJvbmx5Il0", "@@@"):
        bad = await api.call("GET", "/v1/groups", params={"cursor": cursor})
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"] == "application/problem+json"


async def test_team_members_are_a_paged_list(registry):
    api, _ = registry
    await api.ward()
    group = await api.group()
    household = await api.household(group["group_id"])
    team = await api.team(group["group_id"], "anxh", "Tổ ANXH số 1")
    people = [await api.resident(household["household_id"], f"Thành viên {i}") for i in range(5)]
    await api.member(team["team_id"], people[0]["resident_id"], "leader")
    for p in people[1:]:
        await api.member(team["team_id"], p["resident_id"])
    first = await api.ok("GET", f"/v1/teams/{team['team_id']}/members", params={"limit": 3})
    rest = await api.ok("GET", f"/v1/teams/{team['team_id']}/members", params={"limit": 3, "cursor": first["next_cursor"]})
    assert rest["next_cursor"] is None
    assert [m["resident_id"] for m in first["items"] + rest["items"]] == [p["resident_id"] for p in people]
    assert first["items"][0]["role"] == "leader" and first["items"][0]["left_on"] is None
