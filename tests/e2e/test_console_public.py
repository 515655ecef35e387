"""The pages without an account in a real browser, on the running platform after the demo's replay: from the
sign-in page's links, an anonymous tip is filed (its code and secret shown once), the police triage it through
their API, and the tipster sees that at the follow-up with the code and secret; the seed ward's camera campaign's
public page shows what donations raised, in Vietnamese money format; a certificate the replay issued verifies as
valid. axe-core on every page (artifacts public-*.png / public-*.axe.json under test-artifacts/browser/)."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from services.console import i18n
from tests.browser import ARTIFACTS, LAUNCH_ARGS, chromium_path
from tests.browser import serious as _serious
from tests.conftest import auth
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

WARD = "phu-son"


async def test_without_an_account_a_tip_is_filed_and_followed_up_and_the_public_pages_answer(platform, replayed):
    executable = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console = platform.url("console")
    campaign_id = replayed.campaign.campaign_id
    async with platform.client("donations") as donations:
        report = (await donations.get(f"/v1/public/campaigns/{campaign_id}/report")).json()
    raised_vi = i18n.money(report["raised_vnd"], "vi")
    certificate = replayed.festival.certificate["verification_code"]
    violations: list[str] = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        page = await (await browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})).new_page()
        csp_errors: list[str] = []
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            # From the sign-in page, without an account: an anonymous tip.
            await page.goto(console + "/sign-in")
            await page.get_by_role("link", name="Gửi tin báo ẩn danh cho công an").click()
            await page.get_by_role("heading", name="Gửi tin báo ẩn danh").wait_for()
            violations += await _serious(page, "public-tip")
            # A group of the seed ward by its id: the list holds every ward's groups on this shared platform (the map
            # test adds another ward's), so "the first one" may belong to a ward whose police are not these.
            async with platform.client("incidents") as incidents:
                ward_groups = (await incidents.get("/v1/public/groups", params={"ward_id": WARD})).json()["items"]
            await page.get_by_label("Tổ dân phố nơi xảy ra").select_option(value=ward_groups[0]["group_id"])
            await page.get_by_label("Loại vụ việc").select_option(label="Trộm cắp")
            await page.get_by_label("Đây là tố giác tội phạm gửi công an").check()
            await page.get_by_label("Điều đã xảy ra").fill("Hai người lạ cạy khoá xe máy trong hẻm lúc nửa đêm")
            await page.get_by_label("Ở đâu (địa chỉ hoặc địa điểm dễ nhận biết, không bắt buộc)").fill("Hẻm 12")
            await page.get_by_role("button", name="Gửi tin báo").click()
            await page.get_by_role("heading", name="Tin báo của bạn đã được gửi").wait_for()
            code = (await page.locator("#follow-up-code").inner_text()).strip()
            secret = (await page.locator("#follow-up-secret").inner_text()).strip()
            assert code.startswith("TB-") and secret
            assert "Hãy ghi lại ngay" in await page.locator("main").inner_text()
            violations += await _serious(page, "public-tip-filed")

            # The police triage it (their API, their token); the tipster sees it with the code and secret alone.
            async with platform.client("incidents") as incidents:
                mine = (await incidents.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret})).json()
                police = auth("police", WARD)
                triaged = await incidents.post(f"/v1/incidents/{mine['incident_id']}/triage", headers=police,
                                               json={"category": "theft", "is_crime_tip": True})
                assert triaged.status_code == 200, triaged.text

            await page.goto(console + "/tip/follow-up")
            await page.get_by_label("Mã theo dõi").fill(code)
            await page.get_by_label("Mã bí mật").fill("not the secret")
            await page.get_by_role("button", name="Xem tình trạng tin báo").click()
            await page.get_by_role("alert").get_by_text("Không có tin báo nào").wait_for()
            await page.get_by_label("Mã bí mật").fill(secret)
            await page.get_by_role("button", name="Xem tình trạng tin báo").click()
            await page.get_by_role("heading", name="Tin báo của bạn").wait_for()
            assert (await page.locator("#tip-state").inner_text()).strip() == "Công an đã xem xét"
            assert secret not in await page.content()
            violations += await _serious(page, "public-follow-up")

            # The seed ward's camera campaign: its public accounts, what donations raised in Vietnamese format.
            await page.goto(console + f"/public/campaigns/{campaign_id}")
            await page.get_by_role("heading", name="Các khoản đã chi").wait_for()
            assert (await page.locator("#raised").inner_text()).startswith(raised_vi)
            violations += await _serious(page, "public-campaign")

            # A certificate the replay issued, verified by its printed code.
            await page.goto(console + "/sign-in")
            await page.get_by_role("link", name="Xác minh giấy khen").click()
            await page.get_by_label("Mã xác minh in trên giấy khen").fill(certificate.lower())
            await page.get_by_role("button", name="Xác minh", exact=True).click()
            verdict = page.locator("#verdict")
            await verdict.wait_for()
            assert "Còn hiệu lực" in await verdict.inner_text()
            violations += await _serious(page, "public-verify")
        finally:
            await browser.close()
    # The tip the browser filed is in the police's list of the ward, anonymous (no read names a reporter).
    async with platform.client("incidents") as incidents:
        async def seen() -> bool:
            r = await incidents.get(f"/v1/incidents/{mine['incident_id']}", headers=auth("police", WARD))
            return r.status_code == 200 and "reporter" not in r.json() and r.json()["anonymous"] is True
        await eventually(seen, timeout=10)
    assert violations == []
    assert csp_errors == []
