"""Referrals and registry events through the service's consumer adapters (handed to them as the inbox does; the
Kafka path is in test_flow), then read over HTTP; the rules of referrals are specified in test_handlers.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.incidents import DisputeParty, IncidentReferredToMediation
from tests.mediation.conftest import GROUP, LEADER, MEDIATOR, OFFICIAL, TEAM, WARD, as_

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
