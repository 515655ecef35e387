"""Who may see and change what in the registry, and the loading of referenced records under those rules.

* police and ward officials (and city officials / admins acting for the ward) see the whole ward;
* a team leader or member sees their own team; a resident sees their own household;
* nobody sees anything of another ward, nor learns that it exists: a record of another ward named by its id
  answers exactly as an unknown one (404 in a path, the same 422 in a body);
* the national ID number is shown only to police and ward officials.
"""

from __future__ import annotations

import asyncpg

from services.registry import repository
from shared.auth import Principal, Role
from shared.errors import Forbidden, InvalidInput

STAFF = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
REGISTRARS = (Role.WARD_OFFICIAL, Role.POLICE, Role.ADMIN)  # keep the population register
SEES_NATIONAL_ID = (Role.POLICE, Role.WARD_OFFICIAL)

_NAMES = {
    "wards": "ward", "groups": "group", "households": "household", "residents": "resident", "teams": "team",
    "facilities": "facility", "boarding_houses": "boarding house", "declarations": "declaration",
    "stay_notices": "stay notice",
}


def is_staff(principal: Principal) -> bool:
    return principal.has(*STAFF)


def list_ward(principal: Principal, ward_id: str | None) -> str:
    """The ward a list is about: the caller's own unless named, and never another they may not access."""
    ward = ward_id or principal.ward_id
    if ward == "*":
        raise InvalidInput("ward_id is required for callers of every ward")
    principal.ensure_ward(ward)
    return ward


async def load(conn: asyncpg.Connection, table: str, id_: str, principal: Principal, *, lock: bool = False) -> asyncpg.Record:
    """A record named in the path: 404 when unknown or of another ward (the same answer)."""
    row = await repository.get(conn, table, id_, lock=lock)
    principal.ensure_reaches(None if row is None else row["id"] if table == "wards" else row["ward_id"],
                             f"unknown {_NAMES[table]} {id_}")
    return row


async def reference(conn: asyncpg.Connection, table: str, id_: str, ward_id: str, field: str) -> asyncpg.Record:
    """A record named in a request body: it must exist and belong to ``ward_id`` (422 otherwise)."""
    row = await repository.get(conn, table, id_)
    if row is None or (row["id"] if table == "wards" else row["ward_id"]) != ward_id:
        raise InvalidInput(f"{field}: unknown {_NAMES[table]} {id_}")  # another ward's: the same answer
    return row


async def anchor(conn: asyncpg.Connection, table: str, id_: str, principal: Principal, field: str) -> asyncpg.Record:
    """The record a new one hangs from (a household's group): it must exist in a ward the caller may act for
    (422 otherwise, the same answer for an unknown one and another ward's)."""
    row = await repository.get(conn, table, id_)
    if row is None or not principal.can_access_ward(row["ward_id"]):
        raise InvalidInput(f"{field}: unknown {_NAMES[table]} {id_}")
    return row


def ensure_sees_household(principal: Principal, household_id: str) -> None:
    if is_staff(principal):
        return
    if principal.has(Role.RESIDENT) and principal.household_id == household_id:
        return
    raise Forbidden("a resident sees only their own household")


def ensure_sees_team(principal: Principal, team_id: str) -> None:
    if is_staff(principal):
        return
    if principal.has(Role.TEAM_LEADER, Role.TEAM_MEMBER) and team_id in principal.team_ids:
        return
    raise Forbidden("team members see only their own team")


def ensure_manages_team(principal: Principal, team_id: str) -> None:
    """Ward officials manage every team of their ward; a team leader manages their own team's members."""
    if principal.has(Role.WARD_OFFICIAL, Role.ADMIN):
        return
    if principal.has(Role.TEAM_LEADER) and team_id in principal.team_ids:
        return
    raise Forbidden("requires a ward official or this team's leader")


def sees_national_id(principal: Principal) -> bool:
    return principal.has(*SEES_NATIONAL_ID)
