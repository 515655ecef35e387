"""The police's and the mediator's console pages in a real browser, on the running platform after the demo's replay.

A police officer (second factor) opens a replayed crime tip, asks to see its reporter (incidents' audited disclosure),
closes the tip, and opens the monthly briefing ready to print; the ward official reads the tip closed through
incidents' API and the disclosure in the audit trail's history. A mediator bound to the replayed mediation team records
the follow-up of a case's agreement; the official reads it through mediation's API. axe-core on every page."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from shared.clock import ward_today
from tests.browser import ARTIFACTS, LAUNCH_ARGS, account, chromium_path, sign_in
from tests.browser import serious as _serious
from tests.conftest import auth
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


async def test_police_and_a_mediator_work_the_replayed_ward_in_the_browser(platform, replayed):
    executable = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console = platform.url("console")
    w = replayed.ward
    tip = replayed.cases.tips[0]  # the identified drug tip, solved with camera footage
    reporter_name = w.residents[7]["full_name"]
    team = w.team("mediation")
    case_id = replayed.cases.mediation_cases[0]  # mediated successfully: its agreement is followed up
    police_secret = await account(platform, "cong.an.console", ["police"], display_name="Công an phường Phú Sơn")
    assert police_secret is not None  # police must have a second factor
    assert await account(platform, "hoa.giai.console", ["team_leader"], display_name="Tổ trưởng tổ hòa giải",
                         resident_id=team["members"][0], team_ids=[team["team_id"]]) is None
    violations: list[str] = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        csp_errors: list[str] = []

        async def new_page():
            page = await (await browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})).new_page()
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
            return page

        try:
            # -- the police officer --------------------------------------------------------------------------------
            page = await new_page()
            await sign_in(page, console, "cong.an.console", police_secret)
            await page.get_by_role("heading", name="Tin báo, vụ việc").wait_for()
            assert page.url.endswith("/police/incidents")
            violations += await _serious(page, "police-incidents")

            await page.goto(f"{console}/police/incidents/{tip}")
            await page.get_by_role("heading", name="Ma túy (tố giác tội phạm)").wait_for()
            assert reporter_name not in await page.locator("main").inner_text()  # not until asked
            violations += await _serious(page, "police-incident")
            await page.get_by_role("button", name="Xem người báo tin").click()
            await page.get_by_test_id("reporter").get_by_text(reporter_name).wait_for()
            violations += await _serious(page, "police-reporter")

            await page.get_by_role("button", name="Kết thúc vụ việc").click()
            await page.locator("dl.facts").first.get_by_text("Đã đóng").wait_for()
            assert reporter_name not in await page.locator("main").inner_text()  # the disclosure is not kept

            await page.goto(f"{console}/police/warnings")
            await page.get_by_role("heading", name="Cảnh báo (gọi hỏi, răn đe)").wait_for()
            violations += await _serious(page, "police-warnings")

            await page.goto(f"{console}/police/briefing")
            await page.get_by_label("Tổ dân phố", exact=True).select_option(w.group_id)
            await page.get_by_label("Tháng", exact=True).fill(ward_today().strftime("%Y-%m"))
            await page.get_by_role("button", name="Xem", exact=True).click()
            await page.locator("article.printable").wait_for()
            assert w.group_name in await page.locator("article.printable").inner_text()
            violations += await _serious(page, "police-briefing")
            await page.emulate_media(media="print")
            assert await page.locator("nav.menu").is_hidden() and await page.locator("article.printable").is_visible()

            # -- the mediator --------------------------------------------------------------------------------------
            page = await new_page()
            await sign_in(page, console, "hoa.giai.console", None)
            await page.get_by_role("heading", name="Vụ việc hòa giải").wait_for()
            violations += await _serious(page, "mediation-cases")
            await page.goto(f"{console}/mediation/cases/{case_id}")
            await page.get_by_role("heading", name="Theo dõi thực hiện thỏa thuận").wait_for()
            violations += await _serious(page, "mediation-case")
            await page.get_by_label("Tình hình thực hiện").select_option("carried_out")
            await page.get_by_label("Ghi chú", exact=True).fill("Hai bên đã mở lại lối đi chung")
            await page.get_by_role("button", name="Ghi nhận kết quả theo dõi").click()
            await page.get_by_text("Hai bên đã mở lại lối đi chung").wait_for()

            await page.goto(f"{console}/mediation/record-book")
            await page.locator("article.printable").wait_for()
            assert "Hòa giải thành" in await page.locator("article.printable").inner_text()
            violations += await _serious(page, "mediation-record-book")
        finally:
            await browser.close()

    # -- what the ward official reads of it, through the services' APIs ------------------------------------------
    official = auth("ward_official", "phu-son")

    async def closed() -> bool:
        async with platform.client("incidents") as incidents:
            history = (await incidents.get(f"/v1/incidents/{tip}/history", headers=official)).json()["items"]
        return history[-1]["action"] == "close" and history[-1]["to_state"] == "closed"

    async def followed_up() -> bool:
        async with platform.client("mediation") as mediation:
            case = (await mediation.get(f"/v1/cases/{case_id}", headers=official)).json()
        return any(f["notes"] == "Hai bên đã mở lại lối đi chung" for f in case["follow_ups"])

    await eventually(closed)
    await eventually(followed_up)
    assert violations == []
    assert csp_errors == []
