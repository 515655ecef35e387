"""Referrals and registry events handled by the service's consumers (handed to the handlers as the inbox does;
the Kafka path is in test_flow): untrusted input, idempotency by construction, and the team's reclassification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.incidents import DisputeParty, IncidentReferredToMediation
from shared.contracts.registry import TeamMemberJoined
from tests.mediation.conftest import GROUP, LEADER, MEDIATOR, OFFICIAL, TEAM, WARD, as_, team_events

pytestmark = pytest.mark.integration


def referral(incident_id: str, group_id: str = GROUP, days_ago: int = 0) -> IncidentReferredToMediation:
    return IncidentReferredToMediation(
        ward_id=WARD, subject=incident_id, incident_id=incident_id, group_id=group_id,
        summary="Tranh chấp ranh giới đất giữa hai hộ",
        parties=[DisputeParty(resident_id="r-binh", display_name="Vũ Văn Bình"),
                 DisputeParty(display_name="Bà Dung (không đăng ký)")],
        referred_at=datetime.now(UTC) - timedelta(days=days_ago))


async def test_a_referral_opens_one_case_with_the_groups_team_however_often_it_arrives(svc):
    await svc.feed(referral("inc-1"))
    await svc.feed(referral("inc-1"))  # another message about the same incident
    [case] = (await svc.client.get("/v1/cases", headers=as_(OFFICIAL))).json()["items"]
    assert case["referral_incident_id"] == "inc-1" and case["team_id"] == TEAM and case["origin"] == "referral"
    assert case["kind"] == "other_civil"  # the incident carries no kind; the team sets it
    assert [p["resident_id"] for p in case["parties"]] == ["r-binh", None]
    [opened] = await svc.outbox("mediation.case.opened.v1")
    assert opened["referral_incident_id"] == "inc-1" and opened["origin"] == "referral"

    # The household of a referred party is known from the registry: that party's housemate is excluded.
    r = await svc.client.post(f"/v1/cases/{case['case_id']}/mediators", json={"mediator_ids": ["r-tuan"]},
                              headers=as_(LEADER))
    assert r.status_code == 422 and "same household" in r.json()["detail"]

    r = await svc.client.post(f"/v1/cases/{case['case_id']}/classification",
                              json={"kind": "property_or_land_boundary"}, headers=as_(MEDIATOR))
    assert r.status_code == 200 and r.json()["kind"] == "property_or_land_boundary"
    r = await svc.client.post(f"/v1/cases/{case['case_id']}/mediators", json={"mediator_ids": ["r-lan"]},
                              headers=as_(LEADER))
    [assigned] = await svc.outbox("mediation.case.mediator_assigned.v1")
    assert assigned["kind"] == "property_or_land_boundary"  # later events carry the new kind


async def test_a_referral_for_a_group_without_a_team_waits_for_an_official_to_hand_it_over(svc):
    await svc.feed(referral("inc-2", group_id="tdp-moi"))
    [case] = (await svc.client.get("/v1/cases", headers=as_(OFFICIAL))).json()["items"]
    assert case["team_id"] is None and case["status"] == "received"
    assert (await svc.client.get("/v1/cases", headers=as_(MEDIATOR))).json()["items"] == []
    path = f"/v1/cases/{case['case_id']}/team"
    assert (await svc.client.post(path, json={"team_id": TEAM}, headers=as_(LEADER))).status_code == 403
    unknown = await svc.client.post(path, json={"team_id": "team-khong-co"}, headers=as_(OFFICIAL))
    assert unknown.status_code == 422
    handed = await svc.client.post(path, json={"team_id": TEAM}, headers=as_(OFFICIAL))
    assert handed.status_code == 200 and handed.json()["team_id"] == TEAM
    assert [c["case_id"] for c in (await svc.client.get("/v1/cases", headers=as_(MEDIATOR))).json()["items"]] == [
        case["case_id"]]
    await svc.client.post(f"/v1/cases/{case['case_id']}/mediators", json={"mediator_ids": ["r-lan"]},
                          headers=as_(LEADER))
    again = await svc.client.post(path, json={"team_id": TEAM}, headers=as_(OFFICIAL))
    assert again.status_code == 422  # once mediators work on it, the case stays with the team


async def test_an_overdue_referral_is_listed_as_late(svc):
    await svc.feed(referral("inc-old", days_ago=7), referral("inc-new"))
    late = (await svc.client.get("/v1/cases", params={"assignment_late": "true"}, headers=as_(LEADER))).json()
    assert [c["referral_incident_id"] for c in late["items"]] == ["inc-old"]


async def test_registry_events_cannot_move_a_team_to_another_ward(svc):
    foreign = TeamMemberJoined(ward_id="phuong-khac", subject=TEAM, team_id=TEAM, group_id=GROUP, kind="mediation",
                               compliant=True, resident_id="r-z", household_id="hh-z", full_name="Z", sex="male",
                               role="member", appointed_on=datetime.now(UTC).date())
    with pytest.raises(ValueError, match="another ward"):
        await svc.feed(foreign)  # raised: the inbox retries, then dead-letters it
    teams = (await svc.client.get("/v1/teams", headers=as_(OFFICIAL))).json()["items"]
    assert "r-z" not in {m["resident_id"] for m in teams[0]["mediators"]}


async def test_a_referral_for_a_group_with_two_teams_is_not_lost_but_waits_for_hand_over(svc):
    await svc.feed(*team_events("team-hg-2", GROUP))  # a second mediation team in the same group
    await svc.feed(referral("inc-3"))
    [case] = (await svc.client.get("/v1/cases", headers=as_(OFFICIAL))).json()["items"]
    assert case["referral_incident_id"] == "inc-3" and case["team_id"] is None


async def test_cases_are_a_paged_list_for_officials_and_for_the_team(svc):
    await svc.feed(*[referral(f"inc-p{i:02d}", days_ago=i % 3) for i in range(11)])
    for who in (OFFICIAL, LEADER):
        seen, cursor = [], None
        while True:
            params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            page = (await svc.client.get("/v1/cases", params=params, headers=as_(who))).json()
            assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 4
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(c["referral_incident_id"] for c in seen) == [f"inc-p{i:02d}" for i in range(11)]
        assert [(c["received_at"], c["case_id"]) for c in seen] == sorted((c["received_at"], c["case_id"]) for c in seen)
    late = (await svc.client.get("/v1/cases", params={"assignment_late": "false", "limit": 200}, headers=as_(LEADER)))
    assert late.status_code == 200 and len(late.json()["items"]) == 11
    bad = await svc.client.get("/v1/cases", params={"cursor": "eyJ4Ijp9"}, headers=as_(OFFICIAL))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
