"""The reads a client waits on instead of retrying commands: the teams and the households donations knows from the
registry, a campaign, an expense; and every operation documents its response body."""

from __future__ import annotations

import pytest

from shared.clock import ward_today
from tests.donations.conftest import (
    GROUP,
    HOUSEHOLDS,
    OFFICIAL,
    OFFICIAL_2,
    RESIDENT,
    Service,
    collector,
    headers,
)
from tests.harness import assert_indistinguishable

pytestmark = pytest.mark.integration
ELSEWHERE = headers("ward_official", "official-dv", ward="dong-ve")


async def test_a_campaign_and_an_expense_are_read_by_id(service: Service):
    campaign_id = await service.open_campaign()
    assert (await service.contribute(campaign_id, 1, 5_000_000)).status_code == 201
    r = await service.client.get(f"/v1/campaigns/{campaign_id}", headers=RESIDENT)
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["campaign_id"], c["status"], c["raised_vnd"], c["spent_vnd"], c["balance_vnd"]) == (
        campaign_id, "open", 5_000_000, 0, 5_000_000)
    assert c["vote"] == {"record_ref": "BB-01/2024", "held_on": c["vote"]["held_on"], "households_total": HOUSEHOLDS,
                         "in_favour": 97, "against": 8, "abstained": 5}
    assert c["team_ids"] == [f"team-{i:02d}" for i in range(1, 11)]

    proposed = await service.client.post(f"/v1/campaigns/{campaign_id}/expenses", headers=OFFICIAL, json={
        "item": "Camera", "amount_vnd": 2_000_000, "invoice_ref": "HĐ 1", "paid_on": ward_today().isoformat()})
    expense_id = proposed.json()["expense_id"]
    x = (await service.client.get(f"/v1/expenses/{expense_id}", headers=RESIDENT)).json()
    assert (x["expense_id"], x["status"], x["approved_by"], x["cameras"]) == (expense_id, "proposed", None, [])
    await service.client.post(f"/v1/expenses/{expense_id}/approve", json={"approval_ref": "QĐ 1"}, headers=OFFICIAL_2)
    x = (await service.client.get(f"/v1/expenses/{expense_id}", headers=RESIDENT)).json()
    assert (x["status"], x["approved_by"], x["approval_ref"]) == ("approved", "official-2", "QĐ 1")
    assert (await service.client.get(f"/v1/campaigns/{campaign_id}", headers=RESIDENT)).json()["balance_vnd"] == 3_000_000

    nobody = "00000000-0000-4000-8000-000000000000"
    for path, id_ in [("/v1/campaigns/{}", campaign_id), ("/v1/expenses/{}", expense_id)]:
        assert_indistinguishable(await service.client.get(path.format(id_), headers=ELSEWHERE), id_,
                                 await service.client.get(path.format(nobody), headers=ELSEWHERE), nobody)


async def test_the_teams_donations_knows_are_listed_in_pages_with_their_members(service: Service):
    first = await service.client.get("/v1/teams", params={"limit": 4}, headers=OFFICIAL)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [t["team_id"] for t in page["items"]] == ["anxh-01", "team-01", "team-02", "team-03"]
    assert page["items"][1]["members"] == [{"resident_id": "member-01", "full_name": "Thành viên member-01",
                                            "role": "member"}]
    rest = await service.client.get("/v1/teams", params={"limit": 200, "cursor": page["next_cursor"]},
                                    headers=collector(1))
    assert [t["team_id"] for t in rest.json()["items"]] == [f"team-{i:02d}" for i in range(4, 11)]
    assert rest.json()["next_cursor"] is None
    only = await service.client.get("/v1/teams", params={"kind": "anxh", "group_id": GROUP}, headers=OFFICIAL)
    assert [t["team_id"] for t in only.json()["items"]] == ["anxh-01"]
    assert (await service.client.get("/v1/teams", headers=RESIDENT)).status_code == 403
    assert (await service.client.get("/v1/teams", headers=ELSEWHERE)).json()["items"] == []


async def test_a_group_shows_the_households_donations_counts(service: Service):
    r = await service.client.get(f"/v1/groups/{GROUP}", headers=RESIDENT)
    assert r.json() == {"group_id": GROUP, "ward_id": "phu-son", "households": HOUSEHOLDS}
    unknown = await service.client.get("/v1/groups/le-loi", headers=OFFICIAL)
    assert unknown.status_code == 404 and "have reached donations" in unknown.json()["detail"]
    assert (await service.client.get(f"/v1/groups/{GROUP}", headers=ELSEWHERE)).status_code == 404


def test_every_operation_documents_its_response_body(service: Service):
    spec = service.app.openapi()
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in operations.items():
            [ok] = [s for s in op["responses"] if s.startswith("2")]
            content = op["responses"][ok]["content"]
            assert any(c.get("schema") for c in content.values()), (method, path)
            # the public routes take no token: no 401 or 403 to document, a 429 instead
            expected = {"404", "422", "429"} if path.startswith("/v1/public/") else {"401", "403", "404", "422"}
            assert expected <= set(op["responses"]), (method, path)
            assert path.startswith("/v1/public/") != bool(op.get("security")), (method, path)


async def test_a_campaigns_contributions_and_expenses_are_listed_in_pages_for_its_ward(service: Service):
    campaign_id = await service.open_campaign()
    for n in (1, 2, 3):
        assert (await service.contribute(campaign_id, n, n * 1_000_000)).status_code == 201
    first = await service.client.get(f"/v1/campaigns/{campaign_id}/contributions", params={"limit": 2},
                                     headers=OFFICIAL)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [c["amount_vnd"] for c in page["items"]] == [1_000_000, 2_000_000] and page["next_cursor"]
    assert "donor_ref" not in page["items"][0]  # personal data: the donor's id is not listed
    reversed_id = page["items"][1]["contribution_id"]
    r = await service.client.post(f"/v1/contributions/{reversed_id}/reversals", headers=OFFICIAL,
                                  json={"kind": "void", "reason": "nhầm phiếu"})
    assert r.status_code == 201, r.text
    rest = (await service.client.get(f"/v1/campaigns/{campaign_id}/contributions", headers=OFFICIAL,
                                     params={"cursor": page["next_cursor"]})).json()
    assert [c["amount_vnd"] for c in rest["items"]] == [3_000_000] and rest["next_cursor"] is None
    again = (await service.client.get(f"/v1/campaigns/{campaign_id}/contributions", headers=OFFICIAL)).json()
    assert [(c["reversal"], c["reversed_vnd"]) for c in again["items"]] == [(None, 0), ("void", 2_000_000), (None, 0)]
    assert (await service.client.get(f"/v1/campaigns/{campaign_id}/contributions",
                                     headers=RESIDENT)).status_code == 403

    for item in ("Camera 1", "Camera 2"):
        r = await service.client.post(f"/v1/campaigns/{campaign_id}/expenses", headers=OFFICIAL, json={
            "item": item, "amount_vnd": 500_000, "invoice_ref": "HĐ", "paid_on": ward_today().isoformat()})
        assert r.status_code == 201, r.text
    listed = (await service.client.get(f"/v1/campaigns/{campaign_id}/expenses", headers=RESIDENT)).json()
    assert [(x["item"], x["status"], x["proposed_by"]) for x in listed["items"]] == [
        ("Camera 1", "proposed", "official-1"), ("Camera 2", "proposed", "official-1")]
    nobody = "00000000-0000-4000-8000-000000000000"
    for path in ("/v1/campaigns/{}/contributions", "/v1/campaigns/{}/expenses"):
        assert_indistinguishable(await service.client.get(path.format(campaign_id), headers=ELSEWHERE), campaign_id,
                                 await service.client.get(path.format(nobody), headers=ELSEWHERE), nobody)
