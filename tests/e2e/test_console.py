"""The console in a real browser, on the running platform: an official created through identity's API signs in with
a password and a TOTP code, reads the dashboard in Vietnamese with figures the other services answered, switches to
English, signs out; axe-core finds no serious or critical violation on any of those pages. Screenshots and axe
reports are written under test-artifacts/browser/ (gitignored)."""

from __future__ import annotations

import pyotp
import pytest
from playwright.async_api import async_playwright

from services.console import i18n
from tests.browser import ARTIFACTS, LAUNCH_ARGS, PASSWORD, account, chromium_path
from tests.browser import serious as _serious
from tests.conftest import auth

pytestmark = pytest.mark.e2e

WARD = "phu-son"


async def _official(platform, username: str) -> str:
    secret = await account(platform, username, ["ward_official"], display_name="Chủ tịch phường Phú Sơn")
    assert secret is not None  # officials must have a second factor
    return secret


async def test_an_official_signs_in_with_a_code_reads_the_dashboard_in_both_languages_and_signs_out(
        platform, replayed):
    executable = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    secret = await _official(platform, "chu.tich.console")
    # A figure only donations knows: the balance of the seed ward's camera campaign, as the dashboard must write it.
    official = auth("ward_official", WARD)
    async with platform.client("donations") as donations:
        campaign = (await donations.get(f"/v1/campaigns/{replayed.campaign.campaign_id}", headers=official)).json()
    balance_vi, balance_en = (i18n.money(campaign["balance_vnd"], lang) for lang in ("vi", "en"))
    violations: list[str] = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        page = await (await browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})).new_page()
        csp_errors: list[str] = []
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            await page.goto(platform.url("console") + "/")
            await page.get_by_label("Tên đăng nhập").fill("chu.tich.console")
            await page.get_by_label("Mật khẩu").fill("not the password at all")
            await page.get_by_role("button", name="Tiếp tục").click()  # boosted by htmx: a 401 page is shown too
            await page.get_by_role("alert").get_by_text("Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng").wait_for()
            violations += await _serious(page, "sign-in-refused")
            await page.get_by_label("Mật khẩu").fill(PASSWORD)
            violations += await _serious(page, "sign-in")
            await page.get_by_role("button", name="Tiếp tục").click()

            await page.get_by_label("Mã 6 chữ số từ ứng dụng xác thực").fill(pyotp.TOTP(secret).now())
            violations += await _serious(page, "code")
            await page.get_by_role("button", name="Đăng nhập").click()

            await page.get_by_role("heading", name="Tổng quan của phường").wait_for()
            text = await page.locator("main").inner_text()
            assert balance_vi in text, text  # 57.600.000 ₫-style, from donations through the official's token
            assert "Tổ an ninh xã hội" in text or "Tổ ANXH" in text or "Tổ bảo vệ" in text  # registry's teams
            violations += await _serious(page, "dashboard-vi")

            await page.get_by_role("button", name="English").click()
            await page.get_by_role("heading", name="Ward dashboard").wait_for()
            assert await page.locator("html").get_attribute("lang") == "en"
            assert balance_en in await page.locator("main").inner_text()
            violations += await _serious(page, "dashboard-en")

            await page.get_by_role("button", name="Sign out").click()
            await page.get_by_role("heading", name="Sign in").wait_for()
            await page.goto(platform.url("console") + "/dashboard")
            assert page.url.endswith("/sign-in")  # the session is gone, not only the page
        finally:
            await browser.close()
    assert violations == []
    assert csp_errors == []  # htmx runs under the policy: nothing it does is refused

