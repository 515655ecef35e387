"""Notifications, questions to an anonymous tipster and a leader's report for a resident, in a real browser on the
running platform (notify among the services) after the demo's replay.

* An anonymous tip comes in (incidents' public route). A police officer (second factor) opens it in the console and
  asks the tipster a question; the tipster opens /tip/follow-up with the code and secret, reads the question and
  answers it (the secret typed again: the console keeps neither). incidents' TipAnswered reaches notify, which puts
  a notification in the officer's inbox: the menu counts it, the officer reads the answer on the tip's page and
  marks the notification read, and the count goes.
* A group leader (a ``team_leader`` of the seed group's ANXH team) files a report for a resident of the group; the
  police read it through incidents' API as an assisted report.

axe-core finds no serious or critical violation on the new pages; no CSP violation. Screenshots under
test-artifacts/browser/ (notify-*.png, intake-*.png)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import async_playwright

from tests.browser import LAUNCH_ARGS, account, chromium_path, serious, sign_in
from tests.conftest import auth
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

WARD = "phu-son"
QUESTION = "Anh/chị thấy mấy người, đi xe gì?"
ANSWER = "Hai người, đi một xe máy màu đỏ"


async def _browser(pw):
    browser = await pw.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
    csp: list[str] = []

    async def new_page():
        page = await (await browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})).new_page()
        page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
        return page

    return browser, new_page, csp


async def scan(page, name: str) -> list[str]:
    """axe and the screenshot, then the page loaded again (see test_console_leader.py: an artefact of the scan)."""
    found = await serious(page, name)
    await page.reload()
    return found


async def _anonymous_tip(platform, group_id: str) -> dict:
    async with platform.client("incidents") as incidents:
        r = await incidents.post("/v1/public/tips", json={
            "category": "theft", "is_crime_tip": True, "description": "Có người lạ cạy khoá xe trong hẻm 12",
            "place": {"group_id": group_id, "address": "Hẻm 12"}})
        assert r.status_code == 201, r.text
        return r.json()


async def test_an_officer_asks_a_tipster_is_notified_of_the_answer_and_marks_it_read(platform, replayed):
    w = replayed.ward
    receipt = await _anonymous_tip(platform, w.group_id)
    tip, code, secret = receipt["incident_id"], receipt["follow_up_code"], receipt["secret"]
    police_secret = await account(platform, "cong.an.thong.bao", ["police"], display_name="Công an khu vực")
    console = platform.url("console")
    violations: list[str] = []
    async with async_playwright() as pw:
        browser, new_page, csp = await _browser(pw)
        try:
            officer = await new_page()
            await sign_in(officer, console, "cong.an.thong.bao", police_secret)
            menu = officer.get_by_role("navigation", name="Các trang")
            await menu.get_by_role("link", name="Thông báo").wait_for()
            await officer.goto(f"{console}/police/incidents/{tip}")
            await officer.get_by_role("heading", name="Câu hỏi cho người tố giác").wait_for()
            await officer.get_by_label("Hỏi người tố giác").fill(QUESTION)
            await officer.get_by_role("button", name="Gửi câu hỏi").click()
            await officer.get_by_test_id("tip-messages").get_by_text(QUESTION).wait_for()
            assert "Chưa được trả lời" in await officer.get_by_test_id("tip-messages").inner_text()
            violations += await scan(officer, "intake-police-question")

            tipster = await new_page()
            await tipster.goto(f"{console}/tip/follow-up")
            await tipster.get_by_label("Mã theo dõi").fill(code)
            await tipster.get_by_label("Mã bí mật", exact=True).fill(secret)
            await tipster.get_by_role("button", name="Xem tình trạng tin báo").click()
            await tipster.get_by_test_id("tip-thread").get_by_text(QUESTION).wait_for()
            assert secret not in await tipster.content()  # never put back into the page
            violations += await serious(tipster, "intake-tipster-question")  # not reloaded: a POST's answer
            await tipster.get_by_label("Câu trả lời của bạn").fill(ANSWER)
            await tipster.get_by_label("Nhập lại mã bí mật").fill(secret)
            await tipster.get_by_role("button", name="Gửi câu trả lời").click()
            await tipster.get_by_role("status").get_by_text("Câu trả lời của bạn đã được gửi tới công an").wait_for()
            assert ANSWER in await tipster.get_by_test_id("tip-thread").inner_text()
            assert secret not in await tipster.content()

            # notify tells the officer who asked, once the event has flowed; the menu counts it
            async def unread() -> int:
                await officer.goto(f"{console}/police/incidents")
                await menu.get_by_role("link", name=re.compile("^Thông báo")).wait_for()
                badge = officer.get_by_test_id("unread-count")
                try:
                    await badge.wait_for(timeout=2000)
                except Exception:  # the count is fetched after the page: none (yet) is no badge
                    return 0
                return int(re.match(r"\d+", (await badge.inner_text()).strip())[0])

            async def in_the_inbox() -> bool:
                await officer.goto(f"{console}/inbox")
                return "Người tố giác ẩn danh đã trả lời câu hỏi" in await officer.locator("main").inner_text()

            await eventually(in_the_inbox, timeout=90, interval=1)
            before = await unread()
            assert before >= 1
            await menu.get_by_role("link", name=re.compile("^Thông báo")).click()
            await officer.get_by_role("heading", name="Thông báo", exact=True).wait_for()
            row = officer.get_by_test_id("inbox").get_by_role("row").filter(
                has_text="Người tố giác ẩn danh đã trả lời câu hỏi")
            assert "Chưa đọc" in await row.inner_text() and "Khẩn" in await row.inner_text()
            violations += await scan(officer, "notify-inbox")
            await row.get_by_role("button", name=re.compile("^Đánh dấu đã đọc")).click()
            await row.get_by_text("Đã đọc", exact=True).wait_for()
            assert "Chưa đọc" not in await row.inner_text()
            after = await unread()
            await officer.wait_for_timeout(1500)  # the count's request answered: it must be one less
            assert after == before - 1 and (after > 0 or await officer.get_by_test_id("unread-count").count() == 0)

            await officer.goto(f"{console}/police/incidents/{tip}")
            assert ANSWER in await officer.get_by_test_id("tip-messages").inner_text()

            await officer.goto(f"{console}/notifications/settings")
            await officer.get_by_test_id("quiet-hours").wait_for()
            assert "22:00" in await officer.get_by_test_id("quiet-hours").inner_text()
            violations += await scan(officer, "notify-settings")
        finally:
            await browser.close()
    assert violations == []
    assert csp == []


async def test_a_group_leader_files_a_report_for_a_resident_of_their_group(platform, replayed):
    w = replayed.ward
    team = w.team("anxh")
    secret = await account(platform, "to.truong.ho.tro", ["team_leader"], display_name="Tổ trưởng hỗ trợ",
                           resident_id=team["members"][0], team_ids=[team["team_id"]])
    violations: list[str] = []
    async with async_playwright() as pw:
        browser, new_page, csp = await _browser(pw)
        try:
            page = await new_page()
            await sign_in(page, platform.url("console"), "to.truong.ho.tro", secret)
            await page.get_by_role("navigation", name="Các trang").get_by_role(
                "link", name="Báo tin thay người dân").click()
            await page.get_by_role("heading", name=re.compile("^Báo tin thay người dân của")).wait_for()
            violations += await scan(page, "intake-assisted")
            await page.get_by_label("Người dân", exact=True).select_option(index=1)
            await page.get_by_label("Loại vụ việc", exact=True).select_option("public_order")
            await page.get_by_label("Người dân đã kể lại với bạn").fill("Đèn đường đầu ngõ 5 hỏng đã một tuần")
            await page.get_by_role("button", name="Gửi tin báo").click()
            await page.get_by_test_id("assisted-filed").wait_for()
            filed = re.search(r"filed=([^&]+)", page.url)[1]
        finally:
            await browser.close()

    async def assisted() -> bool:
        async with platform.client("incidents") as incidents:
            r = await incidents.get(f"/v1/incidents/{filed}", headers=auth("police", WARD))
            assert r.status_code == 200, r.text
            return r.json()["assisted"] is True and r.json()["anonymous"] is False

    await eventually(assisted)
    assert violations == []
    assert csp == []
