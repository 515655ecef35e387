"""Handlers of other services' events: the registry's mediation teams and residents, and the incidents
service's referrals. Each runs in the inbox transaction; each is idempotent by construction (upserts keyed
by ids, one case per referred incident), because the inbox is not the only line of defence."""

from __future__ import annotations

import asyncpg

from services.mediation import commands, repository
from services.mediation.domain import Member, Party
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


async def _team_in_ward(conn: asyncpg.Connection, team_id: str, ward_id: str) -> None:
    existing = await repository.team(conn, team_id)
    if existing is not None and existing["ward_id"] != ward_id:
        # Untrusted input: an event must not move a team into another ward.
        raise ValueError(f"team {team_id} belongs to another ward")


async def _upsert_team(conn: asyncpg.Connection, event: TeamFormed | TeamMemberJoined, name: str | None) -> bool:
    if event.kind != "mediation":
        return False  # other kinds of team do not mediate
    await _team_in_ward(conn, event.team_id, event.ward_id)
    await repository.upsert_team(conn, team_id=event.team_id, ward_id=event.ward_id, group_id=event.group_id,
                                 name=name, compliant=event.compliant, issues=list(event.compliance_issues))
    return True


async def on_team_formed(conn: asyncpg.Connection, event: TeamFormed) -> None:
    await _upsert_team(conn, event, event.name)


async def _membership(conn: asyncpg.Connection, event: TeamMemberJoined | TeamMemberLeft | TeamMemberRoleChanged,
                      *, active: bool) -> None:
    # Member events repeat the team's facts, so the team exists here even if TeamFormed came late.
    if not await _upsert_team(conn, event, None):
        return
    member = Member(event.resident_id, event.household_id, event.full_name, event.sex, event.role)
    await repository.upsert_member(conn, event.team_id, member, active=active)


async def on_member_joined(conn: asyncpg.Connection, event: TeamMemberJoined) -> None:
    await _membership(conn, event, active=True)


async def on_member_role_changed(conn: asyncpg.Connection, event: TeamMemberRoleChanged) -> None:
    await _membership(conn, event, active=True)


async def on_member_left(conn: asyncpg.Connection, event: TeamMemberLeft) -> None:
    await _membership(conn, event, active=False)


async def on_resident_registered(conn: asyncpg.Connection, event: ResidentRegistered) -> None:
    await repository.upsert_resident(conn, resident_id=event.resident_id, ward_id=event.ward_id,
                                     household_id=event.household_id, group_id=event.group_id,
                                     full_name=event.full_name)


async def on_resident_moved(conn: asyncpg.Connection, event: ResidentMoved) -> None:
    await repository.move_resident(conn, event.resident_id, event.to_household_id, event.group_id)


async def on_resident_updated(conn: asyncpg.Connection, event: ResidentUpdated) -> None:
    await repository.rename_resident(conn, event.resident_id, event.full_name)


async def on_referred_to_mediation(conn: asyncpg.Connection, event: IncidentReferredToMediation) -> None:
    """Open a case with the group's mediation team (Art. 16(1)(c): referral by a competent body)."""
    await commands.open_referred_case(
        conn, ward_id=event.ward_id, group_id=event.group_id, incident_id=event.incident_id, summary=event.summary,
        parties=[Party(p.display_name, p.resident_id) for p in event.parties], referred_at=event.referred_at,
    )


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
