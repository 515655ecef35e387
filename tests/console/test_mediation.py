"""The mediator's pages in-process against fake services: their teams' cases by state, a case with its sessions and
the forms its state allows, a session recorded (the checkboxes' several values sent as lists), a refused step said
as a sentence, the record book ready to print; the leader's forms only for the leader; police refused."""

from __future__ import annotations

import pytest

from tests.console.conftest import csrf
from tests.console.fakes import PoliceAndMediationFakes
from tests.console.test_police import signed_in

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes


@pytest.fixture
def services() -> PoliceAndMediationFakes:
    return PoliceAndMediationFakes(roles=["team_member"], team_ids=["tm1"])


async def test_a_mediator_lands_on_the_cases_and_filters_them_by_state(console, services):
    assert await signed_in(console) == "/mediation/cases"
    page = await console.get("/mediation/cases")
    assert page.status_code == 200 and "Hàng xóm" in page.text and "Đang hòa giải" in page.text
    assert "Nguyễn Văn A, Trần Thị B" in page.text and "14/08/2024" in page.text
    assert "/mediation/cases/c1" not in (await console.get("/mediation/cases?status=succeeded")).text
    assert ("mediation", "/v1/cases", "Bearer access-0") in services.calls


async def test_a_mediator_records_a_session_and_a_refused_step_is_a_sentence(console, services):
    await signed_in(console)
    page = await console.get("/mediation/cases/c1")
    assert page.status_code == 200 and "Tranh chấp lối đi chung" in page.text
    assert 'action="/mediation/cases/c1/sessions"' in page.text and 'action="/mediation/cases/c1/success"' in page.text
    assert 'action="/mediation/cases/c1/mediators"' not in page.text  # the team leader's form only
    r = await console.post("/mediation/cases/c1/sessions", data={
        "csrf_token": csrf(page.text), "held_at": "2024-08-14T09:30", "place": "Nhà văn hóa",
        "mediator_ids": "m1", "parties_present": ["1", "2"], "notes": "Phân tích đúng sai"})
    assert r.status_code == 303 and r.headers["location"] == "/mediation/cases/c1"
    assert services.posted[-1] == ("/v1/cases/c1/sessions", {
        "held_at": "2024-08-14T09:30:00+07:00", "place": "Nhà văn hóa", "mediator_ids": ["m1"],
        "parties_present": [1, 2], "notes": "Phân tích đúng sai"})
    after = await console.get("/mediation/cases/c1")
    assert "Phân tích đúng sai" in after.text and "Phạm Hòa Giải" in after.text
    refused = await console.post("/mediation/cases/c1/follow-ups", data={
        "csrf_token": csrf(after.text), "checked_on": "2024-08-20", "progress": "carried_out", "notes": ""})
    assert refused.status_code == 422 and "Quy định không cho phép" in refused.text


async def test_the_leader_sees_the_leader_forms_and_the_record_book_prints(console, services):
    services.roles = ["team_leader"]
    await signed_in(console)
    page = await console.get("/mediation/cases/c1")
    assert 'action="/mediation/cases/c1/mediators"' in page.text and "Vũ Trung Gian" in page.text
    assert 'action="/mediation/cases/c1/refusal"' in page.text and "Tội phạm" in page.text
    book = await console.get("/mediation/record-book?year=2024")
    assert book.status_code == 200 and "Tổ hòa giải Trần Phú" in book.text and "12/08/2024" in book.text
    assert 'class="printable wide"' in book.text
    assert ("mediation", "/v1/teams/tm1/record-book/2024", "Bearer access-0") in services.calls


async def test_a_member_of_no_mediation_team_is_told_so_and_police_are_refused(console, services):
    services.team_ids = ["anxh-1"]
    await signed_in(console)
    assert "Không tổ nào của bạn là tổ hòa giải" in (await console.get("/mediation/record-book")).text
    services.roles = ["police"]
    await console.post("/sign-out", data={"csrf_token": csrf((await console.get("/mediation/cases")).text)})
    await signed_in(console)
    assert (await console.get("/mediation/cases")).status_code == 403
