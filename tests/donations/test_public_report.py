"""A campaign's public transparency report without a token (issue 16): the totals and the spending as the ward
posts them, nothing of a household, a resident or a collector; an unknown campaign answers 404; a flood 429; the
caller's address is kept nowhere."""

from __future__ import annotations

import json

import httpx
import pytest

from services.donations.bootstrap import build
from shared.clock import ward_today
from tests.donations.conftest import OFFICIAL, OFFICIAL_2, Service, headers, registry_events
from tests.harness import serve

pytestmark = pytest.mark.integration

LIMIT = 5
ADDRESS = "203.0.113.88"
LEADER = headers("team_leader", "leader-1", resident_id="member-01", team_ids=["team-01"])


def client(app, address: str = ADDRESS) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://donations")


async def test_the_public_report_needs_no_token_and_shows_only_the_public_accounts(db, started):
    async with serve(build, "donations", db, started, kind=Service, public_rate_limit=LIMIT,
                     public_rate_window_s=3600) as service:
        await service.feed(*registry_events())
        campaign_id = await service.open_campaign()
        assert (await service.contribute(campaign_id, 1, 2_000_000, public_name="Cửa hàng Minh Tâm")).status_code == 201
        assert (await service.contribute(campaign_id, 2, 500_000, donor_ref="hh-private-7")).status_code == 201
        expense = await service.client.post(f"/v1/campaigns/{campaign_id}/expenses", headers=LEADER, json={
            "item": "Đầu ghi hình", "amount_vnd": 1_000_000, "invoice_ref": "HĐ-0042",
            "paid_on": ward_today().isoformat()})
        assert expense.status_code == 201, expense.text
        approve = await service.client.post(f"/v1/expenses/{expense.json()['expense_id']}/approve",
                                            json={"approval_ref": "QĐ-9"}, headers=OFFICIAL_2)
        assert approve.status_code == 200, approve.text
        with_token = (await service.client.get(f"/v1/campaigns/{campaign_id}/report", headers=OFFICIAL)).json()

        async with client(service.app) as anyone:
            public = await anyone.get(f"/v1/public/campaigns/{campaign_id}/report")
            assert public.status_code == 200, public.text
            report = public.json()
            assert report == with_token  # the same report the ward's people read
            assert report["raised_vnd"] == 2_500_000 and report["target_vnd"] == 60_000_000
            assert report["spent_vnd"] == 1_000_000 and report["balance_vnd"] == 1_500_000
            assert report["spent_by_item"] == [{"item": "Đầu ghi hình", "amount_vnd": 1_000_000}]
            assert [r["name"] for r in report["honour_roll"]] == ["Cửa hàng Minh Tâm"]
            text = json.dumps(report, ensure_ascii=False)
            assert "hh-private-7" not in text and "hh-1" not in text and "member-0" not in text
            assert "HĐ-0042" not in text and "QĐ-9" not in text  # invoices and approvals stay with the ward
            csv = await anyone.get(f"/v1/public/campaigns/{campaign_id}/report.csv")
            assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")

            unknown = await anyone.get("/v1/public/campaigns/00000000-0000-4000-8000-000000000000/report")
            assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"

            # LIMIT per window and address: three answered above, the fourth and fifth now, then 429.
            assert [(await anyone.get(f"/v1/public/campaigns/{campaign_id}/report")).status_code
                    for _ in range(3)] == [200, 200, 429]
            refused = await anyone.get(f"/v1/public/campaigns/{campaign_id}/report")
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["content-type"] == "application/problem+json"
        async with client(service.app, "198.51.100.30") as other:
            assert (await other.get(f"/v1/public/campaigns/{campaign_id}/report")).status_code == 200

        buckets = json.dumps([dict(r) for r in await db.fetch("donations", "SELECT * FROM rate_limits")], default=str)
        assert ADDRESS not in buckets and "198.51.100.30" not in buckets
