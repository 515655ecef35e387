"""Use cases of a mediation case: load, apply the rule, save, enqueue the event, on one connection.

Each function runs inside the transaction ``shared.commands.execute`` opened (or the inbox's, for referrals)
and returns the case as the API shows it. The facts every case event repeats come from the saved row, so an
event never disagrees with the state it describes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from services.mediation import access, domain, repository
from services.mediation.domain import Action, Party, Status
from services.mediation.schemas import (
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
from services.mediation.views import case_view
from shared import outbox
from shared.auth import Principal
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
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation


def facts(row: asyncpg.Record) -> dict[str, Any]:
    return {"ward_id": row["ward_id"], "subject": row["case_id"], "case_id": row["case_id"],
            "group_id": row["group_id"], "team_id": row["team_id"],
            "referral_incident_id": row["referral_incident_id"], "kind": row["kind"]}


async def choose_team(conn: asyncpg.Connection, ward_id: str, group_id: str, team_id: str | None) -> str | None:
    """The group's mediation team (the one named, if the group has several)."""
    teams = await repository.teams_of_group(conn, ward_id, group_id)
    if team_id is not None:
        if not any(t["team_id"] == team_id for t in teams):
            raise InvalidInput(f"team {team_id} is not a mediation team of group {group_id}")
        return team_id
    if len(teams) > 1:
        raise InvalidInput(f"group {group_id} has {len(teams)} mediation teams; name one with team_id")
    return teams[0]["team_id"] if teams else None


async def open_case(conn: asyncpg.Connection, p: Principal, body: OpenCase) -> dict[str, Any]:
    team_id = await choose_team(conn, p.ward_id, body.group_id, body.team_id)
    if team_id is None:
        raise RuleViolation(f"group {body.group_id} has no mediation team to receive the case")
    parties = []
    for x in body.parties:
        household = await repository.household_of(conn, x.resident_id, p.ward_id) if x.resident_id else None
        if x.resident_id and household is None:
            # Without the household the conflict-of-interest rule could not be applied: refuse, don't guess.
            raise InvalidInput(f"resident {x.resident_id} is not known; name the party without a resident_id")
        parties.append(Party(x.display_name, x.resident_id, household))
    if body.origin == "mediator_initiative":
        if not access.is_mediator_of(p, team_id):
            raise Forbidden("only a mediator of the group's team may open a case on their own initiative")
    elif not (access.is_mediator_of(p, team_id) or access.is_official(p, p.ward_id) or access.is_party(p, parties)):
        raise Forbidden("a request is made by a party, or recorded by the team or a ward official")
    received_at = body.received_at or now()
    if received_at > now():
        raise InvalidInput("received_at is in the future")
    return await _insert_case(conn, ward_id=p.ward_id, group_id=body.group_id, team_id=team_id,
                              referral_incident_id=None, origin=body.origin, kind=body.kind, summary=body.summary,
                              received_at=received_at, parties=parties, opened_by=p.subject)


async def open_referred_case(conn: asyncpg.Connection, *, ward_id: str, group_id: str, incident_id: str,
                             summary: str, parties: list[Party], referred_at: datetime) -> bool:
    """A dispute referred by the incidents service; False if that referral already has its case."""
    teams = await repository.teams_of_group(conn, ward_id, group_id)
    # With no team, or several, the case waits for a ward official to hand it over: a valid referral must
    # never be dead-lettered for the ward's organisation.
    team_id = teams[0]["team_id"] if len(teams) == 1 else None
    case_id = "case-" + uuid.uuid5(uuid.NAMESPACE_URL, f"referral:{ward_id}:{incident_id}").hex[:16]
    resolved = [Party(x.display_name, x.resident_id,
                      await repository.household_of(conn, x.resident_id, ward_id) if x.resident_id else None)
                for x in parties]
    if await repository.case(conn, case_id) is not None:
        return False
    # The incident carries no kind: other_civil until the team reclassifies it (``classify``).
    await _insert_case(conn, ward_id=ward_id, group_id=group_id, team_id=team_id, referral_incident_id=incident_id,
                       origin="referral", kind=domain.CaseKind.OTHER_CIVIL, summary=summary, received_at=referred_at,
                       parties=resolved, opened_by="incidents-service", case_id=case_id)
    return True


async def _insert_case(conn: asyncpg.Connection, *, ward_id: str, group_id: str, team_id: str | None,
                       referral_incident_id: str | None, origin: str, kind: str, summary: str, received_at: datetime,
                       parties: list[Party], opened_by: str, case_id: str | None = None) -> dict[str, Any]:
    case_id = case_id or f"case-{uuid.uuid4().hex[:16]}"
    received_on = in_ward_time(received_at).date()
    inserted = await repository.insert_case(
        conn, case_id=case_id, ward_id=ward_id, group_id=group_id, team_id=team_id,
        referral_incident_id=referral_incident_id, origin=origin, kind=str(kind), summary=summary,
        status=Status.RECEIVED, received_at=received_at, received_on=received_on,
        assignment_due=domain.assignment_due(received_on), opened_by=opened_by, parties=parties,
    )
    if not inserted:
        raise RuleViolation("a case for this referral already exists")
    row = await repository.case(conn, case_id)
    assert row is not None
    await outbox.enqueue(conn, CaseOpened(**facts(row), origin=origin, received_on=received_on))
    return await case_view(conn, row)


async def load(conn: asyncpg.Connection, p: Principal, case_id: str) -> tuple[asyncpg.Record, list[Party]]:
    row = await repository.case(conn, case_id, for_update=True)
    if row is None or not p.can_access_ward(row["ward_id"]):
        raise NotFound(f"no case {case_id}")
    parties = await repository.parties(conn, case_id)
    access.ensure_can_see(p, row, parties)
    return row, parties


#: The mediators one case may have (its concluding events carry them all).
MAX_MEDIATORS_PER_CASE = 20


async def assign(conn: asyncpg.Connection, p: Principal, case_id: str, body: AssignMediators) -> dict[str, Any]:
    row, parties = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.ASSIGN)
    if body.chosen_by_parties:
        if not (access.is_party(p, parties) or access.is_leader_of(p, row["team_id"])):
            raise Forbidden("the parties' choice is made by a party or recorded by the team leader")
    elif not access.is_leader_of(p, row["team_id"]):
        raise Forbidden("only the team leader (tổ trưởng) assigns mediators")
    team_members = {m.resident_id: m for m in await repository.members(conn, row["team_id"])}
    today = ward_today()
    late = domain.assignment_late(row["assignment_due"], today, today)
    assigned = {m["mediator_id"] for m in await repository.case_mediators(conn, case_id)}
    if len(assigned | set(body.mediator_ids)) > MAX_MEDIATORS_PER_CASE:
        raise RuleViolation(f"a case has at most {MAX_MEDIATORS_PER_CASE} mediators")
    for mediator_id in dict.fromkeys(body.mediator_ids):
        member = team_members.get(mediator_id)
        if member is None:
            raise InvalidInput(f"{mediator_id} is not a mediator of team {row['team_id']}")
        conflict = domain.mediator_conflict(member, parties)
        if conflict:
            raise RuleViolation(f"mediator {mediator_id} is excluded: {conflict}")
        if await repository.add_mediator(conn, case_id, member, chosen_by_parties=body.chosen_by_parties,
                                         assigned_on=today, late=late):
            await outbox.enqueue(conn, MediatorAssigned(**facts(row), mediator_id=mediator_id,
                                                        chosen_by_parties=body.chosen_by_parties, late=late))
    await repository.update_case(conn, case_id, status=Status.IN_MEDIATION)
    return await case_view(conn, await repository.case(conn, case_id))


async def record_session(conn: asyncpg.Connection, p: Principal, case_id: str, body: RecordSession) -> dict[str, Any]:
    row, parties = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.HOLD_SESSION)
    if not access.is_mediator_of(p, row["team_id"]):
        raise Forbidden("only the case's team records its sessions")
    assigned = {m["mediator_id"] for m in await repository.case_mediators(conn, case_id)}
    strangers = [m for m in body.mediator_ids if m not in assigned]
    if strangers:
        raise InvalidInput(f"not assigned to this case: {', '.join(strangers)}")
    if any(not 1 <= i <= len(parties) for i in body.parties_present):
        raise InvalidInput(f"parties_present must be positions 1 to {len(parties)}")
    if body.held_at > now() or body.held_at < row["received_at"]:
        raise InvalidInput("held_at must be between the case's receipt and now")
    session_id = f"session-{uuid.uuid4().hex[:16]}"
    await repository.add_session(
        conn, session_id=session_id, case_id=case_id, held_at=body.held_at, place=body.place,
        mediator_ids=list(dict.fromkeys(body.mediator_ids)), parties_present=body.parties_present,
        invitees=[i.model_dump() for i in body.invitees], notes=body.notes,
    )
    await outbox.enqueue(conn, SessionHeld(**facts(row), session_id=session_id,
                                           held_on=in_ward_time(body.held_at).date(),
                                           mediator_ids=list(dict.fromkeys(body.mediator_ids))))
    return await case_view(conn, row)


async def _concluding(conn: asyncpg.Connection, p: Principal, case_id: str, action: Action,
                      concluded_on: date | None) -> tuple[asyncpg.Record, list[str], date]:
    row, _ = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], action)
    if not access.is_mediator_of(p, row["team_id"]):
        raise Forbidden("only the case's team concludes it")
    if not await repository.sessions(conn, case_id):
        raise RuleViolation("no session has been held: a case is concluded after mediation")
    day = concluded_on or ward_today()
    if day > ward_today() or day < row["received_on"]:
        raise InvalidInput("concluded_on must be between the case's receipt and today")
    mediator_ids = [m["mediator_id"] for m in await repository.case_mediators(conn, case_id)]
    return row, mediator_ids, day


async def succeed(conn: asyncpg.Connection, p: Principal, case_id: str, body: Succeed) -> dict[str, Any]:
    row, mediator_ids, day = await _concluding(conn, p, case_id, Action.SUCCEED, body.concluded_on)
    if body.carry_out_by is not None and body.carry_out_by < day:
        raise InvalidInput("carry_out_by is before the agreement was reached")
    await repository.update_case(conn, case_id, status=Status.SUCCEEDED, agreement=body.agreement,
                                 carry_out_how=body.carry_out_how, carry_out_by=body.carry_out_by, concluded_on=day)
    await outbox.enqueue(conn, CaseSucceeded(**facts(row), mediator_ids=mediator_ids, concluded_on=day,
                                             carry_out_by=body.carry_out_by))
    return await case_view(conn, await repository.case(conn, case_id))


async def fail(conn: asyncpg.Connection, p: Principal, case_id: str, body: Fail) -> dict[str, Any]:
    row, mediator_ids, day = await _concluding(conn, p, case_id, Action.FAIL, body.concluded_on)
    await repository.update_case(conn, case_id, status=Status.FAILED, directed_to=body.directed_to,
                                 demands=body.demands, concluded_on=day)
    await outbox.enqueue(conn, CaseFailed(**facts(row), mediator_ids=mediator_ids, directed_to=body.directed_to,
                                          concluded_on=day))
    return await case_view(conn, await repository.case(conn, case_id))


async def withdraw(conn: asyncpg.Connection, p: Principal, case_id: str, body: Withdraw) -> dict[str, Any]:
    row, parties = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.WITHDRAW)
    # can_see already holds: a party, the team or an official may record a withdrawal.
    today = ward_today()
    await repository.update_case(conn, case_id, status=Status.WITHDRAWN, withdrawal_reason=body.reason,
                                 concluded_on=today)
    await outbox.enqueue(conn, CaseWithdrawn(**facts(row), withdrawn_on=today))
    return await case_view(conn, await repository.case(conn, case_id))


async def refuse(conn: asyncpg.Connection, p: Principal, case_id: str, body: Refuse) -> dict[str, Any]:
    row, _ = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.REFUSE)
    if not (access.is_leader_of(p, row["team_id"]) or access.is_official(p, row["ward_id"])):
        raise Forbidden("only the team leader or a ward official refuses a case")
    g = domain.ground(body.ground)
    await repository.update_case(conn, case_id, status=Status.REFUSED, refusal_ground=g.code,
                                 refusal_reason=g.reason, notes=body.explanation, concluded_on=ward_today())
    await outbox.enqueue(conn, CaseRefused(**facts(row), reason=g.reason, ground=g.code))
    return await case_view(conn, await repository.case(conn, case_id))


async def follow_up(conn: asyncpg.Connection, p: Principal, case_id: str, body: FollowUp) -> dict[str, Any]:
    row, _ = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.FOLLOW_UP)
    if not (access.is_mediator_of(p, row["team_id"]) or access.is_official(p, row["ward_id"])):
        raise Forbidden("only the case's team or a ward official follows up the agreement")
    if body.checked_on > ward_today() or body.checked_on < row["concluded_on"]:
        raise InvalidInput("checked_on must be between the agreement and today")
    await repository.add_follow_up(conn, follow_up_id=f"fu-{uuid.uuid4().hex[:16]}", case_id=case_id,
                                   checked_on=body.checked_on, progress=body.progress, notes=body.notes)
    await outbox.enqueue(conn, AgreementFollowedUp(**facts(row), progress=body.progress, checked_on=body.checked_on))
    return await case_view(conn, row)


async def classify(conn: asyncpg.Connection, p: Principal, case_id: str, body: Classify) -> dict[str, Any]:
    """Set the kind; the events that follow carry it (no event of its own: nothing ends or starts)."""
    row, _ = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.CLASSIFY)
    if not (access.is_mediator_of(p, row["team_id"]) or access.is_official(p, row["ward_id"])):
        raise Forbidden("only the case's team or a ward official classifies it")
    await repository.update_case(conn, case_id, kind=str(body.kind))
    return await case_view(conn, await repository.case(conn, case_id))


async def hand_over(conn: asyncpg.Connection, p: Principal, case_id: str, body: HandOver) -> dict[str, Any]:
    row, _ = await load(conn, p, case_id)
    domain.ensure_allowed(row["status"], Action.HAND_OVER)
    if not access.is_official(p, row["ward_id"]):
        raise Forbidden("only a ward official hands a case to a team")
    team = await repository.team(conn, body.team_id)
    if team is None or team["ward_id"] != row["ward_id"]:
        raise InvalidInput(f"{body.team_id} is not a mediation team of this ward")
    await repository.update_case(conn, case_id, team_id=body.team_id)
    return await case_view(conn, await repository.case(conn, case_id))
