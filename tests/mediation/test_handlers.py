"""The rules of a mediation case, handler by handler, over the in-memory fakes and the real PostgreSQL
repositories alike (one suite, ``app`` parametrised "fake" and "postgres"): the lifecycle of a case under the Law
on Grassroots Mediation 2013, who may do what, what each command emits and audits, and the reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.mediation import consumers, domain, handlers
from services.mediation.commands import (
    AssignMediators,
    Classify,
    Fail,
    FollowUp,
    HandOver,
    OpenCase,
    RecordSession,
    Refuse,
    Succeed,
    Withdraw,
)
from services.mediation.domain import CaseFilters, Status
from services.mediation.uow import MediationUnitOfWork
from shared.actor import SYSTEM, Principal, Role
from shared.application import Application, Command
from shared.clock import ward_today
from shared.contracts.incidents import DisputeParty, IncidentReferredToMediation
from shared.contracts.mediation import (
    AgreementFollowedUp,
    CaseFailed,
    CaseOpened,
    CaseRefused,
    CaseSucceeded,
    CaseWithdrawn,
    MediatorAssigned,
    PublicCaseClosed,
    PublicCaseSucceeded,
    SessionHeld,
)
from shared.contracts.registry import TeamMemberJoined, TeamMemberLeft
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from shared.events import Event
from shared.paging import PageRequest
from tests.application import applications, audited, emitted
from tests.mediation.conftest import GROUP, TEAM, WARD, resident_events, team_events
from tests.mediation.fakes import FakeMediationUnitOfWork


def person(*roles: str, sub: str | None = None, resident_id: str | None = None, team_ids: tuple[str, ...] = (),
           ward: str = WARD) -> Principal:
    return Principal(sub or f"user-{uuid.uuid4().hex[:8]}", frozenset(Role(r) for r in roles), ward,
                     resident_id=resident_id, team_ids=frozenset(team_ids))


LEADER = person("team_leader", sub="leader", resident_id="r-leader", team_ids=(TEAM,))
MEDIATOR = person("team_member", sub="lan", resident_id="r-lan", team_ids=(TEAM,))
OFFICIAL = person("ward_official", sub="official")
PARTY = person("resident", sub="binh", resident_id="r-binh")
OUTSIDER = person("resident", sub="stranger", resident_id="r-stranger")

PARTIES = [{"display_name": "Vũ Văn Bình", "resident_id": "r-binh"},
           {"display_name": "Ngô Văn Cường", "resident_id": "r-cuong"}]


async def feed(app: Application, *events: Event) -> None:
    """Other services' events, handed to the event handlers as the consumer does."""
    async with app.uow() as uow:
        for event in events:
            await consumers.HANDLERS[type(event)](event, uow)
        await uow.commit("feed", SYSTEM)


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    async with applications(request, "mediation", FakeMediationUnitOfWork, MediationUnitOfWork,
                            handlers.HANDLERS) as application:
        await feed(application, *team_events(), *resident_events())
        yield application


async def run(app: Application, command: Command, actor: Principal) -> Any:
    return await app.run(command, actor)


async def open_case(app: Application, actor: Principal = PARTY, **changes: Any) -> dict:
    fields = {"origin": "party_request", "group_id": GROUP, "kind": "neighbours",
              "summary": "Tranh chấp lối đi chung giữa hai nhà", "parties": PARTIES, **changes}
    return await run(app, OpenCase(**fields), actor)


async def mediate(app: Application, case_id: str) -> dict:
    await run(app, AssignMediators(case_id=case_id, mediator_ids=["r-lan", "r-minh"]), LEADER)
    return await run(app, RecordSession(case_id=case_id, held_at=datetime.now(UTC), place="Nhà văn hóa tổ",
                                        mediator_ids=["r-lan", "r-minh"], parties_present=[1, 2],
                                        invitees=[{"name": "Cụ Ngô Văn Tư", "relation": "người có uy tín"}]),
                     MEDIATOR)


async def of_type(app: Application, event_type: type[Event]) -> list[Any]:
    return [e for e in await emitted(app) if isinstance(e, event_type)]


async def listed(app: Application, actor: Principal, limit: int = 50, cursor: str | None = None,
                 **filters: Any) -> dict:
    async with app.read() as uow:
        page = await uow.cases.page(domain.case_scope(actor), CaseFilters(**filters), PageRequest(limit, cursor),
                                    ward_today())
    return {"items": [f.case["case_id"] for f in page["items"]], "next_cursor": page["next_cursor"]}


async def case_count(app: Application) -> int:
    return len((await listed(app, OFFICIAL, limit=200))["items"])


def referral(incident_id: str, group_id: str = GROUP, days_ago: int = 0) -> IncidentReferredToMediation:
    return IncidentReferredToMediation(
        ward_id=WARD, subject=incident_id, incident_id=incident_id, group_id=group_id,
        summary="Tranh chấp ranh giới đất giữa hai hộ",
        parties=[DisputeParty(resident_id="r-binh", display_name="Vũ Văn Bình"),
                 DisputeParty(display_name="Bà Dung (không đăng ký)")],
        referred_at=datetime.now(UTC) - timedelta(days=days_ago))


# -- opening a case ---------------------------------------------------------------------------------------------------
async def test_a_party_opens_a_case_with_the_groups_team_under_a_uuid(app):
    case = await open_case(app)
    assert uuid.UUID(case["case_id"]) and case["team_id"] == TEAM and case["status"] == "received"
    assert [p["display_name"] for p in case["parties"]] == ["Vũ Văn Bình", "Ngô Văn Cường"]
    [event] = await emitted(app)
    assert isinstance(event, CaseOpened) and event.case_id == case["case_id"] and event.origin == "party_request"
    assert "lối đi" not in event.model_dump_json() and "Bình" not in event.model_dump_json()
    assert await audited(app) == [("case.open", "mediation_case", case["case_id"])]


@pytest.mark.parametrize(("who", "changes", "error", "detail"), [
    (OUTSIDER, {}, Forbidden, "a request is made by a party"),
    (OFFICIAL, {"origin": "mediator_initiative"}, Forbidden, "own initiative"),
    (OFFICIAL, {"parties": [PARTIES[0], {"display_name": "Ai đó", "resident_id": "r-unknown"}]}, InvalidInput,
     "r-unknown is not known"),
    (OFFICIAL, {"group_id": "tdp-khac"}, RuleViolation, "no mediation team"),
    (OFFICIAL, {"team_id": "team-khac"}, InvalidInput, "not a mediation team of group"),
    (OFFICIAL, {"received_at": datetime.now(UTC) + timedelta(hours=1)}, InvalidInput, "in the future"),
])
async def test_a_refused_opening_writes_nothing(app, who, changes, error, detail):
    with pytest.raises(error, match=detail):
        await open_case(app, who, **changes)
    assert await case_count(app) == 0 and await emitted(app) == [] and await audited(app) == []


async def test_a_mediator_opens_a_case_on_their_own_initiative(app):
    assert (await open_case(app, MEDIATOR, origin="mediator_initiative"))["origin"] == "mediator_initiative"


async def test_a_group_with_two_teams_needs_the_team_named(app):
    await feed(app, *team_events("team-hg-2", GROUP))
    with pytest.raises(InvalidInput, match="2 mediation teams"):
        await open_case(app, OFFICIAL)
    assert (await open_case(app, OFFICIAL, team_id="team-hg-2"))["team_id"] == "team-hg-2"


# -- assigning mediators ----------------------------------------------------------------------------------------------
async def test_the_leader_assigns_but_not_a_mediator_of_a_partys_household(app):
    case = await open_case(app)
    cid = case["case_id"]
    with pytest.raises(Forbidden, match="team leader"):
        await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan"]), MEDIATOR)
    with pytest.raises(RuleViolation, match="same household as a party"):
        await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan", "r-tuan"]), LEADER)
    with pytest.raises(InvalidInput, match="not a mediator of team"):
        await run(app, AssignMediators(case_id=cid, mediator_ids=["r-binh"]), LEADER)
    assert await of_type(app, MediatorAssigned) == []  # nothing half written

    body = await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan", "r-minh"]), LEADER)
    assert body["status"] == "in_mediation" and body["assignment_late"] is False
    assert {m["mediator_id"] for m in body["mediators"]} == {"r-lan", "r-minh"}
    assert {(e.mediator_id, e.chosen_by_parties, e.late) for e in await of_type(app, MediatorAssigned)} == {
        ("r-lan", False, False), ("r-minh", False, False)}
    again = await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan"]), LEADER)  # already assigned
    assert len(again["mediators"]) == 2 and len(await of_type(app, MediatorAssigned)) == 2


async def test_the_parties_may_choose_their_mediator(app):
    case = await open_case(app)
    body = await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=["r-minh"], chosen_by_parties=True),
                     PARTY)
    assert body["mediators"][0]["chosen_by_parties"] is True
    [event] = await of_type(app, MediatorAssigned)
    assert event.chosen_by_parties is True
    with pytest.raises(Forbidden, match="parties' choice"):
        await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=["r-lan"], chosen_by_parties=True),
                  MEDIATOR)


async def test_assignment_after_two_working_days_is_flagged_late(app):
    waiting = await open_case(app, received_at=datetime.now(UTC) - timedelta(days=10))
    assert waiting["assignment_late"] is True  # still unassigned, past the legal period
    body = await run(app, AssignMediators(case_id=waiting["case_id"], mediator_ids=["r-lan"]), LEADER)
    assert body["assignment_late"] is True and body["mediators"][0]["late"] is True
    assert [e.late for e in await of_type(app, MediatorAssigned)] == [True]
    assert (await open_case(app))["assignment_late"] is False


async def test_a_case_has_at_most_as_many_mediators_as_its_events_may_carry(app):
    extra = [(f"r-m{i:02d}", f"hh-m{i:02d}", f"Hòa giải viên {i}", "female", "member") for i in range(24)]
    await feed(app, *team_events(members=extra)[1:])
    case = await open_case(app)
    ids = [m[0] for m in extra]
    for start in range(0, domain.MAX_MEDIATORS_PER_CASE, 5):
        await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=ids[start:start + 5]), LEADER)
    with pytest.raises(RuleViolation, match=f"at most {domain.MAX_MEDIATORS_PER_CASE} mediators"):
        await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=[ids[domain.MAX_MEDIATORS_PER_CASE]]),
                  LEADER)
    assert CaseSucceeded.model_fields["mediator_ids"].metadata[0].max_length == domain.MAX_MEDIATORS_PER_CASE


async def test_a_mediator_who_left_the_team_mediates_no_more(app):
    await feed(app, TeamMemberLeft(ward_id=WARD, subject=TEAM, team_id=TEAM, group_id=GROUP, kind="mediation",
                                   compliant=False, compliance_issues=["no woman"], resident_id="r-lan",
                                   household_id="hh-11", full_name="Phạm Thị Lan", sex="female", role="member",
                                   left_on=ward_today()))
    case = await open_case(app)
    with pytest.raises(InvalidInput, match="r-lan is not a mediator"):
        await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=["r-lan"]), LEADER)


# -- sessions and conclusions -----------------------------------------------------------------------------------------
async def test_a_session_is_recorded_by_the_team_with_assigned_mediators_only(app):
    case = await open_case(app)
    cid = case["case_id"]
    with pytest.raises(RuleViolation, match="while the case is received"):
        await run(app, RecordSession(case_id=cid, held_at=datetime.now(UTC), mediator_ids=["r-lan"]), MEDIATOR)
    await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan"]), LEADER)
    bad = [
        (MEDIATOR, {"mediator_ids": ["r-minh"]}, InvalidInput, "not assigned to this case"),
        (MEDIATOR, {"mediator_ids": ["r-lan"], "parties_present": [3]}, InvalidInput, "positions 1 to 2"),
        (MEDIATOR, {"mediator_ids": ["r-lan"], "held_at": datetime.now(UTC) + timedelta(hours=1)}, InvalidInput,
         "between the case's receipt and now"),
        (PARTY, {"mediator_ids": ["r-lan"]}, Forbidden, "records its sessions"),
    ]
    for who, fields, error, detail in bad:
        with pytest.raises(error, match=detail):
            await run(app, RecordSession(case_id=cid, **{"held_at": datetime.now(UTC), **fields}), who)
    viewed = await run(app, RecordSession(case_id=cid, held_at=datetime.now(UTC), mediator_ids=["r-lan", "r-lan"],
                                          parties_present=[1, 2], notes="Hai bên trình bày ý kiến"), MEDIATOR)
    [session] = viewed["sessions"]
    assert uuid.UUID(session["session_id"]) and session["mediator_ids"] == ["r-lan"]
    assert session["parties_present"] == [1, 2] and session["notes"] == "Hai bên trình bày ý kiến"
    [held] = await of_type(app, SessionHeld)
    assert held.session_id == session["session_id"] and "notes" not in held.model_dump()


async def test_success_with_the_agreement_and_its_follow_up(app):
    case = await open_case(app)
    cid = case["case_id"]
    with pytest.raises(RuleViolation, match="cannot conclude successfully while the case is received"):
        await run(app, Succeed(case_id=cid, agreement="x", carry_out_how="y"), MEDIATOR)
    await run(app, AssignMediators(case_id=cid, mediator_ids=["r-lan"]), LEADER)
    with pytest.raises(RuleViolation, match="no session"):
        await run(app, Succeed(case_id=cid, agreement="x", carry_out_how="y"), MEDIATOR)
    viewed = await mediate(app, cid)
    assert viewed["sessions"][0]["invitees"] == [{"name": "Cụ Ngô Văn Tư", "relation": "người có uy tín"}]
    today = ward_today()
    for fields, detail in [({"carry_out_by": today - timedelta(days=1)}, "carry_out_by is before"),
                           ({"concluded_on": today + timedelta(days=1)}, "concluded_on must be between"),
                           ({"concluded_on": today - timedelta(days=3)}, "concluded_on must be between")]:
        with pytest.raises(InvalidInput, match=detail):
            await run(app, Succeed(case_id=cid, agreement="x", carry_out_how="y", **fields), MEDIATOR)
    with pytest.raises(Forbidden, match="concludes it"):
        await run(app, Succeed(case_id=cid, agreement="x", carry_out_how="y"), PARTY)

    done = await run(app, Succeed(case_id=cid, agreement="Mở lại lối đi chung rộng 1,2 m",
                                  carry_out_how="Ông Cường tháo hàng rào", carry_out_by=today + timedelta(days=30)),
                     MEDIATOR)
    assert done["status"] == "succeeded" and done["agreement"]["text"].startswith("Mở lại")
    assert done["concluded_on"] == today.isoformat()
    [ok] = await of_type(app, CaseSucceeded)
    assert set(ok.mediator_ids) == {"r-lan", "r-minh"} and "agreement" not in ok.model_dump()
    [public] = await of_type(app, PublicCaseSucceeded)  # other wards learn of it twice: succeeded, and closed
    [closed] = await of_type(app, PublicCaseClosed)
    assert (public.case_id, closed.case_id, closed.outcome, closed.closed_on) == (cid, cid, "succeeded", today)
    assert public.id != closed.id and "mediator_ids" not in closed.model_dump()

    with pytest.raises(InvalidInput, match="checked_on must be between"):
        await run(app, FollowUp(case_id=cid, checked_on=today - timedelta(days=1), progress="carried_out"),
                  MEDIATOR)
    with pytest.raises(Forbidden, match="follows up"):
        await run(app, FollowUp(case_id=cid, checked_on=today, progress="carried_out"), PARTY)
    follow = await run(app, FollowUp(case_id=cid, checked_on=today, progress="carried_out"), OFFICIAL)
    assert follow["follow_ups"][0]["progress"] == "carried_out"
    assert [e.progress for e in await of_type(app, AgreementFollowedUp)] == ["carried_out"]
    assert [c for c, _, _ in await audited(app)] == [
        "case.open", "case.assign", "case.assign", "case.session", "case.succeed", "case.follow_up"]


async def test_no_case_is_reopened_after_it_ended(app):
    case = await open_case(app)
    cid = case["case_id"]
    await mediate(app, cid)
    failed = await run(app, Fail(case_id=cid, directed_to="UBND phường Phú Sơn", demands="Bồi thường 5 triệu"),
                       MEDIATOR)
    assert failed["status"] == "failed" and failed["directed_to"] == "UBND phường Phú Sơn"
    [event] = await of_type(app, CaseFailed)
    assert event.directed_to == "UBND phường Phú Sơn"
    [closed] = await of_type(app, PublicCaseClosed)
    assert (closed.case_id, closed.outcome, closed.closed_on) == (cid, "failed", event.concluded_on)
    assert "UBND" not in closed.model_dump_json()  # where the parties went stays here
    attempts: list[tuple[Command, Principal]] = [
        (AssignMediators(case_id=cid, mediator_ids=["r-leader"]), LEADER),
        (RecordSession(case_id=cid, held_at=datetime.now(UTC), mediator_ids=["r-lan"]), MEDIATOR),
        (Succeed(case_id=cid, agreement="x", carry_out_how="y"), MEDIATOR),
        (Fail(case_id=cid, directed_to="x"), MEDIATOR),
        (Withdraw(case_id=cid), PARTY),
        (Refuse(case_id=cid, ground="criminal_offence"), OFFICIAL),
        (Classify(case_id=cid, kind="family"), MEDIATOR),
        (HandOver(case_id=cid, team_id=TEAM), OFFICIAL),
        (FollowUp(case_id=cid, checked_on=ward_today(), progress="carried_out"), MEDIATOR),  # only after success
    ]
    for command, who in attempts:
        with pytest.raises(RuleViolation, match="cannot be reopened"):
            await run(app, command, who)
    async with app.read() as uow:
        assert (await handlers.read_case(uow, OFFICIAL, cid))["status"] == "failed"


async def test_a_party_withdraws_their_request(app):
    case = await open_case(app)
    body = await run(app, Withdraw(case_id=case["case_id"], reason="Hai bên tự thỏa thuận"), PARTY)
    assert body["status"] == "withdrawn" and body["withdrawal_reason"] == "Hai bên tự thỏa thuận"
    assert body["concluded_on"] == ward_today().isoformat()
    assert len(await of_type(app, CaseWithdrawn)) == 1
    [closed] = await of_type(app, PublicCaseClosed)
    assert (closed.outcome, closed.closed_on) == ("withdrawn", ward_today())
    with pytest.raises(Forbidden):
        await run(app, Withdraw(case_id=case["case_id"]), OUTSIDER)


async def test_a_matter_that_may_not_be_mediated_is_refused_with_its_legal_ground(app):
    case = await open_case(app)
    cid = case["case_id"]
    with pytest.raises(Forbidden, match="team leader or a ward official"):
        await run(app, Refuse(case_id=cid, ground="criminal_offence"), MEDIATOR)
    with pytest.raises(RuleViolation, match="unknown ground"):
        await run(app, Refuse(case_id=cid, ground="too_hard"), LEADER)
    body = await run(app, Refuse(case_id=cid, ground="criminal_offence",
                                 explanation="Ông Cường đánh ông Bình gây thương tích 15%"), LEADER)
    assert body["status"] == "refused" and "Art. 3(1)(c)" in body["refusal"]["reason"]
    [event] = await of_type(app, CaseRefused)
    assert event.ground == "criminal_offence" and "Decree 15/2014" in event.reason
    assert "Cường" not in event.model_dump_json() and "thương tích" not in event.model_dump_json()
    [closed] = await of_type(app, PublicCaseClosed)
    assert (closed.case_id, closed.outcome, closed.kind, closed.group_id) == (cid, "refused", event.kind, GROUP)
    assert "reason" not in closed.model_dump() and "Cường" not in closed.model_dump_json()


async def test_the_team_or_an_official_classifies_and_later_events_carry_the_kind(app):
    case = await open_case(app)
    with pytest.raises(Forbidden, match="classifies it"):
        await run(app, Classify(case_id=case["case_id"], kind="family"), PARTY)
    assert (await run(app, Classify(case_id=case["case_id"], kind="family"), MEDIATOR))["kind"] == "family"
    await run(app, AssignMediators(case_id=case["case_id"], mediator_ids=["r-lan"]), LEADER)
    assert [e.kind for e in await of_type(app, MediatorAssigned)] == ["family"]


# -- who sees what --------------------------------------------------------------------------------------------------
async def test_each_role_sees_only_its_cases(app):
    other_team = "team-hg-le-loi"
    await feed(app, *team_events(other_team, "tdp-le-loi", [("r-x", "hh-90", "Hà Thị X", "female", "leader")]))
    ours = (await open_case(app))["case_id"]
    theirs = (await open_case(app, OFFICIAL, group_id="tdp-le-loi",
                              parties=[{"display_name": "A"}, {"display_name": "B"}]))["case_id"]
    other_mediator = person("team_member", team_ids=(other_team,))

    async def visible(who: Principal) -> set[str]:
        return set((await listed(app, who))["items"])

    assert await visible(OFFICIAL) == {ours, theirs}
    assert await visible(MEDIATOR) == {ours}
    assert await visible(other_mediator) == {theirs}
    assert await visible(PARTY) == {ours}
    assert await visible(person("resident", resident_id="r-nobody")) == set()
    async with app.read() as uow:
        with pytest.raises(Forbidden):
            await handlers.read_case(uow, other_mediator, ours)
        assert (await handlers.read_case(uow, PARTY, ours))["case_id"] == ours
        # another ward's case answers as one that does not exist
        for case_id in (ours, str(uuid.uuid4())):
            with pytest.raises(NotFound, match=f"no case {case_id}"):
                await handlers.read_case(uow, person("ward_official", ward="phuong-khac"), case_id)
    with pytest.raises(NotFound):
        await run(app, Withdraw(case_id=ours), person("ward_official", ward="phuong-khac"))


async def test_a_resident_of_another_ward_is_as_unknown_as_no_resident(app):
    elsewhere = person("ward_official", ward="dong-ve")
    await feed(app, *[e.model_copy(update={"ward_id": "dong-ve"}) for e in team_events("team-dv", "tdp-dv")])
    for resident_id in ("r-binh", "r-nobody"):
        with pytest.raises(InvalidInput, match=f"resident {resident_id} is not known"):
            await open_case(app, elsewhere, group_id="tdp-dv",
                            parties=[{"display_name": "Vũ Văn Bình", "resident_id": resident_id},
                                     {"display_name": "Người khác"}])


async def test_the_case_list_filters_by_status_kind_group_team_and_lateness(app):
    await feed(app, *team_events("team-hg-le-loi", "tdp-le-loi"))
    family = (await open_case(app, OFFICIAL, kind="family"))["case_id"]
    old = (await open_case(app, OFFICIAL, received_at=datetime.now(UTC) - timedelta(days=10)))["case_id"]
    elsewhere = (await open_case(app, OFFICIAL, group_id="tdp-le-loi",
                                 parties=[{"display_name": "A"}, {"display_name": "B"}]))["case_id"]
    withdrawn = (await open_case(app, OFFICIAL))["case_id"]
    await run(app, Withdraw(case_id=withdrawn), OFFICIAL)
    late_assigned = (await open_case(app, OFFICIAL, received_at=datetime.now(UTC) - timedelta(days=10)))["case_id"]
    await run(app, AssignMediators(case_id=late_assigned, mediator_ids=["r-lan"]), LEADER)

    async def ids(**filters: Any) -> set[str]:
        return set((await listed(app, OFFICIAL, **filters))["items"])

    assert await ids(kind="family") == {family}
    assert await ids(status=Status.WITHDRAWN) == {withdrawn}
    assert await ids(status=Status.IN_MEDIATION) == {late_assigned}
    assert await ids(group_id="tdp-le-loi") == {elsewhere}
    assert await ids(team_id="team-hg-le-loi") == {elsewhere}
    assert await ids(team_id=TEAM, status=Status.RECEIVED) == {family, old}
    assert await ids(assignment_late=True) == {old, late_assigned}
    assert await ids(assignment_late=False) == {family, elsewhere, withdrawn}
    assert await ids(assignment_late=True, status=Status.RECEIVED) == {old}


async def test_the_case_list_pages_oldest_receipt_first(app):
    opened = [(await open_case(app, OFFICIAL, received_at=datetime.now(UTC) - timedelta(hours=h)))["case_id"]
              for h in (5, 1, 3, 4, 2)]
    seen, cursor = [], None
    while True:
        page = await listed(app, OFFICIAL, limit=2, cursor=cursor)
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [opened[i] for i in (0, 3, 2, 4, 1)]


# -- referrals, teams and the registry's facts -----------------------------------------------------------------------
async def test_a_referral_opens_one_case_with_the_groups_team_however_often_it_arrives(app):
    await feed(app, referral("inc-1"))
    await feed(app, referral("inc-1"))  # another message about the same incident
    [case_id] = (await listed(app, OFFICIAL))["items"]
    assert uuid.UUID(case_id)
    async with app.read() as uow:
        case = await handlers.read_case(uow, OFFICIAL, case_id)
    assert case["referral_incident_id"] == "inc-1" and case["team_id"] == TEAM and case["origin"] == "referral"
    assert case["kind"] == "other_civil"  # the incident carries no kind; the team sets it
    assert [p["resident_id"] for p in case["parties"]] == ["r-binh", None]
    [opened] = await emitted(app)
    assert isinstance(opened, CaseOpened) and opened.referral_incident_id == "inc-1" and opened.origin == "referral"
    assert await audited(app) == []  # the system's command: the inbox records it
    # The household of a referred party is known from the registry: that party's housemate is excluded.
    with pytest.raises(RuleViolation, match="same household"):
        await run(app, AssignMediators(case_id=case_id, mediator_ids=["r-tuan"]), LEADER)


async def test_a_referral_without_a_single_team_waits_for_an_official_to_hand_it_over(app):
    await feed(app, referral("inc-2", group_id="tdp-moi"))
    [case_id] = (await listed(app, OFFICIAL))["items"]
    assert (await listed(app, MEDIATOR))["items"] == []
    with pytest.raises(Forbidden, match="may see it"):  # a team's leader does not see a case of no team
        await run(app, HandOver(case_id=case_id, team_id=TEAM), LEADER)
    with pytest.raises(Forbidden, match="hands a case"):  # a party sees it, but does not choose the team
        await run(app, HandOver(case_id=case_id, team_id=TEAM), PARTY)
    with pytest.raises(InvalidInput, match="not a mediation team of this ward"):
        await run(app, HandOver(case_id=case_id, team_id="team-khong-co"), OFFICIAL)
    assert (await run(app, HandOver(case_id=case_id, team_id=TEAM), OFFICIAL))["team_id"] == TEAM
    assert (await listed(app, MEDIATOR))["items"] == [case_id]
    await run(app, AssignMediators(case_id=case_id, mediator_ids=["r-lan"]), LEADER)
    with pytest.raises(RuleViolation, match="cannot hand the case to a team while the case is in_mediation"):
        await run(app, HandOver(case_id=case_id, team_id=TEAM), OFFICIAL)

    await feed(app, *team_events("team-hg-2", GROUP), referral("inc-3"))  # two teams in the group
    [waiting] = (await listed(app, OFFICIAL, referral_incident_id="inc-3"))["items"]
    async with app.read() as uow:
        assert (await uow.cases.get(waiting))["team_id"] is None


async def test_registry_events_keep_the_teams_and_cannot_move_one_to_another_ward(app):
    async with app.read() as uow:
        [team] = (await uow.teams.page(WARD, PageRequest(50, None)))["items"]
    assert team["team_id"] == TEAM and [m.role for m in team["members"]] == ["leader", "member", "member", "member"]
    assert not domain.team_compliance(team["members"])
    foreign = TeamMemberJoined(ward_id="phuong-khac", subject=TEAM, team_id=TEAM, group_id=GROUP, kind="mediation",
                               compliant=True, resident_id="r-z", household_id="hh-z", full_name="Z", sex="male",
                               role="member", appointed_on=ward_today())
    with pytest.raises(ValueError, match="another ward"):
        await feed(app, foreign)
    await feed(app, *team_events("team-anxh", GROUP, kind="anxh"))  # not a mediation team: ignored
    async with app.read() as uow:
        assert "r-z" not in {m.resident_id for m in await uow.teams.members(TEAM)}
        assert await uow.teams.get("team-anxh") is None
    with pytest.raises(Forbidden):
        domain.ensure_may_list_teams(PARTY)


# -- the record book ------------------------------------------------------------------------------------------------
async def test_the_record_book_is_built_from_the_years_cases_and_read_by_the_team_and_officials(app):
    year = datetime.now(UTC).year - 1
    received = datetime(year, 3, 2, 8, 0, tzinfo=UTC)
    ok = (await open_case(app, OFFICIAL, kind="family", received_at=received))["case_id"]
    await run(app, AssignMediators(case_id=ok, mediator_ids=["r-lan"]), LEADER)
    await run(app, RecordSession(case_id=ok, held_at=received + timedelta(days=1), mediator_ids=["r-lan"],
                                 invitees=[{"name": "Cụ Tư", "relation": "người có uy tín"}]), MEDIATOR)
    await run(app, Succeed(case_id=ok, agreement="Thỏa thuận", carry_out_how="Tự nguyện",
                           concluded_on=(received + timedelta(days=2)).date()), MEDIATOR)
    await open_case(app, OFFICIAL, received_at=received + timedelta(days=30))
    await open_case(app, OFFICIAL)  # this year: not in last year's book
    async with app.read() as uow:
        book = await handlers.read_record_book(uow, MEDIATOR, TEAM, year)
        with pytest.raises(Forbidden):
            await handlers.read_record_book(uow, PARTY, TEAM, year)
        with pytest.raises(NotFound):
            await handlers.read_record_book(uow, person("ward_official", ward="phuong-khac"), TEAM, year)
        with pytest.raises(NotFound):
            await handlers.read_record_book(uow, OFFICIAL, TEAM, 1999)
    assert [r["case_id"] for r in book["part_i"]][0] == ok and len(book["part_i"]) == 2
    assert book["part_i"][0]["mediators_and_invitees"] == "Phạm Thị Lan; Cụ Tư (người có uy tín)"
    assert book["part_i"][0]["result"] == "Thành" and book["part_i"][1]["result"] == "Đang hòa giải"
    assert (book["part_ii"]["received"], book["part_ii"]["succeeded"], book["part_ii"]["in_progress"]) == (2, 1, 1)
    assert book["part_ii"]["by_kind"]["family"] == {"received": 1, "succeeded": 1, "failed": 0}


# -- the application layer's guarantees, for this service -----------------------------------------------------------
async def test_a_retried_opening_with_the_same_idempotency_key_opens_one_case(app):
    command = OpenCase(origin="party_request", group_id=GROUP, kind="neighbours", summary="Tiếng ồn",
                       parties=PARTIES)
    first = await app.handle(command, OFFICIAL, idempotency_key="req-1")
    again = await app.handle(OpenCase.model_validate_json(command.model_dump_json()), OFFICIAL,
                             idempotency_key="req-1")
    assert first.created and again.replayed and again.json()["case_id"] == first.json()["case_id"]
    assert await case_count(app) == 1
