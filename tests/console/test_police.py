"""The police's pages in-process against fake services: the list with states and deadlines, an incident moved on
by its lifecycle form, a refused step said as a sentence, the reporter shown only when asked (and only through the
audited disclosure), warnings recorded, the briefing ready to print; other roles refused."""

from __future__ import annotations

import pytest

from services.incidents.schemas import IncidentDetail
from tests.console.conftest import csrf
from tests.console.fakes import CODE, PASSWORD, USERNAME, PoliceAndMediationFakes

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes


@pytest.fixture
def services() -> PoliceAndMediationFakes:
    return PoliceAndMediationFakes(roles=["police"])


async def signed_in(console) -> str:
    """Sign in (password, then the code); answers where the console sent the person."""
    form = await console.get("/sign-in")
    await console.post("/sign-in", data={"csrf_token": csrf(form.text), "username": USERNAME, "password": PASSWORD})
    page = await console.get("/sign-in/code")
    r = await console.post("/sign-in/code", data={"csrf_token": csrf(page.text), "code": CODE})
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def test_police_land_on_the_incidents_with_their_states_and_deadlines(console, services):
    assert await signed_in(console) == "/police/incidents"
    page = await console.get("/police/incidents")
    assert page.status_code == 200
    assert "Ma túy" in page.text and "tố giác" in page.text.lower() and "Đang xử lý" in page.text
    assert "02/09/2024" in page.text  # the decision deadline, as dates are written here
    assert 'href="/police/warnings"' in page.text and 'href="/police/briefing"' in page.text  # the menu
    assert (await console.get("/police/incidents?state=closed")).text.count("/police/incidents/i1") == 0
    assert (await console.get("/dashboard")).status_code == 403  # an official's page


async def test_the_reporter_is_shown_only_when_the_officer_asks_through_the_audited_disclosure(console, services):
    # The fake answers incidents' plain read as incidents does: its fields, and no reporter's identity.
    assert "reporter" not in services.incident and "reporter" not in IncidentDetail.model_fields
    assert set(services.incident) == set(IncidentDetail.model_fields)
    await signed_in(console)
    page = await console.get("/police/incidents/i1")
    assert page.status_code == 200
    assert "Lê Thị Tố Giác" not in page.text and "0912" not in page.text  # not in the read, so never shown
    assert "<td>Người báo tin</td>" in page.text and "<td>reporter</td>" not in page.text  # the history's "By"
    assert not [c for c in services.calls if c[1].endswith("/reporter-disclosure")]
    shown = await console.post("/police/incidents/i1/reporter", data={"csrf_token": csrf(page.text)})
    assert shown.status_code == 200 and "Lê Thị Tố Giác" in shown.text and "0912 000 111" in shown.text
    assert services.posted[-1] == ("/v1/incidents/i1/reporter-disclosure", {})
    again = await console.get("/police/incidents/i1")
    assert "Lê Thị Tố Giác" not in again.text  # not kept: every showing is one deliberate, audited act
    refused = await console.post("/police/incidents/i1/reporter", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and len([p for p in services.posted if "disclosure" in p[0]]) == 1


async def test_a_lifecycle_step_posts_to_incidents_and_a_refused_one_is_a_sentence(console, services):
    await signed_in(console)
    page = await console.get("/police/incidents/i1")
    assert 'action="/police/incidents/i1/resolve"' in page.text and 'action="/police/incidents/i1/close"' not in page.text
    short = await console.post("/police/incidents/i1/resolve", data={"csrf_token": csrf(page.text),
                                                                      "outcome": "solved", "note": "ok"})
    assert short.status_code == 422 and "chưa hợp lệ" in short.text  # shown again, with the sentence
    r = await console.post("/police/incidents/i1/resolve", data={"csrf_token": csrf(page.text), "outcome": "solved",
                                                                  "note": "Phá chuyên án nhờ camera"})
    assert r.status_code == 303 and r.headers["location"] == "/police/incidents/i1"
    assert services.posted[-1] == ("/v1/incidents/i1/resolve", {"outcome": "solved",
                                                                 "note": "Phá chuyên án nhờ camera"})
    after = await console.get("/police/incidents/i1")
    assert "Đã giải quyết" in after.text and 'action="/police/incidents/i1/close"' in after.text
    again = await console.post("/police/incidents/i1/resolve", data={"csrf_token": csrf(after.text),
                                                                      "outcome": "solved", "note": "lần nữa"})
    assert again.status_code == 422 and "Quy định không cho phép" in again.text


async def test_warnings_are_listed_and_recorded_and_the_briefing_prints(console, services):
    await signed_in(console)
    page = await console.get("/police/warnings?month=2024-08")
    assert "Đỗ Văn Răn" in page.text and "Răn đe" in page.text and "Tổ Trần Phú" in page.text
    r = await console.post("/police/warnings", data={
        "csrf_token": csrf(page.text), "group_id": "g1", "kind": "summons", "full_name": "Hoàng Văn Hỏi",
        "resident_id": "", "reason": "Lưu trú chưa thông báo", "issued_on": "2024-08-20", "incident_id": ""})
    assert r.status_code == 303 and r.headers["location"] == "/police/warnings?month=2024-08"
    assert services.posted[-1] == ("/v1/warnings", {
        "group_id": "g1", "kind": "summons", "person": {"full_name": "Hoàng Văn Hỏi", "resident_id": None},
        "reason": "Lưu trú chưa thông báo", "issued_on": "2024-08-20", "incident_id": None})
    briefing = await console.get("/police/briefing?group_id=g1&month=2024-08")
    assert briefing.status_code == 200 and "Tổ Trần Phú" in briefing.text and "31/08/2024" in briefing.text
    assert "tháng 08/2024" in briefing.text and "Hòa giải thành" in briefing.text and 'class="printable"' in briefing.text
    assert ("incidents", "/v1/briefings/g1/2024-08", "Bearer access-0") in services.calls  # the officer's token


async def test_a_mediator_may_not_open_the_police_pages(console, services):
    services.roles, services.team_ids = ["team_member"], ["tm1"]
    assert await signed_in(console) == "/mediation/cases"
    assert (await console.get("/police/incidents/i1")).status_code == 403
    assert not [c for c in services.calls if c[0] == "incidents"]
