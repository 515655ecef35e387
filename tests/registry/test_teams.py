"""Teams and members through the API: the compliance filter of the list, roles on reads, how refusals answer."""

from __future__ import annotations

import json


async def _team_events(db) -> list[dict]:
    rows = await db.fetch("registry", "SELECT event_type, payload FROM outbox WHERE topic = 'registry.teams' ORDER BY seq")
    return [{"type": r["event_type"], **json.loads(bytes(r["payload"]))} for r in rows]


async def test_the_teams_list_filters_on_compliance_and_a_change_is_announced_with_it(registry, db):
    """The compliance rule itself: tests/registry/test_handlers.py. Here: the list's derived filter and the events."""
    api, _ = registry
    await api.ward()
    group = await api.group()
    house = await api.household(group["group_id"])
    leader = await api.resident(house["household_id"], "Trần Văn Bình")
    second = await api.resident(house["household_id"], "Đỗ Văn Cường")
    woman = await api.resident(house["household_id"], "Ngô Thị Dung", "female")

    team = await api.team(group["group_id"], "mediation", "Tổ hòa giải Trần Phú")
    assert team["compliant"] is False
    flagged = await api.ok("GET", "/v1/teams", params={"compliant": "false"})
    assert [t["team_id"] for t in flagged["items"]] == [team["team_id"]] and flagged["next_cursor"] is None
    # For programs, each issue as a stable code with its parameters, beside the English sentences.
    assert flagged["items"][0]["compliance"] == [
        {"code": "no_leader", "message": "no leader"},
        {"code": "too_few_mediators", "message": "fewer than 3 mediators (0)", "minimum": 3, "active": 0},
        {"code": "no_woman_mediator", "message": "no woman among the mediators"}]

    await api.member(team["team_id"], leader["resident_id"], "leader")
    await api.member(team["team_id"], second["resident_id"])
    after = await api.member(team["team_id"], woman["resident_id"])
    assert after["compliant"] is True and after["compliance_issues"] == []
    assert (await api.ok("GET", "/v1/teams", params={"compliant": "false"}))["items"] == []
    assert [t["team_id"] for t in (await api.ok("GET", "/v1/teams", params={"compliant": "true"}))["items"]] == [
        team["team_id"]]

    left = await api.ok("POST", f"/v1/teams/{team['team_id']}/members/{woman['resident_id']}/leave",
                        {"left_on": "2024-06-01"})
    assert left["compliant"] is False
    fetched = await api.ok("GET", f"/v1/teams/{team['team_id']}")
    assert [(i["code"], i.get("minimum"), i.get("active")) for i in fetched["compliance"]] == [
        ("too_few_mediators", 3, 2), ("no_woman_mediator", None, None)]
    assert fetched["compliance_issues"] == [i["message"] for i in fetched["compliance"]]
    events = await _team_events(db)
    assert [(e["type"].split(".")[2], e["compliant"]) for e in events][-2:] == [
        ("member_joined", True), ("member_left", False)]
    assert events[1]["household_id"] == house["household_id"] and events[3]["sex"] == "female"


async def test_membership_mistakes_are_refused_and_change_nothing(registry, db):
    api, _ = registry
    await api.ward()
    await api.ward("dong-ve", "Phường Đông Vệ")
    group = await api.group()
    house = await api.household(group["group_id"])
    a = await api.resident(house["household_id"], "A")
    b = await api.resident(house["household_id"], "B")
    outsider_house = await api.household((await api.group("Tổ Lê Lợi", ward="dong-ve"))["group_id"], ward="dong-ve")
    outsider = await api.resident(outsider_house["household_id"], "C", ward="dong-ve")
    team = await api.team(group["group_id"], "anxh", "Tổ ANXH số 1")
    await api.member(team["team_id"], a["resident_id"], "leader")
    before = await db.fetchval("registry", "SELECT count(*) FROM outbox")

    path = f"/v1/teams/{team['team_id']}/members"
    cases = [  # how rules and bad input answer over HTTP (the rules: test_handlers.py)
        ({"resident_id": a["resident_id"], "role": "member", "appointed_on": "2024-02-01"}, 409),   # added twice
        ({"resident_id": outsider["resident_id"], "role": "member", "appointed_on": "2024-02-01"}, 422),  # other ward
        ({"resident_id": "r-1", "role": "member", "appointed_on": "2024-02-01"}, 422),      # malformed id
        ({"resident_id": b["resident_id"], "role": "chief", "appointed_on": "2024-02-01"}, 422),     # no such role
        ({"resident_id": b["resident_id"], "role": "member", "appointed_on": "2024-02-01", "rank": 1}, 422),  # unknown
    ]
    for body, status in cases:
        r = await api.call("POST", path, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert (await api.call("POST", "/v1/teams", json={"group_id": group["group_id"], "kind": "anxh", "name": "X",
                                                       "formed_on": "2024-01-01", "formation_act": ""})).status_code == 422
    assert await db.fetchval("registry", "SELECT count(*) FROM outbox") == before
    assert await db.fetchval("registry", "SELECT count(*) FROM team_members") == 1


async def test_team_leader_manages_their_own_team_only(registry, db):
    api, _ = registry
    await api.ward()
    group = await api.group()
    house = await api.household(group["group_id"])
    leader, newcomer = await api.resident(house["household_id"], "L"), await api.resident(house["household_id"], "N", "female")
    mine = await api.team(group["group_id"], "fire_prevention", "Tổ PCCC liên gia 1")
    other = await api.team(group["group_id"], "fire_prevention", "Tổ PCCC liên gia 2")
    await api.member(mine["team_id"], leader["resident_id"], "leader")
    claims = {"team_ids": [mine["team_id"]], "resident_id": leader["resident_id"]}

    seen = await api.ok("GET", f"/v1/teams/{mine['team_id']}", role="team_leader", **claims)
    assert [m["full_name"] for m in seen["members"]] == ["L"]
    assert (await api.call("GET", f"/v1/teams/{other['team_id']}", role="team_leader", **claims)).status_code == 403
    assert (await api.call("GET", "/v1/teams", role="team_leader", **claims)).status_code == 403
    body = {"resident_id": newcomer["resident_id"], "role": "deputy", "appointed_on": "2024-03-01"}
    assert (await api.call("POST", f"/v1/teams/{other['team_id']}/members", role="team_leader", json=body,
                           **claims)).status_code == 403
    await api.ok("POST", f"/v1/teams/{mine['team_id']}/members", body, role="team_leader", **claims)
    promoted = await api.ok("PATCH", f"/v1/teams/{mine['team_id']}/members/{newcomer['resident_id']}",
                            {"role": "member", "changed_on": "2024-04-01"}, role="team_leader", **claims)
    assert {m["full_name"]: m["role"] for m in promoted["members"]} == {"L": "leader", "N": "member"}
    events = await _team_events(db)
    assert events[-1]["type"] == "registry.team.member_role_changed.v1" and events[-1]["previous_role"] == "deputy"
    assert (await api.call("GET", f"/v1/teams/{mine['team_id']}", role="team_leader", ward="dong-ve",
                           **claims)).status_code == 404  # another ward's team: as if there were none
