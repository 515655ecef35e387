"""One handler per command: load through the unit of work's repositories, apply the rules of domain.py, save,
emit the case's event, name the audit target, and answer the case as the API shows it (views.case_view).

The facts every case event repeats come from the saved case, so an event never disagrees with the state it
describes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from services.mediation import domain, recordbook, views
from services.mediation.commands import (
    AssignMediators,
    Classify,
    Fail,
    FollowUp,
    HandOver,
    OpenCase,
    OpenReferredCase,
    RecordSession,
    Refuse,
    Succeed,
    Withdraw,
)
from services.mediation.domain import Action, Party, Status
from services.mediation.uow import MediationUnitOfWork
from shared.actor import Principal
from shared.application import Created
from shared.clock import in_ward_time, now, ward_today
from shared.contracts.mediation import (
    AgreementFollowedUp,
    CaseFailed,
    CaseOpened,
    CaseRefused,
    CaseSucceeded,
    CaseWithdrawn,
    MediatorAssigned,
    SessionHeld,
)
from shared.errors import InvalidInput, NotFound, RuleViolation

#: Where a referral's case id comes from: one UUID per referred incident, whatever the redelivery.
REFERRAL_NAMESPACE = uuid.NAMESPACE_URL


def facts(case: Mapping[str, Any]) -> dict[str, Any]:
    return {"ward_id": case["ward_id"], "subject": case["case_id"], "case_id": case["case_id"],
            "group_id": case["group_id"], "team_id": case["team_id"],
            "referral_incident_id": case["referral_incident_id"], "kind": case["kind"]}


async def _view(uow: MediationUnitOfWork, case_id: str) -> dict[str, Any]:
    file = await uow.cases.file(case_id)
    assert file is not None
    return views.case_view(file, ward_today())


async def _answer(uow: MediationUnitOfWork, case_id: str) -> dict[str, Any]:
    """The case as it now is, and the audit record of the command (the same target for every case command)."""
    view = await _view(uow, case_id)
    uow.audit("mediation_case", case_id, ward_id=view["ward_id"], details={"status": view["status"]})
    return view


async def _parties(uow: MediationUnitOfWork, ward_id: str, named: list[Any], *, strict: bool) -> list[Party]:
    parties = []
    for x in named:
        household = await uow.residents.household_of(x.resident_id, ward_id) if x.resident_id else None
        if strict and x.resident_id and household is None:
            # Without the household the conflict-of-interest rule could not be applied: refuse, don't guess.
            raise InvalidInput(f"resident {x.resident_id} is not known; name the party without a resident_id")
        parties.append(Party(x.display_name, x.resident_id, household))
    return parties


async def _open(uow: MediationUnitOfWork, *, case_id: str, ward_id: str, group_id: str, team_id: str | None,
                referral_incident_id: str | None, origin: str, kind: str, summary: str, received_at: datetime,
                parties: list[Party], opened_by: str) -> None:
    received_on = in_ward_time(received_at).date()
    inserted = await uow.cases.add(
        case_id=case_id, ward_id=ward_id, group_id=group_id, team_id=team_id,
        referral_incident_id=referral_incident_id, origin=origin, kind=kind, summary=summary,
        status=Status.RECEIVED, received_at=received_at, received_on=received_on,
        assignment_due=domain.assignment_due(received_on), opened_by=opened_by, parties=parties,
    )
    if not inserted:
        raise RuleViolation("a case for this referral already exists")
    case = await uow.cases.get(case_id)
    assert case is not None
    uow.emit(CaseOpened(**facts(case), origin=origin, received_on=received_on))


async def handle_open_case(cmd: OpenCase, uow: MediationUnitOfWork, actor: Principal) -> Created:
    team_id = domain.choose_team(await uow.teams.ids_of_group(actor.ward_id, cmd.group_id), cmd.group_id,
                                 cmd.team_id)
    if team_id is None:
        raise RuleViolation(f"group {cmd.group_id} has no mediation team to receive the case")
    parties = await _parties(uow, actor.ward_id, cmd.parties, strict=True)
    domain.ensure_may_open(actor, cmd.origin, team_id, parties)
    received_at = cmd.received_at or now()
    if received_at > now():
        raise InvalidInput("received_at is in the future")
    case_id = str(uuid.uuid4())
    await _open(uow, case_id=case_id, ward_id=actor.ward_id, group_id=cmd.group_id, team_id=team_id,
                referral_incident_id=None, origin=cmd.origin, kind=cmd.kind, summary=cmd.summary,
                received_at=received_at, parties=parties, opened_by=actor.subject)
    return Created(await _answer(uow, case_id))


async def handle_open_referred_case(cmd: OpenReferredCase, uow: MediationUnitOfWork, _actor: Principal) -> bool:
    """Open the case of a referred dispute with the group's team; False if that referral already has its case
    (whatever form its id has: cases referred before ids were UUIDs keep theirs)."""
    if await uow.cases.of_referral(cmd.incident_id) is not None:
        return False
    team_id = domain.referral_team(await uow.teams.ids_of_group(cmd.ward_id, cmd.group_id))
    case_id = str(uuid.uuid5(REFERRAL_NAMESPACE, f"referral:{cmd.ward_id}:{cmd.incident_id}"))
    parties = await _parties(uow, cmd.ward_id, cmd.parties, strict=False)
    await _open(uow, case_id=case_id, ward_id=cmd.ward_id, group_id=cmd.group_id, team_id=team_id,
                referral_incident_id=cmd.incident_id, origin="referral", kind=domain.REFERRAL_KIND,
                summary=cmd.summary, received_at=cmd.referred_at, parties=parties, opened_by="incidents-service")
    return True


async def _load(uow: MediationUnitOfWork, actor: Principal, case_id: str,
                action: Action) -> tuple[dict[str, Any], list[Party]]:
    """The case, locked for the command, if the caller may see it and ``action`` is allowed in its state. One of a
    ward the caller may not reach answers as one that does not exist."""
    case = await uow.cases.get(case_id, for_update=True)
    actor.ensure_reaches(case["ward_id"] if case else None, f"no case {case_id}")
    assert case is not None
    parties = await uow.cases.parties(case_id)
    domain.ensure_can_see(actor, case, parties)
    domain.ensure_allowed(case["status"], action)
    return case, parties


async def handle_assign(cmd: AssignMediators, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    case, parties = await _load(uow, actor, cmd.case_id, Action.ASSIGN)
    domain.ensure_may_assign(actor, case, parties, chosen_by_parties=cmd.chosen_by_parties)
    team_members = {m.resident_id: m for m in await uow.teams.members(case["team_id"])}
    today = ward_today()
    late = domain.assignment_late(case["assignment_due"], today, today)
    assigned = {m["mediator_id"] for m in await uow.cases.mediators(cmd.case_id)}
    if len(assigned | set(cmd.mediator_ids)) > domain.MAX_MEDIATORS_PER_CASE:
        raise RuleViolation(f"a case has at most {domain.MAX_MEDIATORS_PER_CASE} mediators")
    for mediator_id in dict.fromkeys(cmd.mediator_ids):
        member = team_members.get(mediator_id)
        if member is None:
            raise InvalidInput(f"{mediator_id} is not a mediator of team {case['team_id']}")
        conflict = domain.mediator_conflict(member, parties)
        if conflict:
            raise RuleViolation(f"mediator {mediator_id} is excluded: {conflict}")
        if await uow.cases.add_mediator(cmd.case_id, member, chosen_by_parties=cmd.chosen_by_parties,
                                        assigned_on=today, late=late):
            uow.emit(MediatorAssigned(**facts(case), mediator_id=mediator_id,
                                      chosen_by_parties=cmd.chosen_by_parties, late=late))
    await uow.cases.update(cmd.case_id, status=Status.IN_MEDIATION)
    return await _answer(uow, cmd.case_id)


async def handle_record_session(cmd: RecordSession, uow: MediationUnitOfWork, actor: Principal) -> Created:
    case, parties = await _load(uow, actor, cmd.case_id, Action.HOLD_SESSION)
    domain.ensure_of_the_team(actor, case, "records its sessions")
    assigned = {m["mediator_id"] for m in await uow.cases.mediators(cmd.case_id)}
    strangers = [m for m in cmd.mediator_ids if m not in assigned]
    if strangers:
        raise InvalidInput(f"not assigned to this case: {', '.join(strangers)}")
    if any(not 1 <= i <= len(parties) for i in cmd.parties_present):
        raise InvalidInput(f"parties_present must be positions 1 to {len(parties)}")
    if cmd.held_at > now() or cmd.held_at < case["received_at"]:
        raise InvalidInput("held_at must be between the case's receipt and now")
    session_id = str(uuid.uuid4())
    mediator_ids = list(dict.fromkeys(cmd.mediator_ids))
    await uow.cases.add_session(
        session_id=session_id, case_id=cmd.case_id, held_at=cmd.held_at, place=cmd.place,
        mediator_ids=mediator_ids, parties_present=list(cmd.parties_present),
        invitees=[i.model_dump() for i in cmd.invitees], notes=cmd.notes,
    )
    uow.emit(SessionHeld(**facts(case), session_id=session_id, held_on=in_ward_time(cmd.held_at).date(),
                         mediator_ids=mediator_ids))
    return Created(await _answer(uow, cmd.case_id))


async def _concluding(uow: MediationUnitOfWork, actor: Principal, case_id: str, action: Action,
                      concluded_on: date | None) -> tuple[dict[str, Any], list[str], date]:
    case, _ = await _load(uow, actor, case_id, action)
    domain.ensure_of_the_team(actor, case, "concludes it")
    if not await uow.cases.sessions(case_id):
        raise RuleViolation("no session has been held: a case is concluded after mediation")
    day = concluded_on or ward_today()
    if day > ward_today() or day < case["received_on"]:
        raise InvalidInput("concluded_on must be between the case's receipt and today")
    mediator_ids = [m["mediator_id"] for m in await uow.cases.mediators(case_id)]
    return case, mediator_ids, day


async def handle_succeed(cmd: Succeed, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    case, mediator_ids, day = await _concluding(uow, actor, cmd.case_id, Action.SUCCEED, cmd.concluded_on)
    if cmd.carry_out_by is not None and cmd.carry_out_by < day:
        raise InvalidInput("carry_out_by is before the agreement was reached")
    await uow.cases.update(cmd.case_id, status=Status.SUCCEEDED, agreement=cmd.agreement,
                           carry_out_how=cmd.carry_out_how, carry_out_by=cmd.carry_out_by, concluded_on=day)
    uow.emit(CaseSucceeded(**facts(case), mediator_ids=mediator_ids, concluded_on=day,
                           carry_out_by=cmd.carry_out_by))
    return await _answer(uow, cmd.case_id)


async def handle_fail(cmd: Fail, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    case, mediator_ids, day = await _concluding(uow, actor, cmd.case_id, Action.FAIL, cmd.concluded_on)
    await uow.cases.update(cmd.case_id, status=Status.FAILED, directed_to=cmd.directed_to, demands=cmd.demands,
                           concluded_on=day)
    uow.emit(CaseFailed(**facts(case), mediator_ids=mediator_ids, directed_to=cmd.directed_to, concluded_on=day))
    return await _answer(uow, cmd.case_id)


async def handle_withdraw(cmd: Withdraw, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    # Whoever may see the case may record a withdrawal: a party, the team or an official.
    case, _ = await _load(uow, actor, cmd.case_id, Action.WITHDRAW)
    today = ward_today()
    await uow.cases.update(cmd.case_id, status=Status.WITHDRAWN, withdrawal_reason=cmd.reason, concluded_on=today)
    uow.emit(CaseWithdrawn(**facts(case), withdrawn_on=today))
    return await _answer(uow, cmd.case_id)


async def handle_refuse(cmd: Refuse, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    case, _ = await _load(uow, actor, cmd.case_id, Action.REFUSE)
    domain.ensure_may_refuse(actor, case)
    g = domain.ground(cmd.ground)
    await uow.cases.update(cmd.case_id, status=Status.REFUSED, refusal_ground=g.code, refusal_reason=g.reason,
                           notes=cmd.explanation, concluded_on=ward_today())
    uow.emit(CaseRefused(**facts(case), reason=g.reason, ground=g.code))
    return await _answer(uow, cmd.case_id)


async def handle_follow_up(cmd: FollowUp, uow: MediationUnitOfWork, actor: Principal) -> Created:
    case, _ = await _load(uow, actor, cmd.case_id, Action.FOLLOW_UP)
    domain.ensure_team_or_official(actor, case, "follows up the agreement")
    if cmd.checked_on > ward_today() or cmd.checked_on < case["concluded_on"]:
        raise InvalidInput("checked_on must be between the agreement and today")
    await uow.cases.add_follow_up(follow_up_id=str(uuid.uuid4()), case_id=cmd.case_id, checked_on=cmd.checked_on,
                                  progress=cmd.progress, notes=cmd.notes)
    uow.emit(AgreementFollowedUp(**facts(case), progress=cmd.progress, checked_on=cmd.checked_on))
    return Created(await _answer(uow, cmd.case_id))


async def handle_classify(cmd: Classify, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    """Set the kind; the events that follow carry it (no event of its own: nothing ends or starts)."""
    case, _ = await _load(uow, actor, cmd.case_id, Action.CLASSIFY)
    domain.ensure_team_or_official(actor, case, "classifies it")
    await uow.cases.update(cmd.case_id, kind=cmd.kind)
    return await _answer(uow, cmd.case_id)


async def handle_hand_over(cmd: HandOver, uow: MediationUnitOfWork, actor: Principal) -> dict[str, Any]:
    case, _ = await _load(uow, actor, cmd.case_id, Action.HAND_OVER)
    domain.ensure_may_hand_over(actor, case)
    team = await uow.teams.get(cmd.team_id)
    if team is None or team["ward_id"] != case["ward_id"]:
        raise InvalidInput(f"{cmd.team_id} is not a mediation team of this ward")
    await uow.cases.update(cmd.case_id, team_id=cmd.team_id)
    return await _answer(uow, cmd.case_id)


# -- reads (the routes' queries; the rules of who may read are the domain's) ------------------------------------------
async def read_case(uow: MediationUnitOfWork, actor: Principal, case_id: str) -> dict[str, Any]:
    file = await uow.cases.file(case_id)
    actor.ensure_reaches(file.case["ward_id"] if file else None, f"no case {case_id}")
    assert file is not None
    domain.ensure_can_see(actor, file.case, file.parties)
    return views.case_view(file, ward_today())


async def read_record_book(uow: MediationUnitOfWork, actor: Principal, team_id: str, year: int) -> dict[str, Any]:
    team = await uow.teams.get(team_id)
    actor.ensure_reaches(team["ward_id"] if team else None, f"no mediation team {team_id}")
    assert team is not None
    domain.ensure_may_read_record_book(actor, team)
    if not 2000 <= year <= 2100:
        raise NotFound(f"no record book for {year}")
    return recordbook.build(team, year, await uow.cases.of_team_year(team_id, year))


HANDLERS = {
    OpenCase: handle_open_case,
    OpenReferredCase: handle_open_referred_case,
    HandOver: handle_hand_over,
    Classify: handle_classify,
    AssignMediators: handle_assign,
    RecordSession: handle_record_session,
    Succeed: handle_succeed,
    Fail: handle_fail,
    Withdraw: handle_withdraw,
    Refuse: handle_refuse,
    FollowUp: handle_follow_up,
}
