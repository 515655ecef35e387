"""Pledges with instalments (overdue ones flagged once), and expenses: proposed with an invoice, approved by
another official, never beyond the balance, cameras carried to the registry's event."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.clock import ward_today
from tests.donations.conftest import OFFICIAL, OFFICIAL_2, RESIDENT, Service, collector, headers, outbox_types
from tests.harness import assert_indistinguishable

pytestmark = pytest.mark.integration
LEADER = headers("team_leader", "leader-1", resident_id="member-01", team_ids=["team-01"])


async def test_pledge_instalments_are_paid_by_contributions_and_overdue_ones_flagged_once(service: Service):
    campaign_id = await service.open_campaign()
    today = ward_today()
    plan = [{"number": 1, "due_on": (today - timedelta(days=3)).isoformat(), "amount_vnd": 1_000_000},
            {"number": 2, "due_on": (today - timedelta(days=1)).isoformat(), "amount_vnd": 1_000_000},
            {"number": 3, "due_on": (today + timedelta(days=7)).isoformat(), "amount_vnd": 2_000_000}]
    pledge = {"team_id": "team-05", "donor_kind": "organisation", "donor_ref": "Công ty TNHH Minh Phát",
              "public_name": "Công ty TNHH Minh Phát", "total_vnd": 4_000_000, "instalments": plan}
    url = f"/v1/campaigns/{campaign_id}/pledges"

    bad_sum = await service.client.post(url, json={**pledge, "total_vnd": 5_000_000}, headers=collector(5))
    assert bad_sum.status_code == 422 and "add up" in bad_sum.json()["detail"]
    late = [*plan[:2], {**plan[2], "due_on": (today + timedelta(days=90)).isoformat()}]
    beyond = await service.client.post(url, json={**pledge, "instalments": late}, headers=collector(5))
    assert beyond.status_code == 422 and "within the campaign" in beyond.json()["detail"]
    r = await service.client.post(url, json=pledge, headers=collector(5))
    assert r.status_code == 201, r.text
    pledge_id = r.json()["pledge_id"]
    [made] = await outbox_types(service.db, "donations.pledge.made.v1")
    assert made["total_vnd"] == 4_000_000 and len(made["instalments"]) == 3 and "Minh Phát" not in str(made)

    wrong = await service.contribute(campaign_id, 5, 900_000, receipt="PL-1", donor_kind="organisation",
                                     donor_ref="Công ty TNHH Minh Phát", pledge_id=pledge_id, instalment_number=2)
    assert wrong.status_code == 422 and "1000000" in wrong.json()["detail"]
    paid = await service.contribute(campaign_id, 5, 1_000_000, receipt="PL-2", donor_kind="organisation",
                                    donor_ref="Công ty TNHH Minh Phát", pledge_id=pledge_id, instalment_number=2)
    assert paid.status_code == 201
    twice = await service.contribute(campaign_id, 5, 1_000_000, receipt="PL-3", donor_kind="organisation",
                                     donor_ref="Công ty TNHH Minh Phát", pledge_id=pledge_id, instalment_number=2)
    assert twice.status_code == 409

    runtime = service.app.state.runtime
    assert await runtime.run_job("flag-overdue-instalments") == 1  # no. 1: past due, unpaid
    assert await runtime.run_job("flag-overdue-instalments") == 0  # flagged once only
    [overdue] = await outbox_types(service.db, "donations.pledge.instalment_overdue.v1")
    assert (overdue["pledge_id"], overdue["instalment_number"], overdue["amount_vnd"]) == (pledge_id, 1, 1_000_000)
    view = await service.client.get(f"/v1/pledges/{pledge_id}", headers=OFFICIAL)
    assert [i["status"] for i in view.json()["instalments"]] == ["overdue", "paid", "due"]
    assert (await service.client.get(f"/v1/pledges/{pledge_id}", headers=RESIDENT)).status_code == 403


async def _propose(service: Service, campaign_id: str, amount: int, item: str, who: dict = LEADER, **extra: object):
    body = {"item": item, "amount_vnd": amount, "invoice_ref": f"HĐ-{item[:6]}-{amount}",
            "paid_on": ward_today().isoformat(), **extra}
    return await service.client.post(f"/v1/campaigns/{campaign_id}/expenses", json=body, headers=who)


async def test_expenses_are_approved_by_another_official_and_never_exceed_the_balance(service: Service):
    campaign_id = await service.open_campaign()
    for n in range(1, 4):
        assert (await service.contribute(campaign_id, n, 10_000_000)).status_code == 201  # 30,000,000 raised
    assert (await _propose(service, campaign_id, 1, "x", who=collector(1))).status_code == 403
    cameras = [{"name": f"Camera {i}", "location": f"Ngõ {i} Trần Phú", "group_id": "tran-phu",
                "installed_on": ward_today().isoformat()} for i in range(1, 5)]
    buy = await _propose(service, campaign_id, 18_000_000, "Camera an ninh", who=OFFICIAL, cameras=cameras)
    assert buy.status_code == 201 and buy.json()["status"] == "proposed"
    expense_id = buy.json()["expense_id"]
    approve = f"/v1/expenses/{expense_id}/approve"
    assert (await service.client.post(approve, json={"approval_ref": "QĐ-1"}, headers=LEADER)).status_code == 403
    own = await service.client.post(approve, json={"approval_ref": "QĐ-1"}, headers=OFFICIAL)
    assert own.status_code == 403 and "another official" in own.json()["detail"]
    ok = await service.client.post(approve, json={"approval_ref": "QĐ-1"}, headers=OFFICIAL_2)
    assert ok.status_code == 200 and ok.json()["balance_vnd"] == 12_000_000
    again = await service.client.post(approve, json={"approval_ref": "QĐ-1"}, headers=OFFICIAL_2)
    assert again.status_code == 409
    [recorded] = await outbox_types(service.db, "donations.expense.recorded.v1")
    assert recorded["expense_id"] == expense_id and recorded["campaign_id"] == campaign_id
    assert recorded["amount_vnd"] == 18_000_000 and recorded["invoice_ref"] == "HĐ-Camera-18000000"
    assert [c["location"] for c in recorded["cameras"]] == [f"Ngõ {i} Trần Phú" for i in range(1, 5)]
    [public] = await outbox_types(service.db, "public.donations.expense.recorded.v1")  # how many, not where
    assert (public["expense_id"], public["amount_vnd"], public["cameras_count"]) == (expense_id, 18_000_000, 4)
    assert "Ngõ" not in str(public) and "invoice_ref" not in public

    # Two approvals racing for a balance that holds only one of them: the campaign lock lets exactly one through.
    a = (await _propose(service, campaign_id, 8_000_000, "Đầu ghi hình")).json()["expense_id"]
    b = (await _propose(service, campaign_id, 7_000_000, "Lắp đặt")).json()["expense_id"]
    results = await asyncio.gather(*(service.client.post(f"/v1/expenses/{x}/approve", json={"approval_ref": "QĐ-2"},
                                                         headers=OFFICIAL_2) for x in (a, b)))
    assert sorted(r.status_code for r in results) == [200, 422]
    assert any("exceeds the campaign's balance" in r.json().get("detail", "") for r in results)
    spent = await service.db.fetchval(
        "donations", "SELECT sum(amount_vnd) FROM expenses JOIN expense_approvals USING (expense_id)")
    assert 30_000_000 - spent >= 0 and spent in (26_000_000, 25_000_000)
    report = (await service.client.get(f"/v1/campaigns/{campaign_id}/report", headers=RESIDENT)).json()
    assert report["spent_vnd"] == spent and report["balance_vnd"] == 30_000_000 - spent


async def test_another_wards_campaign_records_answer_as_ones_that_do_not_exist(service: Service):
    campaign_id = await service.open_campaign()
    gift = await service.contribute(campaign_id, 1, 1_000_000)
    pledge = await service.client.post(f"/v1/campaigns/{campaign_id}/pledges", headers=collector(2), json={
        "team_id": "team-02", "donor_kind": "household", "donor_ref": "hh-2", "total_vnd": 100_000,
        "instalments": [{"number": 1, "due_on": (ward_today() + timedelta(days=5)).isoformat(),
                         "amount_vnd": 100_000}]})
    expense = await service.client.post(f"/v1/campaigns/{campaign_id}/expenses", headers=OFFICIAL, json={
        "item": "Camera", "amount_vnd": 500_000, "invoice_ref": "HĐ 1", "paid_on": ward_today().isoformat()})
    ids = {"campaign": campaign_id, "contribution": gift.json()["contribution_id"],
           "pledge": pledge.json()["pledge_id"], "expense": expense.json()["expense_id"]}
    elsewhere = headers("ward_official", "official-dv", ward="dong-ve")
    nobody = "00000000-0000-4000-8000-000000000000"
    for method, path, kind, body in [
        ("GET", "/v1/campaigns/{}/report", "campaign", None), ("GET", "/v1/campaigns/{}/report.csv", "campaign", None),
        ("POST", "/v1/campaigns/{}/close", "campaign", {}),
        ("POST", "/v1/campaigns/{}/expenses", "campaign", {"item": "x", "amount_vnd": 1, "invoice_ref": "y",
                                                         "paid_on": ward_today().isoformat()}),
        ("POST", "/v1/contributions/{}/reversals", "contribution", {"kind": "refund", "reason": "x"}),
        ("POST", "/v1/expenses/{}/approve", "expense", {"approval_ref": "QĐ 1"}),
        ("GET", "/v1/pledges/{}", "pledge", None),
    ]:
        theirs = await service.client.request(method, path.format(ids[kind]), json=body, headers=elsewhere)
        unknown = await service.client.request(method, path.format(nobody), json=body, headers=elsewhere)
        assert_indistinguishable(theirs, ids[kind], unknown, nobody)
    assert (await service.client.post(f"/v1/campaigns/{campaign_id}/close", headers=OFFICIAL)).status_code == 200
