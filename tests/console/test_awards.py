"""The official's award pages and registry management against fake services: a nomination is reviewed, then
approved with a decision number, and shows on the festival list with its certificate's code; a nomination at the
wrong step is refused in a sentence; the registry page lists teams with their compliance and forms a team."""

from __future__ import annotations

import pytest

from tests.console.conftest import csrf
from tests.console.test_pages import sign_in

pytestmark = pytest.mark.integration


async def test_an_official_reviews_and_approves_a_nomination_and_the_festival_list_shows_it(console, services):
    await sign_in(console)
    page = await console.get("/awards?year=2024")
    assert page.status_code == 200
    assert "Tổ hòa giải Trần Phú" in page.text and "Đề xuất" in page.text and "Hội đồng đã xét" in page.text
    r = await console.post("/awards/nominations/n1/review", data={"csrf_token": csrf(page.text), "year": "2024",
                                                                   "council_minutes_ref": "BB 2/HĐTĐKT"})
    assert r.status_code == 303 and r.headers["location"] == "/awards?year=2024"
    assert services.posted[-1] == ("awards", "/v1/nominations/n1/review", {"council_minutes_ref": "BB 2/HĐTĐKT"})
    r = await console.post("/awards/nominations/n1/approve", data={
        "csrf_token": csrf(page.text), "year": "2024", "decision_number": "15/QĐ-UBND", "decision_date": ""})
    assert r.status_code == 303
    assert services.posted[-1][2]["decision_number"] == "15/QĐ-UBND"

    again = await console.post("/awards/nominations/n1/approve", data={
        "csrf_token": csrf(page.text), "year": "2024", "decision_number": "16/QĐ-UBND"})
    assert again.status_code == 422 and "không còn ở bước đó" in again.text

    festival = await console.get("/festival?year=2024")
    assert festival.status_code == 200
    assert "Tổ hòa giải Trần Phú" in festival.text and "GK-2024-ABCD-EFGH" in festival.text
    assert "15/QĐ-UBND" in festival.text and "@media print" not in festival.text
    r = await console.post("/festival/awards/a1/revoke", data={"csrf_token": csrf(festival.text), "year": "2024",
                                                                "reason": "trao nhầm"})
    assert r.status_code == 303 and services.posted[-1][1] == "/v1/awards/a1/revoke"


async def test_the_registry_page_lists_teams_with_compliance_and_forms_a_team(console, services):
    await sign_in(console)
    page = await console.get("/registry")
    assert page.status_code == 200
    assert "Tổ ANXH số 1" in page.text and "Chưa đạt" in page.text and "Tổ dân phố Trần Phú" in page.text
    assert "Chưa có tổ trưởng" in page.text and "Chưa đủ 3 hòa giải viên (hiện có 2)" in page.text
    assert "Lê Văn Ba" in page.text  # a resident to add to a team
    r = await console.post("/registry/teams", data={"csrf_token": csrf(page.text), "group_id": "g1",
                                                    "kind": "fire_prevention", "name": "Tổ PCCC số 2",
                                                    "formed_on": "2024-08-01", "formation_act": "QĐ 9"})
    assert r.status_code == 303
    assert services.posted[-1] == ("registry", "/v1/teams", {"group_id": "g1", "kind": "fire_prevention",
                                                             "name": "Tổ PCCC số 2", "formed_on": "2024-08-01",
                                                             "formation_act": "QĐ 9"})
    r = await console.post("/registry/members", data={"csrf_token": csrf(page.text), "team_id": "t1",
                                                      "resident_id": "r1", "role": "member",
                                                      "appointed_on": "2024-08-02"})
    assert r.status_code == 303 and services.posted[-1][1] == "/v1/teams/t1/members"


async def test_a_collector_is_not_shown_the_officials_pages(console, services):
    services.me_roles = ["team_member"]
    await sign_in(console)
    assert (await console.get("/awards")).status_code == 403
    assert (await console.get("/registry")).status_code == 403
