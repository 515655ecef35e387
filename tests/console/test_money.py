"""The collector's and the treasurer's pages against the fake donations service: a collector records a contribution
with its receipt number and the raised figure changes; a used receipt is refused in a sentence with what was typed;
an official reverses a contribution; the proposer of an expense is told another official must approve it, and a
second official approves it; amounts people write with dots are read as đồng."""

from __future__ import annotations

import pytest

from services.console.pages_money import amount
from tests.console.conftest import csrf
from tests.console.test_pages import sign_in

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes


async def as_another(console, services, html: str, account_id: str):
    """Sign out, and in again as another person of the same roles; their campaign page."""
    assert (await console.post("/sign-out", data={"csrf_token": csrf(html)})).status_code == 303
    services.me_account_id = account_id
    await sign_in(console)
    return await console.get("/campaigns/c1")


def test_amounts_are_read_as_people_write_them():
    assert amount("2.000.000") == amount("2 000 000 ₫") == amount("2000000") == 2_000_000
    assert amount("") is None and amount("2,5 triệu") is None and amount("-5") is None


async def test_a_collector_records_a_contribution_with_its_receipt_and_the_raised_figure_changes(console, services):
    services.me_roles, services.me_account_id, services.me_team_ids = ["team_member"], "acc-collector", ["m2"]
    r = await sign_in(console)
    assert r.status_code == 303 and r.headers["location"] == "/campaigns"  # their landing page
    page = await console.get("/campaigns/c1")
    assert page.status_code == 200
    assert "40.250.000\xa0₫" in page.text and "Ghi nhận khoản đóng góp" in page.text
    assert page.text.index('value="m2"') < page.text.index('value="m1"')  # their own team first
    assert "Đề xuất khoản chi" not in page.text  # a team member proposes no expense
    r = await console.post("/campaigns/c1/contributions", data={
        "csrf_token": csrf(page.text), "team_id": "m2", "receipt_number": "PT-0042", "channel": "cash",
        "amount": "2.000.000", "donor_kind": "household", "donor_ref": "hộ ông Ba", "public_name": ""})
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/c1"
    assert services.posted[-1] == ("donations", "/v1/campaigns/c1/contributions", {
        "team_id": "m2", "channel": "cash", "receipt_number": "PT-0042", "donor_kind": "household",
        "donor_ref": "hộ ông Ba", "public_name": None, "received_on": None, "amount_vnd": 2_000_000})
    page = await console.get("/campaigns/c1")
    assert "42.250.000\xa0₫" in page.text and "PT-0042" in page.text

    again = await console.post("/campaigns/c1/contributions", data={
        "csrf_token": csrf(page.text), "team_id": "m2", "receipt_number": "PT-0042", "channel": "cash",
        "amount": "500000", "donor_kind": "anonymous"})
    assert again.status_code == 409
    assert "Số phiếu thu này đã được dùng" in again.text and 'value="500000"' in again.text
    bad = await console.post("/campaigns/c1/contributions", data={
        "csrf_token": csrf(page.text), "team_id": "m2", "receipt_number": "PT-0043", "channel": "cash",
        "amount": "năm trăm", "donor_kind": "anonymous"})
    assert bad.status_code == 422 and "chỉ bằng chữ số" in bad.text
    refused = await console.post("/campaigns/c1/expenses/x1/approve", data={"csrf_token": csrf(page.text),
                                                                           "approval_ref": "QĐ"})
    assert refused.status_code == 403  # not a treasurer's page for a team member


async def test_an_expense_waits_for_a_second_official_and_a_contribution_is_reversed(console, services):
    services.money.contributions.append({
        "contribution_id": "k1", "receipt_number": "PT-0001", "received_on": "2024-08-05", "amount_vnd": 1_000_000,
        "channel": "cash", "in_kind_description": None, "team_id": "m1", "donor_kind": "household",
        "public_name": None, "reversal": None, "reversed_vnd": 0, "reversal_reason": None,
        "recorded_at": "2024-08-05T03:00:00+00:00"})
    await sign_in(console)
    page = await console.get("/campaigns/c1")
    assert "Ghi nhận khoản đóng góp" not in page.text  # officials do not collect
    r = await console.post("/campaigns/c1/expenses", data={"csrf_token": csrf(page.text), "item": "Camera ngõ 20",
                                                           "amount": "3.000.000", "invoice_ref": "HĐ 9",
                                                           "paid_on": "2024-08-12"})
    assert r.status_code == 303
    page = await console.get("/campaigns/c1")
    assert "Chờ phê duyệt" in page.text and "Bạn đã đề xuất khoản chi này" in page.text
    assert "/expenses/x2/approve" not in page.text  # the proposer is not offered the approval

    page = await as_another(console, services, page.text, "acc-second-official")
    assert "/expenses/x2/approve" in page.text
    r = await console.post("/campaigns/c1/expenses/x2/approve", data={"csrf_token": csrf(page.text),
                                                                      "approval_ref": "QĐ 12/QĐ-UBND"})
    assert r.status_code == 303
    page = await console.get("/campaigns/c1")
    assert "8.000.000\xa0₫" in page.text  # spent: 5 + 3 million

    r = await console.post("/campaigns/c1/contributions/k1/reversal", data={
        "csrf_token": csrf(page.text), "kind": "void", "reason": "ghi nhầm", "amount": ""})
    assert r.status_code == 303
    assert services.posted[-1] == ("donations", "/v1/contributions/k1/reversals", {"kind": "void",
                                                                                  "reason": "ghi nhầm"})
    page = await console.get("/campaigns/c1")
    assert "Hủy (ghi nhầm)" in page.text and "39.250.000\xa0₫" in page.text

    services.money.expenses[-1].update(status="proposed", approved_by=None)
    page = await as_another(console, services, page.text, "acc-official")
    r = await console.post("/campaigns/c1/expenses/x2/approve", data={"csrf_token": csrf(page.text),
                                                                      "approval_ref": "QĐ"})
    assert r.status_code == 403 and "một cán bộ khác với người đã đề xuất" in r.text
    expired = await console.post("/campaigns/c1/expenses", data={"csrf_token": "stale", "item": "x"})
    assert expired.status_code == 403


async def test_the_campaigns_list_shows_each_campaigns_money(console):
    await sign_in(console)
    page = await console.get("/campaigns")
    assert page.status_code == 200 and 'href="/campaigns/c1"' in page.text and "35.250.000\xa0₫" in page.text
