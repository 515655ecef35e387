"""Handlers of the registry's team events: the projection of teams and their current members, which decides
who may collect for a campaign (members of its mobilisation teams, tổ vận động). Teams of every kind are kept
so that choosing a wrong team gets a precise answer. Idempotent by construction (upserts keyed by ids); every
team event repeats the team's facts, so the order of first sight does not matter."""

from __future__ import annotations

import asyncpg

from services.donations import repository as repo
from shared.contracts.registry import TeamFormed, TeamMemberJoined, TeamMemberLeft, TeamMemberRoleChanged


async def _known_team(conn: asyncpg.Connection, event: TeamFormed | TeamMemberJoined, name: str | None) -> bool:
    """Upsert the team (the caller then records the membership)."""
    ward = await repo.team_ward(conn, event.team_id)
    if ward is not None and ward != event.ward_id:
        # An event moving a team to another ward is not something the registry does: refuse it loudly.
        raise ValueError("team event for a team of another ward")
    await repo.upsert_team(conn, team_id=event.team_id, ward_id=event.ward_id, group_id=event.group_id,
                           kind=event.kind, name=name)
    return True


async def on_team_formed(conn: asyncpg.Connection, event: TeamFormed) -> None:
    await _known_team(conn, event, event.name)


async def on_member_joined(conn: asyncpg.Connection, event: TeamMemberJoined) -> None:
    if await _known_team(conn, event, None):
        await repo.set_member(conn, team_id=event.team_id, resident_id=event.resident_id,
                              full_name=event.full_name, role=event.role, active=True)


async def on_member_role_changed(conn: asyncpg.Connection, event: TeamMemberRoleChanged) -> None:
    if await _known_team(conn, event, None):  # type: ignore[arg-type]
        await repo.set_member(conn, team_id=event.team_id, resident_id=event.resident_id,
                              full_name=event.full_name, role=event.role, active=True)


async def on_member_left(conn: asyncpg.Connection, event: TeamMemberLeft) -> None:
    if await _known_team(conn, event, None):  # type: ignore[arg-type]
        await repo.set_member(conn, team_id=event.team_id, resident_id=event.resident_id,
                              full_name=event.full_name, role=event.role, active=False)


HANDLERS = {
    TeamFormed: on_team_formed,
    TeamMemberJoined: on_member_joined,
    TeamMemberRoleChanged: on_member_role_changed,
    TeamMemberLeft: on_member_left,
}
