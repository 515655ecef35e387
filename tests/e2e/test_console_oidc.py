"""The sign-in edges of the console in a real browser, on the running platform: a new official, given a reset code
by a city official (identity's API), follows the sign-in page's link to /password, sets a password, sees the second
factor's enrolment - the QR code an image the CSP lets through, the key as text - adds it to an "app" (pyotp), and
confirms it with the first code, which signs them in to the seed ward's dashboard. axe-core finds no serious
violation on the three pages; screenshots: password.png, password-enrolment.png, password-dashboard.png under
test-artifacts/browser/."""

from __future__ import annotations

import pyotp
import pytest
from playwright.async_api import async_playwright

from tests.browser import ARTIFACTS, LAUNCH_ARGS, PASSWORD, chromium_path
from tests.browser import serious as _serious
from tests.conftest import auth

pytestmark = pytest.mark.e2e


async def test_a_new_official_sets_a_password_enrols_the_second_factor_and_signs_in(platform, replayed):
    executable = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with platform.client("identity") as identity:
        r = await identity.post("/v1/accounts", headers=auth("city_official", "*"), json={
            "ward_id": "phu-son", "username": "pho.chu.tich", "display_name": "Phó Chủ tịch phường",
            "roles": ["ward_official"]})
        assert r.status_code == 201, r.text
        reset_code = r.json()["reset_code"]
    violations: list[str] = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        page = await (await browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})).new_page()
        csp_errors: list[str] = []
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            await page.goto(platform.url("console") + "/sign-in")
            await page.get_by_role("link", name="Đặt mật khẩu bằng mã được cấp").click()
            await page.get_by_role("heading", name="Đặt mật khẩu").wait_for()
            await page.get_by_label("Tên đăng nhập").fill("pho.chu.tich")
            await page.get_by_label("Mã đặt lại").fill(reset_code)
            await page.get_by_label("Mật khẩu mới (ít nhất 12 ký tự)").fill(PASSWORD)
            await page.get_by_label("Nhập lại mật khẩu mới").fill(PASSWORD)
            violations += await _serious(page, "password")
            await page.get_by_role("button", name="Đặt mật khẩu").click()

            qr = page.get_by_role("img", name="Mã QR cho ứng dụng xác thực (khóa tương ứng được ghi bên dưới)")
            await qr.wait_for()
            assert await qr.evaluate("img => img.complete && img.naturalWidth > 100")  # the data: image loaded
            secret = (await page.locator("code.secret").inner_text()).strip()
            violations += await _serious(page, "password-enrolment")
            await page.get_by_label("Sau đó nhập mã 6 chữ số mà ứng dụng hiển thị để xác nhận").fill(
                pyotp.TOTP(secret).now())
            await page.get_by_role("button", name="Xác nhận và đăng nhập").click()

            await page.get_by_role("heading", name="Tổng quan của phường").wait_for()
            assert "Lắp đặt camera an ninh tổ dân phố Trần Phú" in await page.locator("main").inner_text()
            violations += await _serious(page, "password-dashboard")
        finally:
            await browser.close()
    assert violations == []
    assert csp_errors == []
