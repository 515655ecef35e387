"""Issue 18 in a real browser, on the running platform: the ward map (a group's area from registry, an incident's
marker from incidents at the viewer's precision: rounded to ~100 m for a group leader, exact for a police officer;
no tiles set, so it works offline), an evidence file uploaded and downloaded through the police incident page with
its chain of custody, and a duplicate offered on the anonymous tip form, where "me too" counts without a new tip.
axe-core on the pages; no Content-Security-Policy violation anywhere (Leaflet runs under the console's CSP).

The evidence part needs incidents with a store (EVIDENCE_DIR): this module starts one more incidents process with a
directory of its own, and one more console calling it (the platform's stay as they are)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import async_playwright

from tests.browser import ARTIFACTS, LAUNCH_ARGS, account, chromium_path, sign_in
from tests.browser import serious as _serious
from tests.conftest import auth
from tests.e2e.conftest import eventually

#: A loaded machine is slow: the platform, then one more incidents and console, then three browser sessions.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

#: A ward of its own: the demo's replay (other modules) makes phu-son.
WARD = "ban-do"
#: A point in the group's area, with more decimals than a group leader's ~100 m grid keeps.
LAT, LON = 21.0285431, 105.8542179
AREA = {"type": "Polygon", "coordinates": [[[105.8530, 21.0275], [105.8555, 21.0275], [105.8555, 21.0295],
                                            [105.8530, 21.0295], [105.8530, 21.0275]]]}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_the_map_evidence_and_duplicates_in_the_browser(platform):
    chromium_path()  # skipped, with the reason, where there is no browser
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    official = auth("ward_official", WARD)

    # -- the ward, through the APIs: a group with its area, a team (for the leader), an incident with its point ----
    async with platform.client("registry") as registry:
        r = await registry.post("/v1/wards", json={"ward_id": WARD, "name": "Phường Bản Đồ", "city": "Hà Nội"},
                                headers=auth("admin", "*"))
        assert r.status_code == 201, r.text
        r = await registry.post("/v1/groups", json={"ward_id": WARD, "name": "Tổ dân phố Bản Đồ"}, headers=official)
        assert r.status_code == 201, r.text
        group_id = r.json()["group_id"]
        r = await registry.put(f"/v1/groups/{group_id}/area", json=AREA, headers=official)
        assert r.status_code in (200, 201), r.text
        r = await registry.post("/v1/teams", headers=official, json={
            "group_id": group_id, "kind": "anxh", "name": "Tổ ANXH Bản Đồ", "formed_on": date.today().isoformat(),
            "formation_act": "QĐ 18/QĐ-UBND"})
        assert r.status_code == 201, r.text
        team_id = r.json()["team_id"]

    async with platform.client("incidents") as incidents:
        async def knows_group() -> bool:
            groups = (await incidents.get("/v1/public/groups", params={"limit": 200})).json()["items"]
            return any(g["group_id"] == group_id for g in groups)

        await eventually(knows_group)
        resident = auth("resident", WARD, resident_id="r-map", sub="user-map")
        r = await incidents.post("/v1/incidents", headers=resident, json={
            "category": "theft", "is_crime_tip": False, "description": "Mất trộm xe đạp ở đầu ngõ",
            "anonymous": False, "reporter": {"full_name": "Nguyễn Văn Bản"},
            "place": {"group_id": group_id, "address": "Đầu ngõ 5", "latitude": LAT, "longitude": LON}})
        assert r.status_code == 201, r.text
        incident_id = r.json()["incident_id"]

    # -- incidents with an evidence store, and a console calling it --------------------------------------------------
    store = tempfile.mkdtemp(prefix="ward-e2e-evidence-")
    incidents2 = platform.start_service("incidents", EVIDENCE_DIR=store)
    urls = {s: p.base_url for s, p in platform.processes.items() if s != "console"}
    console2 = platform.start_service("console", CONSOLE_API_URLS=json.dumps({**urls,
                                                                              "incidents": incidents2.base_url}))
    try:
        await asyncio.gather(asyncio.to_thread(incidents2.wait_ready, 90), asyncio.to_thread(console2.wait_ready, 90))
        await _in_the_browser(platform, console2.base_url, group_id, team_id, incident_id)
    finally:
        console2.stop()
        incidents2.stop()
        shutil.rmtree(store, ignore_errors=True)


async def _in_the_browser(platform, console: str, group_id: str, team_id: str, incident_id: str) -> None:
    executable = chromium_path()

    leader_secret = await account(platform, "to.truong.ban.do", ["team_leader"], display_name="Tổ trưởng Bản Đồ",
                                  ward=WARD, team_ids=[team_id])
    police_secret = await account(platform, "cong.an.ban.do", ["police"], display_name="Công an Bản Đồ", ward=WARD)
    violations: list[str] = []
    photo = _jpeg()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        csp_errors: list[str] = []

        async def new_page():
            context = await browser.new_context(locale="vi-VN", viewport={"width": 1024, "height": 900},
                                                accept_downloads=True)
            page = await context.new_page()
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
            return page

        try:
            # -- a group leader: the marker rounded to ~100 m ------------------------------------------------------
            page = await new_page()
            await sign_in(page, console, "to.truong.ban.do", leader_secret)
            await page.get_by_role("link", name="Bản đồ phường").click()
            await page.get_by_role("heading", name="Bản đồ phường").wait_for()
            await page.locator("#ward-map[data-ready]").wait_for(state="attached")
            assert await page.locator("path.group-area").count() >= 1  # the area, drawn without any tiles
            assert await page.locator("path.marker-approximate").count() == 1
            assert await page.locator("path.marker-exact").count() == 0
            table = await page.get_by_test_id("markers").inner_text()
            assert f"{round(LAT, 3)}, {round(LON, 3)}" in table and str(LAT) not in table
            assert "Trong khoảng 100 m" in table
            violations += await _serious(page, "map-leader")

            # -- a police officer: the exact marker, then the incident's evidence -------------------------------
            page = await new_page()
            await sign_in(page, console, "cong.an.ban.do", police_secret)
            await page.goto(console + "/map")
            await page.locator("#ward-map[data-ready]").wait_for(state="attached")
            assert await page.locator("path.marker-exact").count() >= 1
            assert await page.locator("path.marker-approximate").count() == 0
            assert f"{LAT}, {LON}" in await page.get_by_test_id("markers").inner_text()
            violations += await _serious(page, "map-police")
            await page.locator("path.marker-exact").first.click()  # its popup links the incident
            await page.locator(".leaflet-popup a").first.wait_for()

            await page.goto(f"{console}/police/incidents/{incident_id}")
            await page.get_by_role("heading", name="Tệp chứng cứ").wait_for()
            await page.get_by_label("Thêm tệp (ảnh, video hoặc PDF)").set_input_files(
                files=[{"name": "anh-hien-truong.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            await page.get_by_role("button", name="Tải tệp lên").click()
            await page.get_by_test_id("evidence").wait_for()
            assert "image/jpeg" in await page.get_by_test_id("evidence").inner_text()
            violations += await _serious(page, "police-evidence")
            async with page.expect_download() as downloading:
                await page.get_by_test_id("evidence").get_by_role("link", name="Tải xuống").click()
            download = await downloading.value
            served = Path(await download.path()).read_bytes()
            assert served[:3] == b"\xff\xd8\xff" and len(served) > 100  # a JPEG (cleaned: not byte for byte ours)
            await page.get_by_test_id("evidence").get_by_role("link", name="Nhật ký quản lý chứng cứ").click()
            custody = await page.get_by_test_id("custody").inner_text()
            assert "Tải lên" in custody and "Tải xuống" in custody and "Xem danh sách" in custody
            violations += await _serious(page, "police-custody")

            # -- the public: the same theft reported again, 20 m away, is offered the first; "me too" ----------
            page = await new_page()
            await page.goto(console + "/tip")
            await page.get_by_label("Tổ dân phố nơi xảy ra").select_option(value=group_id)
            await page.get_by_label("Loại vụ việc").select_option(label="Trộm cắp")
            await page.get_by_label("Điều đã xảy ra").fill("Thấy người lạ dắt xe đạp ra khỏi ngõ")
            await page.get_by_label("Vĩ độ").fill(str(LAT + 0.00018))  # ~20 m north
            await page.get_by_label("Kinh độ").fill(str(LON))
            await page.get_by_role("button", name="Gửi tin báo").click()
            await page.get_by_test_id("duplicates").wait_for()
            assert "cách khoảng 20 m" in await page.get_by_test_id("duplicates").inner_text()
            violations += await _serious(page, "tip-duplicates")
            await page.get_by_role("button", name="Tôi cũng thấy việc này").click()
            await page.get_by_role("heading", name="Ý kiến của bạn đã được tính").wait_for()
            assert (await page.locator("#follow-up-code").inner_text()).strip()
        finally:
            await browser.close()

    async with platform.client("incidents") as incidents:
        mine = (await incidents.get(f"/v1/incidents/{incident_id}", headers=auth("police", WARD))).json()
        assert mine["supporters"] == 1  # counted, and no second tip was filed
        tips = (await incidents.get("/v1/incidents", params={"group_id": group_id},
                                    headers=auth("police", WARD))).json()["items"]
        assert [t["incident_id"] for t in tips] == [incident_id]
    assert not csp_errors, csp_errors
    assert not violations, violations
