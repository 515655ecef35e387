"""The money and award pages in a real browser, on the seed ward the demo replayed (the camera campaign, its ten
mobilisation teams, the festival's awards):

* a collector of a mobilisation team records a contribution with a receipt number; a second use of the receipt is
  refused in a sentence; the official then reads the new raised figure on the campaign's page;
* one official proposes an expense and is told another must approve it; a second official approves it and the
  spent figure changes; the second official reviews and approves a nomination, which the festival list then shows
  with its certificate's code; the registry page lists the teams.

axe-core finds no serious or critical violation on any page; screenshots under test-artifacts/browser/money-*.png.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, async_playwright

from services.console import i18n
from shared.clock import ward_today
from tests.browser import LAUNCH_ARGS, account, chromium_path, serious, sign_in
from tests.conftest import auth

pytestmark = pytest.mark.e2e

WARD = "phu-son"


def vnd(value: int) -> str:
    return i18n.money(value, "vi")


async def _campaign(platform, campaign_id: str) -> dict:
    async with platform.client("donations") as donations:
        r = await donations.get(f"/v1/campaigns/{campaign_id}", headers=auth("ward_official", WARD))
        assert r.status_code == 200, r.text
        return r.json()


class Browser:
    """One Chromium, a context per person (390 px wide, Vietnamese), CSP errors and axe findings collected."""

    def __init__(self, pw) -> None:
        self.pw = pw
        self.violations: list[str] = []
        self.csp_errors: list[str] = []

    async def __aenter__(self) -> Browser:
        self.browser = await self.pw.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.browser.close()

    async def person(self) -> Page:
        context = await self.browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
        page = await context.new_page()
        page.on("console", lambda m: self.csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)
        return page

    async def scan(self, page: Page, name: str) -> None:
        """axe, then the page loaded again: axe leaves style attributes (set through the CSSOM) on what it measured,
        and htmx's history snapshot of the next boosted swap would copy them as inline styles the policy refuses -
        an artefact of the scan, not of the pages."""
        self.violations += await serious(page, f"money-{name}")
        await page.reload()


async def test_a_collector_records_a_contribution_and_the_official_reads_the_new_raised_figure(platform, replayed):
    console = platform.url("console")
    campaign_id = replayed.campaign.campaign_id
    team = replayed.ward.teams["mobilisation"][3]
    collector = f"thu.{uuid.uuid4().hex[:6]}"
    await account(platform, collector, ["team_member"], display_name="Tổ viên tổ vận động",
                  resident_id=team["members"][0], team_ids=[team["team_id"]])
    official = f"ct.{uuid.uuid4().hex[:6]}"
    secret = await account(platform, official, ["ward_official"], display_name="Cán bộ phường")
    before = (await _campaign(platform, campaign_id))["raised_vnd"]
    receipt = f"PT-E2E-{uuid.uuid4().hex[:6]}"

    async with async_playwright() as pw, Browser(pw) as b:
        page = await b.person()
        await sign_in(page, console, collector, None)
        await page.goto(f"{console}/campaigns/{campaign_id}")
        await page.get_by_role("heading", name="Ghi nhận khoản đóng góp").wait_for()
        await b.scan(page, "campaign-collector")
        await page.get_by_label("Số phiếu thu").fill(receipt)
        await page.get_by_label("Số tiền (đồng)").fill("1.250.000")
        await page.get_by_label("Hộ, người dân hoặc tổ chức").fill("Hộ bà Tư, số 7 ngõ 12")
        await page.get_by_role("button", name="Ghi nhận khoản đóng góp này").click()
        await page.get_by_role("cell", name=receipt).or_(page.get_by_role("rowheader", name=receipt)).wait_for()
        assert await page.get_by_test_id("raised").inner_text() == vnd(before + 1_250_000)

        await page.get_by_label("Số phiếu thu").fill(receipt)  # the same receipt again: refused, what was typed kept
        await page.get_by_label("Số tiền (đồng)").fill("300000")
        await page.get_by_label("Hộ, người dân hoặc tổ chức").fill("Hộ ông Năm")
        await page.get_by_role("button", name="Ghi nhận khoản đóng góp này").click()
        await page.get_by_role("alert").get_by_text("Số phiếu thu này đã được dùng").wait_for()
        assert await page.get_by_label("Số tiền (đồng)").input_value() == "300000"

        desk = await b.person()
        await sign_in(desk, console, official, secret)
        await desk.goto(f"{console}/campaigns")
        await b.scan(desk, "campaigns")
        await desk.locator(f'a[href="/campaigns/{campaign_id}"]').click()
        await desk.get_by_test_id("raised").wait_for()
        assert await desk.get_by_test_id("raised").inner_text() == vnd(before + 1_250_000)
        assert receipt in await desk.locator("main").inner_text()  # the official's view is scanned in the next test
    assert b.violations == []
    assert b.csp_errors == []


async def test_an_expense_is_approved_by_a_second_official_and_an_approved_award_is_on_the_festival_list(
        platform, replayed):
    console = platform.url("console")
    campaign_id = replayed.campaign.campaign_id
    proposer, approver = (f"{who}.{uuid.uuid4().hex[:6]}" for who in ("mt", "pct"))
    secrets = {name: await account(platform, name, ["ward_official"], display_name=name)
               for name in (proposer, approver)}
    spent_before = (await _campaign(platform, campaign_id))["spent_vnd"]
    item = f"Biển báo khu vực có camera {uuid.uuid4().hex[:4]}"
    title = f"Khen thưởng tổ hòa giải (thử nghiệm {uuid.uuid4().hex[:4]})"
    async with platform.client("awards") as awards:  # a nomination by hand, with what backs it
        r = await awards.post(f"/v1/wards/{WARD}/nominations", headers=auth("ward_official", WARD), json={
            "year": ward_today().year, "recipient_kind": "collective",
            "recipient_ref": replayed.ward.team("mediation")["team_id"], "title": title,
            "issuer": "ward_chairman", "evidence_note": "10 vụ hòa giải thành trong năm"})
        assert r.status_code == 201, r.text

    async with async_playwright() as pw, Browser(pw) as b:
        first = await b.person()
        await sign_in(first, console, proposer, secrets[proposer])
        await first.goto(f"{console}/campaigns/{campaign_id}")
        await first.get_by_label("Nội dung chi").fill(item)
        await first.get_by_label("Số tiền (đồng)").fill("1.000.000")
        await first.get_by_label("Số hóa đơn").fill("HĐ 0042")
        await first.get_by_label("Ngày chi").fill(ward_today().isoformat())
        await first.get_by_role("button", name="Gửi đề xuất khoản chi").click()
        row = first.get_by_role("row").filter(has_text=item)
        await row.get_by_text("Bạn đã đề xuất khoản chi này").wait_for()
        assert await row.get_by_role("button", name="Phê duyệt khoản chi").count() == 0
        await b.scan(first, "expense-proposed")

        second = await b.person()
        await sign_in(second, console, approver, secrets[approver])
        await second.goto(f"{console}/campaigns/{campaign_id}")
        row = second.get_by_role("row").filter(has_text=item)
        await row.get_by_label("Số quyết định phê duyệt").fill("QĐ 88/QĐ-UBND")
        await row.get_by_role("button", name="Phê duyệt khoản chi").click()
        await second.get_by_role("row").filter(has_text=item).get_by_text("QĐ 88/QĐ-UBND").wait_for()
        assert await second.get_by_test_id("spent").inner_text() == vnd(spent_before + 1_000_000)

        await second.goto(f"{console}/awards")
        card = second.locator("article").filter(has_text=title)
        await card.get_by_label("Biên bản họp Hội đồng").fill("BB 7/HĐTĐKT")
        await card.get_by_role("button", name="Ghi nhận kết quả xét của Hội đồng").click()
        card = second.locator("article").filter(has_text=title)
        await card.get_by_label("Số quyết định", exact=True).fill("77/QĐ-UBND")
        await card.get_by_role("button", name="Phê duyệt: trao khen thưởng").click()
        await second.locator("article").filter(has_text=title).get_by_text("Đã phê duyệt").wait_for()
        await b.scan(second, "awards")

        await second.goto(f"{console}/festival")
        row = second.get_by_role("row").filter(has_text=title)
        await row.get_by_text("77/QĐ-UBND").wait_for()
        assert (await row.locator("code").inner_text()).startswith(f"GK-{ward_today().year}-")
        await b.scan(second, "festival")

        await second.goto(f"{console}/registry")
        await second.get_by_role("heading", name="Thành lập tổ").wait_for()
        assert replayed.ward.team("mediation")["name"] in await second.locator("main").inner_text()
        await b.scan(second, "registry")
    assert b.violations == []
    assert b.csp_errors == []
