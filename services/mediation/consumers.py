"""Handlers of other services' events, each ``(event, uow)`` in the consumer's inbox transaction: the registry's
mediation teams and residents (projections), and the incidents service's referrals (a command in an event's
clothing: the same handler as any other way of opening a case). Each is idempotent by construction (upserts
keyed by ids, one case per referred incident), because the inbox is not the only line of defence."""

from __future__ import annotations

from typing import Any

from services.mediation.commands import OpenReferredCase
from services.mediation.domain import Member
from services.mediation.handlers import handle_open_referred_case
from services.mediation.uow import MediationUnitOfWork
from shared.actor import SYSTEM
from shared.contracts.incidents import IncidentReferredToMediation
from shared.contracts.registry import (
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    TeamFormed,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamMemberRoleChanged,
)


async def _upsert_team(uow: MediationUnitOfWork, event: Any, name: str | None) -> bool:
    if event.kind != "mediation":
        return False  # other kinds of team do not mediate
    existing = await uow.teams.get(event.team_id)
    if existing is not None and existing["ward_id"] != event.ward_id:
        # Untrusted input: an event must not move a team into another ward.
        raise ValueError(f"team {event.team_id} belongs to another ward")
    await uow.teams.upsert(team_id=event.team_id, ward_id=event.ward_id, group_id=event.group_id, name=name,
                           compliant=event.compliant, issues=list(event.compliance_issues))
    return True


async def on_team_formed(event: TeamFormed, uow: MediationUnitOfWork) -> None:
    await _upsert_team(uow, event, event.name)


async def _membership(uow: MediationUnitOfWork, event: TeamMemberJoined | TeamMemberLeft | TeamMemberRoleChanged,
                      *, active: bool) -> None:
    # Member events repeat the team's facts, so the team exists here even if TeamFormed came late.
    if not await _upsert_team(uow, event, None):
        return
    member = Member(event.resident_id, event.household_id, event.full_name, event.sex, event.role)
    await uow.teams.upsert_member(event.team_id, member, active=active)


async def on_member_joined(event: TeamMemberJoined, uow: MediationUnitOfWork) -> None:
    await _membership(uow, event, active=True)


async def on_member_role_changed(event: TeamMemberRoleChanged, uow: MediationUnitOfWork) -> None:
    await _membership(uow, event, active=True)


async def on_member_left(event: TeamMemberLeft, uow: MediationUnitOfWork) -> None:
    await _membership(uow, event, active=False)


async def on_resident_registered(event: ResidentRegistered, uow: MediationUnitOfWork) -> None:
    await uow.residents.upsert(resident_id=event.resident_id, ward_id=event.ward_id,
                               household_id=event.household_id, group_id=event.group_id, full_name=event.full_name)


async def on_resident_moved(event: ResidentMoved, uow: MediationUnitOfWork) -> None:
    await uow.residents.move(event.resident_id, event.to_household_id, event.group_id)


async def on_resident_updated(event: ResidentUpdated, uow: MediationUnitOfWork) -> None:
    await uow.residents.rename(event.resident_id, event.full_name)


async def on_referred_to_mediation(event: IncidentReferredToMediation, uow: MediationUnitOfWork) -> None:
    """Open a case with the group's mediation team (Art. 16(1)(c): referral by a competent body)."""
    await handle_open_referred_case(OpenReferredCase(
        ward_id=event.ward_id, group_id=event.group_id, incident_id=event.incident_id, summary=event.summary,
        parties=list(event.parties), referred_at=event.referred_at), uow, SYSTEM)


HANDLERS = {
    TeamFormed: on_team_formed,
    TeamMemberJoined: on_member_joined,
    TeamMemberRoleChanged: on_member_role_changed,
    TeamMemberLeft: on_member_left,
    ResidentRegistered: on_resident_registered,
    ResidentMoved: on_resident_moved,
    ResidentUpdated: on_resident_updated,
    IncidentReferredToMediation: on_referred_to_mediation,
}
