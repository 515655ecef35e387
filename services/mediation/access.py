"""Who may see and act on a case: mediators their team's cases, ward officials the ward's, parties their own."""

from __future__ import annotations

import asyncpg

from services.mediation.domain import Party
from shared.auth import Principal, Role
from shared.errors import Forbidden

OFFICIALS = (Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)


def is_official(p: Principal, ward_id: str) -> bool:
    return p.has(*OFFICIALS) and p.can_access_ward(ward_id)


def is_mediator_of(p: Principal, team_id: str | None) -> bool:
    """A member of the team (team_member or team_leader with the team in the token's team_ids)."""
    return team_id is not None and p.has(Role.TEAM_MEMBER, Role.TEAM_LEADER) and team_id in p.team_ids


def is_leader_of(p: Principal, team_id: str | None) -> bool:
    return team_id is not None and p.has(Role.TEAM_LEADER) and team_id in p.team_ids


def is_party(p: Principal, parties: list[Party]) -> bool:
    return p.resident_id is not None and any(x.resident_id == p.resident_id for x in parties)


def can_see(p: Principal, case: asyncpg.Record, parties: list[Party]) -> bool:
    if not p.can_access_ward(case["ward_id"]):
        return False
    return is_official(p, case["ward_id"]) or is_mediator_of(p, case["team_id"]) or is_party(p, parties)


def ensure_can_see(p: Principal, case: asyncpg.Record, parties: list[Party]) -> None:
    if not can_see(p, case, parties):
        raise Forbidden("only the case's mediators, its parties and ward officials may see it")
