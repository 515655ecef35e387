"""A mediation case over HTTP against the real database: opening, refusal, assignment, sessions, endings,
follow-up, and who may see what. Each test reads as one rule of the Law on Grassroots Mediation 2013."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

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


async def open_case(svc, who=PARTY, **changes) -> dict:  # noqa: ANN001
    r = await svc.client.post("/v1/cases", json={**REQUEST, **changes}, headers=as_(who))
    assert r.status_code == 201, r.text
    return r.json()


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


async def test_a_mediator_opens_a_case_on_their_own_initiative(svc):
    case = await open_case(svc, MEDIATOR, origin="mediator_initiative")
    assert case["origin"] == "mediator_initiative"


async def test_the_leader_assigns_but_not_a_mediator_of_a_partys_household(svc):
    case = await open_case(svc)
    path = f"/v1/cases/{case['case_id']}/mediators"
    member = await svc.client.post(path, json={"mediator_ids": ["r-lan"]}, headers=as_(MEDIATOR))
    assert member.status_code == 403  # assigning is the tổ trưởng's
    related = await svc.client.post(path, json={"mediator_ids": ["r-lan", "r-tuan"]}, headers=as_(LEADER))
    assert related.status_code == 422
    assert "same household as a party" in related.json()["detail"]
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM case_mediators") == 0  # nothing half written
    stranger = await svc.client.post(path, json={"mediator_ids": ["r-binh"]}, headers=as_(LEADER))
    assert stranger.status_code == 422 and "not a mediator of team" in stranger.json()["detail"]

    ok = await svc.client.post(path, json={"mediator_ids": ["r-lan", "r-minh"]}, headers=as_(LEADER))
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["status"] == "in_mediation" and body["assignment_late"] is False
    assert {m["mediator_id"] for m in body["mediators"]} == {"r-lan", "r-minh"}
    events = await svc.outbox("mediation.case.mediator_assigned.v1")
    assert {(e["mediator_id"], e["chosen_by_parties"], e["late"]) for e in events} == {
        ("r-lan", False, False), ("r-minh", False, False)}


async def test_the_parties_may_choose_their_mediator(svc):
    case = await open_case(svc)
    r = await svc.client.post(f"/v1/cases/{case['case_id']}/mediators",
                              json={"mediator_ids": ["r-minh"], "chosen_by_parties": True}, headers=as_(PARTY))
    assert r.status_code == 200, r.text
    assert r.json()["mediators"][0]["chosen_by_parties"] is True
    [event] = await svc.outbox("mediation.case.mediator_assigned.v1")
    assert event["chosen_by_parties"] is True


async def test_assignment_after_two_working_days_is_flagged_late(svc):
    waiting = await open_case(svc, received_at=_ago(10))
    assert waiting["assignment_late"] is True  # still unassigned, past the legal period
    r = await svc.client.post(f"/v1/cases/{waiting['case_id']}/mediators", json={"mediator_ids": ["r-lan"]},
                              headers=as_(LEADER))
    assert r.json()["assignment_late"] is True and r.json()["mediators"][0]["late"] is True
    [event] = await svc.outbox("mediation.case.mediator_assigned.v1")
    assert event["late"] is True
    fresh = await open_case(svc)
    assert fresh["assignment_late"] is False


async def mediate(svc, case_id: str, held_at: datetime | None = None) -> dict:  # noqa: ANN001
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

    follow = await svc.client.post(f"/v1/cases/{cid}/follow-ups", headers=as_(MEDIATOR),
                                   json={"checked_on": today.isoformat(), "progress": "carried_out"})
    assert follow.status_code == 201, follow.text
    assert follow.json()["follow_ups"][0]["progress"] == "carried_out"
    assert (await svc.outbox("mediation.case.agreement_followed_up.v1"))[0]["progress"] == "carried_out"


async def test_no_case_is_reopened_after_it_ended(svc):
    case = await open_case(svc)
    cid = case["case_id"]
    await mediate(svc, cid)
    failed = await svc.client.post(f"/v1/cases/{cid}/failure", headers=as_(MEDIATOR),
                                   json={"directed_to": "UBND phường Phú Sơn", "demands": "Bồi thường 5 triệu"})
    assert failed.status_code == 200 and failed.json()["directed_to"] == "UBND phường Phú Sơn"
    [event] = await svc.outbox("mediation.case.failed.v1")
    assert event["directed_to"] == "UBND phường Phú Sơn"
    attempts = [
        ("mediators", as_(LEADER), {"mediator_ids": ["r-leader"]}),
        ("sessions", as_(MEDIATOR), {"held_at": _ago(0), "mediator_ids": ["r-lan"]}),
        ("success", as_(MEDIATOR), {"agreement": "x", "carry_out_how": "y"}),
        ("withdrawal", as_(PARTY), {}),
        ("refusal", as_(OFFICIAL), {"ground": "criminal_offence"}),
        ("follow-ups", as_(MEDIATOR), {"checked_on": datetime.now(UTC).date().isoformat(), "progress": "carried_out"}),
    ]
    for step, headers, body in attempts:
        r = await svc.client.post(f"/v1/cases/{cid}/{step}", json=body, headers=headers)
        assert r.status_code == 422, (step, r.text)
        assert "cannot be reopened" in r.json()["detail"] or step == "follow-ups"
    assert (await svc.client.get(f"/v1/cases/{cid}", headers=as_(OFFICIAL))).json()["status"] == "failed"


async def test_a_party_withdraws_their_request(svc):
    case = await open_case(svc)
    r = await svc.client.post(f"/v1/cases/{case['case_id']}/withdrawal", json={"reason": "Hai bên tự thỏa thuận"},
                              headers=as_(PARTY))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert len(await svc.outbox("mediation.case.withdrawn.v1")) == 1


async def test_a_matter_that_may_not_be_mediated_is_refused_with_its_legal_ground(svc):
    grounds = (await svc.client.get("/v1/refusal-grounds", headers=as_(OFFICIAL))).json()["grounds"]
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
    [event] = await svc.outbox("mediation.case.refused.v1")
    assert event["ground"] == "criminal_offence" and "Decree 15/2014" in event["reason"]
    assert "Cường" not in str(event) and "thương tích" not in str(event)


async def test_each_role_sees_only_its_cases(svc):
    other_team = "team-hg-le-loi"
    await svc.feed(*team_events(other_team, "tdp-le-loi", [("r-x", "hh-90", "Hà Thị X", "female", "leader")]))
    ours = await open_case(svc)
    theirs = await open_case(svc, {"roles": ["ward_official"]}, group_id="tdp-le-loi",
                             parties=[{"display_name": "A"}, {"display_name": "B"}])
    other_mediator = {"roles": ["team_member"], "team_ids": [other_team]}

    async def visible(who) -> set[str]:  # noqa: ANN001
        r = await svc.client.get("/v1/cases", headers=as_(who))
        assert r.status_code == 200
        return {c["case_id"] for c in r.json()["items"]}

    assert await visible(OFFICIAL) == {ours["case_id"], theirs["case_id"]}
    assert await visible(MEDIATOR) == {ours["case_id"]}
    assert await visible(other_mediator) == {theirs["case_id"]}
    assert await visible(PARTY) == {ours["case_id"]}
    assert await visible({"roles": ["resident"], "resident_id": "r-nobody"}) == set()
    assert (await svc.client.get(f"/v1/cases/{ours['case_id']}", headers=as_(other_mediator))).status_code == 403
    assert (await svc.client.get(f"/v1/cases/{ours['case_id']}", headers=as_(PARTY))).status_code == 200
    other_ward = await svc.client.get(f"/v1/cases/{ours['case_id']}", headers=auth("ward_official", "phuong-khac"))
    assert other_ward.status_code == 404


async def test_teams_show_compliance_and_follow_the_registry(svc):
    teams = (await svc.client.get("/v1/teams", headers=as_(OFFICIAL))).json()["items"]
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
    case = await open_case(svc)
    r = await svc.client.post(f"/v1/cases/{case['case_id']}/mediators", json={"mediator_ids": ["r-lan"]},
                              headers=as_(LEADER))
    assert r.status_code == 422  # a mediator who left the team mediates no more
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


async def test_a_case_has_at_most_as_many_mediators_as_its_events_may_carry(svc):
    """CaseSucceeded and CaseFailed carry every mediator of the case (a bounded list): the 21st is refused."""
    from services.mediation.domain import MAX_MEDIATORS_PER_CASE
    from shared.contracts.mediation import CaseSucceeded

    extra = [(f"r-m{i:02d}", f"hh-m{i:02d}", f"Hòa giải viên {i}", "female", "member") for i in range(24)]
    await svc.feed(*team_events(members=extra)[1:])
    case = await open_case(svc)
    path = f"/v1/cases/{case['case_id']}/mediators"
    ids = [m[0] for m in extra]
    for start in range(0, MAX_MEDIATORS_PER_CASE, 5):
        r = await svc.client.post(path, json={"mediator_ids": ids[start:start + 5]}, headers=as_(LEADER))
        assert r.status_code == 200, r.text
    over = await svc.client.post(path, json={"mediator_ids": [ids[MAX_MEDIATORS_PER_CASE]]}, headers=as_(LEADER))
    assert over.status_code == 422 and f"at most {MAX_MEDIATORS_PER_CASE} mediators" in over.json()["detail"]
    assert await svc.db.fetchval("mediation", "SELECT count(*) FROM case_mediators") == MAX_MEDIATORS_PER_CASE
    assert CaseSucceeded.model_fields["mediator_ids"].metadata[0].max_length == MAX_MEDIATORS_PER_CASE
