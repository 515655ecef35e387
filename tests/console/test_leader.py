"""The group leader's and the resident's pages (pages_people.py), in-process against the fake services: each list
from the registry with the person's token, the forms posting what the registry and incidents take, refusals
shown as sentences with what was typed, and each role kept to its own pages."""

from __future__ import annotations

import pytest

from tests.console.conftest import csrf
from tests.console.fakes import CODE, PASSWORD, USERNAME, PeopleServices

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes

RESIDENT = {"roles": ["resident"], "team_ids": [], "resident_id": "r1", "household_id": "h1"}


@pytest.fixture
def services(request) -> PeopleServices:
    return PeopleServices(me=getattr(request, "param", None) or PeopleServices().me)


async def sign_in(console) -> str:
    form = await console.get("/sign-in")
    await console.post("/sign-in", data={"csrf_token": csrf(form.text), "username": USERNAME, "password": PASSWORD})
    page = await console.get("/sign-in/code")
    r = await console.post("/sign-in/code", data={"csrf_token": csrf(page.text), "code": CODE})
    assert r.status_code == 303
    return r.headers["location"]


async def test_a_group_leader_lands_on_their_group_and_reads_its_lists(console, services):
    assert await sign_in(console) == "/my-group"
    page = await console.get("/my-group")
    assert page.status_code == 200 and "Tổ dân phố Trần Phú" in page.text
    assert 'href="/group/households"' in page.text and 'href="/my-household"' not in page.text  # the leader's menu only
    households = await console.get("/group/households")
    assert "Số 1 phố Trần Phú" in households.text
    assert ("registry", "/v1/households", "Bearer access-0") in services.calls
    houses = await console.get("/group/boarding-houses")
    assert "Khu nhà trọ Trần Phú" in houses.text and "Vũ Thị Giang" in houses.text
    assert "Trễ hạn" in houses.text  # a late stay notice, in words
    assert (await console.get("/my-household")).status_code == 403  # a resident's page


async def test_a_group_leader_registers_a_household_then_a_resident_in_it(console, services):
    await sign_in(console)
    page = await console.get("/group/households")
    r = await console.post("/group/households?group=g1", data={"csrf_token": csrf(page.text),
                                                               "address": "Số 9 phố Trần Phú"})
    assert r.status_code == 303 and r.headers["location"] == "/group/households/h2?group=g1"
    assert services.posted[-1] == ("registry", "/v1/households", {"group_id": "g1", "address": "Số 9 phố Trần Phú"})
    page = await console.get(r.headers["location"])
    assert "Số 9 phố Trần Phú" in page.text and "Chưa có nhân khẩu" in page.text
    r = await console.post("/group/households/h2?group=g1", data={
        "csrf_token": csrf(page.text), "full_name": "Lê Thị Mới", "sex": "female", "birth_date": "", "phone": ""})
    assert r.status_code == 303
    assert services.posted[-1][2] == {"household_id": "h2", "full_name": "Lê Thị Mới", "sex": "female"}
    assert "Lê Thị Mới" in (await console.get(r.headers["location"])).text


async def test_a_refused_form_is_shown_again_with_a_sentence_and_what_was_typed(console, services):
    await sign_in(console)
    page = await console.get("/group/declarations")
    r = await console.post("/group/declarations?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r1", "kind": "absence", "valid_from": "2026-01-01",
        "valid_until": "2026-05-01", "case": "military_age", "destination": ""})
    assert r.status_code == 422 and "chưa hợp lệ" in r.text and 'value="2026-05-01"' in r.text
    sent = len(services.posted)
    r = await console.post("/group/declarations?group=g1", data={"csrf_token": "forged", "resident_id": "r1"})
    assert r.status_code == 403 and len(services.posted) == sent  # refused before registry is called
    r = await console.post("/group/declarations?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r1", "kind": "absence", "valid_from": "2026-01-01",
        "valid_until": "2026-05-01", "case": "military_age", "destination": "Hà Nội"})
    assert r.status_code == 303
    listed = await console.get("/group/declarations")
    assert "Lê Văn Tám" in listed.text and "Tạm vắng" in listed.text and "01/05/2026" in listed.text


@pytest.mark.parametrize("services", [RESIDENT], indirect=True)
async def test_a_resident_sees_their_household_declares_an_absence_and_files_a_report(console, services):
    assert await sign_in(console) == "/my-household"
    home = await console.get("/my-household")
    assert "Số 1 phố Trần Phú" in home.text and "Lê Văn Tám" in home.text and 'href="/tip"' in home.text
    assert (await console.get("/my-group")).status_code == 403
    page = await console.get("/my-declaration")
    r = await console.post("/my-declaration", data={
        "csrf_token": csrf(page.text), "kind": "absence", "valid_from": "2026-01-01", "valid_until": "2027-02-01",
        "case": "other", "destination": "Huế"})
    assert r.status_code == 303 and r.headers["location"] == "/my-declaration?done=absence"
    assert services.posted[-1] == ("registry", "/v1/absences", {
        "resident_id": "r1", "case": "other", "destination": "Huế", "absent_from": "2026-01-01",
        "absent_until": "2027-02-01"})
    assert "Tạm vắng" in (await console.get(r.headers["location"])).text
    page = await console.get("/my-reports")
    assert "Bạn chưa gửi" in page.text
    r = await console.post("/my-reports", data={"csrf_token": csrf(page.text), "category": "theft",
                                                  "description": "Mất xe đạp trước cửa nhà", "address": "",
                                                  "phone": ""})
    assert r.status_code == 303
    host, path, body = services.posted[-1]
    assert (host, path) == ("incidents", "/v1/incidents")
    assert body["place"] == {"group_id": "g1"} and body["anonymous"] is False
    assert body["reporter"] == {"full_name": "Lê Văn Tám"}
    assert "Trộm cắp" in (await console.get("/my-reports")).text
