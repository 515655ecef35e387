"""Opening and closing campaigns: the households' vote, the collecting teams, the roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import ward_today
from tests.donations.conftest import (
    GROUP,
    OFFICIAL,
    RESIDENT,
    Service,
    campaign_body,
    collector,
    headers,
    outbox_types,
)

pytestmark = pytest.mark.integration


async def test_an_official_opens_a_campaign_voted_by_more_than_half_of_the_households(service: Service):
    r = await service.client.post("/v1/campaigns", json=campaign_body(), headers=OFFICIAL)
    assert r.status_code == 201, r.text
    campaign_id = r.json()["campaign_id"]
    [opened] = await outbox_types(service.db, "donations.campaign.opened.v1")
    assert opened["campaign_id"] == campaign_id and opened["target_vnd"] == 60_000_000
    assert opened["team_ids"] == [f"team-{i:02d}" for i in range(1, 11)]
    assert opened["decision_ref"] == "BB-01/2024"
    [public] = await outbox_types(service.db, "public.donations.campaign.opened.v1")
    assert "team_ids" not in public and public["campaign_id"] == campaign_id
    listed = await service.client.get("/v1/campaigns", headers=RESIDENT)
    assert [c["campaign_id"] for c in listed.json()["items"]] == [campaign_id]


@pytest.mark.parametrize(("vote", "group", "status", "says"), [
    ({"in_favour": 60, "against": 60, "abstained": 0}, GROUP, 422, "60 of 120 households of the group"),
    ({"in_favour": 97}, "le-loi", 422, "the registry's households of group le-loi have not reached donations yet"),
    ({"households_total": 120}, GROUP, 422, "households_total"),  # the registry counts them, not the caller
])
async def test_a_campaign_without_a_majority_of_the_registrys_households_does_not_open(
        service: Service, vote, group, status, says):
    body = campaign_body(group_id=group)
    body["vote"].update(vote)
    r = await service.client.post("/v1/campaigns", json=body, headers=OFFICIAL)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.text
    assert await service.db.fetchval("donations", "SELECT count(*) FROM campaigns") == 0
    assert await service.db.fetchval("donations", "SELECT count(*) FROM outbox") == 0


async def test_only_ward_officials_of_that_ward_open_campaigns(service: Service):
    assert (await service.client.post("/v1/campaigns", json=campaign_body(), headers=collector(1))).status_code == 403
    assert (await service.client.post("/v1/campaigns", json=campaign_body(), headers=RESIDENT)).status_code == 403
    other_ward = headers("ward_official", "official-x", ward="dong-son")
    assert (await service.client.post("/v1/campaigns", json=campaign_body(), headers=other_ward)).status_code == 403
    assert (await service.client.post("/v1/campaigns", json=campaign_body())).status_code == 401


async def test_collecting_teams_must_be_known_mobilisation_teams_and_the_period_sound(service: Service):
    today = ward_today()
    cases = [
        (campaign_body(team_ids=["team-01", "anxh-01"]), 422, "not a mobilisation team"),
        (campaign_body(starts_on=today.isoformat(), ends_on=(today - timedelta(days=1)).isoformat()), 422,
         "ends before it starts"),
        (campaign_body(target_vnd=1.5), 422, "schema"),  # money is whole đồng, never a float
    ]
    for body, status, says in cases:
        r = await service.client.post("/v1/campaigns", json=body, headers=OFFICIAL)
        assert r.status_code == status, (body, r.text)
        assert says in r.json()["detail"]
    assert await service.db.fetchval("donations", "SELECT count(*) FROM campaigns") == 0


async def test_a_closed_campaign_takes_no_more_contributions(service: Service):
    campaign_id = await service.open_campaign()
    assert (await service.contribute(campaign_id, 1, 2_000_000)).status_code == 201
    assert (await service.client.post(f"/v1/campaigns/{campaign_id}/close", headers=collector(1))).status_code == 403
    r = await service.client.post(f"/v1/campaigns/{campaign_id}/close", headers=OFFICIAL)
    assert r.status_code == 200 and r.json()["balance_vnd"] == 2_000_000
    refused = await service.contribute(campaign_id, 1, 100_000)
    assert refused.status_code == 422 and "closed" in refused.json()["detail"]
    [closed] = await outbox_types(service.db, "donations.campaign.closed.v1")
    assert closed["raised_vnd"] == 2_000_000
    [public] = await outbox_types(service.db, "public.donations.campaign.closed.v1")
    assert {k: public[k] for k in ("campaign_id", "raised_vnd", "spent_vnd", "balance_vnd", "closed_on")} == {
        k: closed[k] for k in ("campaign_id", "raised_vnd", "spent_vnd", "balance_vnd", "closed_on")}
    assert (await service.client.post(f"/v1/campaigns/{campaign_id}/close", headers=OFFICIAL)).status_code == 409
