"""A mediation case over HTTP against the real service and database: the routes' wiring (status codes, problems,
the outbox, idempotency, paging and filters, reads). The rules themselves are specified in test_handlers.py, over
the fakes and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.mediation.schemas import CaseOut, CasePage, RefusalGrounds, TeamPage
from shared.clock import ward_today
from shared.contracts.registry import TeamFormed, TeamMemberLeft
from tests.conftest import auth
from tests.harness import assert_indistinguishable
from tests.mediation.conftest import GROUP, LEADER, MEDIATOR, OFFICIAL, PARTY, TEAM, WARD, as_, team_events

pytestmark = pytest.mark.integration

REQUEST = {
    "origin": "party_request", "group_id": GROUP, "kind": "neighbours",
    "summary": "Tranh chấp lối đi chung giữa hai nhà",
    "parties": [{"display_name": "Vũ Văn Bình", "resident_id": "r-binh"},
                {"display_name": "Ngô Văn Cường", "resident_id": "r-cuong"}],
}


async def open_case(svc, who=PARTY, **changes) -> dict:
    r = await svc.client.post("/v1/cases", json={**REQUEST, **changes}, headers=as_(who))
    assert r.status_code == 201, r.text
    return CaseOut.model_validate(r.json()) and r.json()  # the body its operation documents


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_a_party_opens_a_case_with_the_groups_team_and_the_event_carries_no_private_facts(svc):
    case = await open_case(svc)
    assert case["team_id"] == TEAM and case["status"] == "received" and case["origin"] == "party_request"
    assert [p["display_name"] for p in case["parties"]] == ["Vũ Văn Bình", "Ngô Văn Cường"]
    [event] = await svc.outbox("mediation.case.opened.v1")
    assert event["case_id"] == case["case_id"] and event["team_id"] == TEAM and event["kind"] == "neighbours"
    assert event["referral_incident_id"] is None
    assert "lối đi" not in str(event) and "Bình" not in str(event)


async def test_bad_or_unauthorised_requests_are_problems_and_write_nothing(svc):
    one_party = await svc.client.post("/v1/cases", json={**REQUEST, "parties": REQUEST["parties"][:1]},
                                      headers=as_(OFFICIAL))
    assert one_party.status_code == 422 and one_party.headers["content-type"] == "application/problem+json"
    bad_kind = await svc.client.post("/v1/cases", json={**REQUEST, "kind": "murder"}, headers=as_(OFFICIAL))
    assert bad_kind.status_code == 422
    outsider = await svc.client.post("/v1/cases", json=REQUEST, headers=as_({"roles": ["resident"],
                                                                            "resident_id": "r-stranger"}))
    assert outsider.status_code == 403
    not_a_member = await svc.client.post("/v1/cases", json={**REQUEST, "origin": "mediator_initiative"},
                                         headers=as_(OFFICIAL))
    assert not_a_member.status_code == 403
    unknown_resident = await svc.client.post("/v1/cases", headers=as_(OFFICIAL), json={
        **REQUEST, "parties": [*REQUEST["parties"][:1], {"display_name": "Ai đó", "resident_id": "r-unknown"}]})
    assert unknown_resident.status_code == 422 and "r-unknown is not known" in unknown_resident.json()["detail"]
    no_team = await svc.client.post("/v1/cases", json={**REQUEST, "group_id": "tdp-khac"}, headers=as_(OFFICIAL))
    assert no_team.status_code == 422 and "no mediation team" in no_team.json()["detail"]
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM cases") == 0
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM outbox") == 0


async def mediate(svc, case_id: str, held_at: datetime | None = None) -> dict:
    r = await svc.client.post(f"/v1/cases/{case_id}/mediators", json={"mediator_ids": ["r-lan", "r-minh"]},
                              headers=as_(LEADER))
    assert r.status_code == 200, r.text
    r = await svc.client.post(f"/v1/cases/{case_id}/sessions", headers=as_(MEDIATOR), json={
        "held_at": (held_at or datetime.now(UTC)).isoformat(), "place": "Nhà văn hóa tổ", "mediator_ids": ["r-lan", "r-minh"],
        "parties_present": [1, 2], "invitees": [{"name": "Cụ Ngô Văn Tư", "relation": "người có uy tín"}],
        "notes": "Hai bên trình bày ý kiến"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_session_then_success_with_the_agreement_and_its_follow_up(svc):
    case = await open_case(svc)
    cid = case["case_id"]
    too_early = await svc.client.post(f"/v1/cases/{cid}/success", headers=as_(MEDIATOR),
                                      json={"agreement": "x", "carry_out_how": "y"})
    assert too_early.status_code == 422
    await svc.client.post(f"/v1/cases/{cid}/mediators", json={"mediator_ids": ["r-lan"]}, headers=as_(LEADER))
    no_session = await svc.client.post(f"/v1/cases/{cid}/success", headers=as_(MEDIATOR),
                                       json={"agreement": "x", "carry_out_how": "y"})
    assert no_session.status_code == 422 and "no session" in no_session.json()["detail"]
    unassigned = await svc.client.post(f"/v1/cases/{cid}/sessions", headers=as_(MEDIATOR),
                                       json={"held_at": _ago(0), "mediator_ids": ["r-minh"]})
    assert unassigned.status_code == 422
    viewed = await mediate(svc, cid)
    [session] = viewed["sessions"]
    assert session["invitees"] == [{"name": "Cụ Ngô Văn Tư", "relation": "người có uy tín"}]
    assert session["parties_present"] == [1, 2]
    [held] = await svc.outbox("mediation.case.session_held.v1")
    assert "notes" not in held and set(held["mediator_ids"]) == {"r-lan", "r-minh"}

    today = ward_today()  # the ward's calendar: after 17:00 UTC it is already tomorrow in Hà Nội
    done = await svc.client.post(f"/v1/cases/{cid}/success", headers=as_(MEDIATOR), json={
        "agreement": "Mở lại lối đi chung rộng 1,2 m", "carry_out_how": "Ông Cường tháo hàng rào",
        "carry_out_by": (today + timedelta(days=30)).isoformat()})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded" and done.json()["agreement"]["text"].startswith("Mở lại")
    [ok] = await svc.outbox("mediation.case.succeeded.v1")
    assert set(ok["mediator_ids"]) == {"r-lan", "r-minh"} and "agreement" not in ok
    [public] = await svc.outbox("public.mediation.case.succeeded.v1")
    assert public["case_id"] == cid and "mediator_ids" not in public
    [closed] = await svc.outbox("public.mediation.case.closed.v1")
    assert (closed["case_id"], closed["outcome"], closed["closed_on"]) == (cid, "succeeded", today.isoformat())

    follow = await svc.client.post(f"/v1/cases/{cid}/follow-ups", headers=as_(MEDIATOR),
                                   json={"checked_on": today.isoformat(), "progress": "carried_out"})
    assert follow.status_code == 201, follow.text
    assert follow.json()["follow_ups"][0]["progress"] == "carried_out"
    assert CaseOut.model_validate(follow.json()).agreement is not None  # a full case is what the schema says
    assert (await svc.outbox("mediation.case.agreement_followed_up.v1"))[0]["progress"] == "carried_out"


async def test_a_matter_that_may_not_be_mediated_is_refused_with_its_legal_ground(svc):
    grounds = RefusalGrounds.model_validate(
        (await svc.client.get("/v1/refusal-grounds", headers=as_(OFFICIAL))).json()).model_dump()["grounds"]
    assert {g["code"] for g in grounds} >= {"criminal_offence", "harms_state_or_public_interest"}
    case = await open_case(svc)
    path = f"/v1/cases/{case['case_id']}/refusal"
    assert (await svc.client.post(path, json={"ground": "criminal_offence"}, headers=as_(MEDIATOR))).status_code == 403
    unknown = await svc.client.post(path, json={"ground": "too_hard"}, headers=as_(LEADER))
    assert unknown.status_code == 422
    r = await svc.client.post(path, headers=as_(LEADER), json={
        "ground": "criminal_offence", "explanation": "Ông Cường đánh ông Bình gây thương tích 15%"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refused" and "Art. 3(1)(c)" in r.json()["refusal"]["reason"]
    assert CaseOut.model_validate(r.json()).refusal is not None
    [event] = await svc.outbox("mediation.case.refused.v1")
    assert event["ground"] == "criminal_offence" and "Decree 15/2014" in event["reason"]
    assert "Cường" not in str(event) and "thương tích" not in str(event)
    [closed] = await svc.outbox("public.mediation.case.closed.v1")
    assert closed["outcome"] == "refused" and "reason" not in closed and "Cường" not in str(closed)


async def test_teams_show_compliance_and_follow_the_registry(svc):
    teams = TeamPage.model_validate((await svc.client.get("/v1/teams", headers=as_(OFFICIAL))).json()).model_dump(
        mode="json")["items"]
    [team] = teams
    assert team["compliant"] is True and len(team["mediators"]) == 4
    await svc.feed(TeamMemberLeft(ward_id=WARD, subject=TEAM, team_id=TEAM, group_id=GROUP, kind="mediation",
                                  compliant=False, compliance_issues=["no woman"], resident_id="r-lan",
                                  household_id="hh-11", full_name="Phạm Thị Lan", sex="female", role="member",
                                  left_on=datetime.now(UTC).date()))
    await svc.feed(*team_events("team-anxh", GROUP, kind="anxh"))  # not a mediation team: ignored
    [team] = (await svc.client.get("/v1/teams", headers=as_(OFFICIAL))).json()["items"]
    assert team["compliant"] is False and team["compliance_issues"] == ["no woman among the mediators"]
    assert "r-lan" not in {m["resident_id"] for m in team["mediators"]}
    assert (await svc.client.get("/v1/teams", headers=as_(PARTY))).status_code == 403


async def test_a_repeated_request_with_the_same_idempotency_key_opens_one_case(svc):
    headers = {**as_(OFFICIAL), "Idempotency-Key": "req-1"}
    first = await svc.client.post("/v1/cases", json=REQUEST, headers=headers)
    again = await svc.client.post("/v1/cases", json=REQUEST, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["case_id"] == again.json()["case_id"]
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM cases") == 1



async def test_another_wards_cases_and_residents_answer_as_ones_that_do_not_exist(svc):
    await svc.feed(TeamFormed(ward_id="dong-ve", subject="team-dv", team_id="team-dv", group_id="tdp-dv",
                              kind="mediation", compliant=True, name="Tổ hòa giải Đông Vệ",
                              formed_on=date(2024, 1, 5), formation_act="QĐ 3"))
    elsewhere = auth("ward_official", "dong-ve")
    # a resident of Phú Sơn named as a party in Đông Vệ: as unknown there as a resident who does not exist
    def request(resident_id: str) -> dict:
        return {**REQUEST, "group_id": "tdp-dv", "parties": [
            {"display_name": "Vũ Văn Bình", "resident_id": resident_id}, {"display_name": "Người khác"}]}
    theirs = await svc.client.post("/v1/cases", json=request("r-binh"), headers=elsewhere)
    unknown = await svc.client.post("/v1/cases", json=request("r-nobody"), headers=elsewhere)
    assert_indistinguishable(theirs, "r-binh", unknown, "r-nobody")
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM cases") == 0

    case = await open_case(svc)
    for method, suffix, body in [("GET", "", None), ("POST", "/classification", {"kind": "family"}),
                                 ("POST", "/withdrawal", {"reason": "x"})]:
        a = await svc.client.request(method, f"/v1/cases/{case['case_id']}{suffix}", json=body, headers=elsewhere)
        b = await svc.client.request(method, f"/v1/cases/00000000-0000-4000-8000-000000000000{suffix}", json=body, headers=elsewhere)
        assert_indistinguishable(a, case["case_id"], b, "00000000-0000-4000-8000-000000000000")


async def test_the_case_list_takes_its_filters_from_the_query(svc):
    family = await open_case(svc, OFFICIAL, kind="family")
    neighbours = await open_case(svc, OFFICIAL)
    await svc.client.post(f"/v1/cases/{neighbours['case_id']}/withdrawal", json={}, headers=as_(OFFICIAL))

    async def ids(**params) -> list[str]:
        r = await svc.client.get("/v1/cases", params=params, headers=as_(OFFICIAL))
        assert r.status_code == 200, r.text
        CasePage.model_validate(r.json())
        return [c["case_id"] for c in r.json()["items"]]

    assert await ids(kind="family") == [family["case_id"]]
    assert await ids(status="withdrawn", group_id=GROUP, team_id=TEAM) == [neighbours["case_id"]]
    assert await ids(group_id="tdp-khac") == [] and await ids(referral_incident_id="inc-none") == []
    assert await ids(assignment_late="false", kind="family") == [family["case_id"]]
    for bad in ({"status": "reopened"}, {"kind": "murder"}, {"team_id": ""}):
        r = await svc.client.get("/v1/cases", params=bad, headers=as_(OFFICIAL))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_a_case_id_longer_than_any_case_id_is_a_problem_not_an_error(svc):
    for method, suffix, body in [("GET", "", None), ("POST", "/withdrawal", {})]:
        r = await svc.client.request(method, f"/v1/cases/{'c' * 65}{suffix}", json=body, headers=as_(OFFICIAL))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
