"""SQL of the mediation schema: team and resident projections, cases and what hangs off them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from services.mediation.domain import Member, Party
from shared.paging import Keyset, PageRequest

# -- projections of the registry -----------------------------------------------------------------------------


async def upsert_team(conn: asyncpg.Connection, *, team_id: str, ward_id: str, group_id: str, name: str | None,
                      compliant: bool, issues: list[str]) -> None:
    await conn.execute(
        """INSERT INTO teams (team_id, ward_id, group_id, name, registry_compliant, registry_issues)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id,
             name = COALESCE(EXCLUDED.name, teams.name), registry_compliant = EXCLUDED.registry_compliant,
             registry_issues = EXCLUDED.registry_issues, updated_at = now()""",
        team_id, ward_id, group_id, name, compliant, issues,
    )


async def upsert_member(conn: asyncpg.Connection, team_id: str, m: Member, *, active: bool) -> None:
    await conn.execute(
        """INSERT INTO team_members (team_id, resident_id, household_id, full_name, sex, role, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (team_id, resident_id) DO UPDATE SET household_id = EXCLUDED.household_id,
             full_name = EXCLUDED.full_name, sex = EXCLUDED.sex, role = EXCLUDED.role, active = EXCLUDED.active""",
        team_id, m.resident_id, m.household_id, m.full_name, m.sex, m.role, active,
    )


async def team(conn: asyncpg.Connection, team_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM teams WHERE team_id = $1", team_id)


async def teams_of_group(conn: asyncpg.Connection, ward_id: str, group_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM teams WHERE ward_id = $1 AND group_id = $2 ORDER BY team_id",
                            ward_id, group_id)


async def members(conn: asyncpg.Connection, team_id: str) -> list[Member]:
    rows = await conn.fetch(
        "SELECT * FROM team_members WHERE team_id = $1 AND active ORDER BY role, full_name", team_id
    )
    return [Member(r["resident_id"], r["household_id"], r["full_name"], r["sex"], r["role"]) for r in rows]


async def upsert_resident(conn: asyncpg.Connection, *, resident_id: str, ward_id: str, household_id: str,
                          group_id: str, full_name: str) -> None:
    await conn.execute(
        """INSERT INTO residents (resident_id, ward_id, household_id, group_id, full_name)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (resident_id) DO UPDATE SET household_id = EXCLUDED.household_id,
             group_id = EXCLUDED.group_id, full_name = EXCLUDED.full_name""",
        resident_id, ward_id, household_id, group_id, full_name,
    )


async def move_resident(conn: asyncpg.Connection, resident_id: str, household_id: str, group_id: str) -> None:
    await conn.execute("UPDATE residents SET household_id = $2, group_id = $3 WHERE resident_id = $1",
                       resident_id, household_id, group_id)


async def rename_resident(conn: asyncpg.Connection, resident_id: str, full_name: str) -> None:
    await conn.execute("UPDATE residents SET full_name = $2 WHERE resident_id = $1", resident_id, full_name)


async def household_of(conn: asyncpg.Connection, resident_id: str, ward_id: str) -> str | None:
    """The household of a resident of ``ward_id`` (a resident of another ward is as unknown as no resident)."""
    return await conn.fetchval("SELECT household_id FROM residents WHERE resident_id = $1 AND ward_id = $2",
                               resident_id, ward_id)


# -- cases --------------------------------------------------------------------------------------------------------


async def insert_case(conn: asyncpg.Connection, *, case_id: str, ward_id: str, group_id: str, team_id: str | None,
                      referral_incident_id: str | None, origin: str, kind: str, summary: str, status: str,
                      received_at: datetime, received_on: date, assignment_due: date, opened_by: str,
                      parties: list[Party]) -> bool:
    """Insert a case with its parties; False when a case for that referral already exists."""
    inserted = await conn.fetchval(
        """INSERT INTO cases (case_id, ward_id, group_id, team_id, referral_incident_id, origin, kind, summary,
                              status, received_at, received_on, assignment_due, opened_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT DO NOTHING RETURNING true""",
        case_id, ward_id, group_id, team_id, referral_incident_id, origin, kind, summary, status,
        received_at, received_on, assignment_due, opened_by,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO case_parties (case_id, position, resident_id, household_id, display_name) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(case_id, i, p.resident_id, p.household_id, p.display_name) for i, p in enumerate(parties, start=1)],
    )
    return True


async def case(conn: asyncpg.Connection, case_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:  # commands serialise on the case row: two concurrent endings cannot both win
        return await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1 FOR UPDATE", case_id)
    return await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1", case_id)


_UPDATABLE = {"team_id", "kind", "status", "refusal_ground", "refusal_reason", "agreement", "carry_out_how", "carry_out_by",
              "demands", "directed_to", "withdrawal_reason", "concluded_on", "notes"}


async def update_case(conn: asyncpg.Connection, case_id: str, **fields: Any) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {unknown}")
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    # Column names come from the _UPDATABLE allow-list above; values are parameters.
    await conn.execute(f"UPDATE cases SET {sets} WHERE case_id = $1", case_id, *fields.values())  # noqa: S608


async def parties(conn: asyncpg.Connection, case_id: str) -> list[Party]:
    rows = await conn.fetch("SELECT * FROM case_parties WHERE case_id = $1 ORDER BY position", case_id)
    return [Party(r["display_name"], r["resident_id"], r["household_id"]) for r in rows]


async def case_mediators(conn: asyncpg.Connection, case_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM case_mediators WHERE case_id = $1 ORDER BY assigned_on, full_name",
                            case_id)


async def add_mediator(conn: asyncpg.Connection, case_id: str, m: Member, *, chosen_by_parties: bool,
                       assigned_on: date, late: bool) -> bool:
    return bool(await conn.fetchval(
        """INSERT INTO case_mediators (case_id, mediator_id, full_name, chosen_by_parties, assigned_on, late)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
        case_id, m.resident_id, m.full_name, chosen_by_parties, assigned_on, late,
    ))


async def add_session(conn: asyncpg.Connection, *, session_id: str, case_id: str, held_at: datetime,
                      place: str | None, mediator_ids: list[str], parties_present: list[int],
                      invitees: list[dict[str, str]], notes: str | None) -> None:
    await conn.execute(
        """INSERT INTO sessions (session_id, case_id, held_at, place, mediator_ids, parties_present, invitees, notes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        session_id, case_id, held_at, place, mediator_ids, parties_present, invitees, notes,
    )


async def sessions(conn: asyncpg.Connection, case_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM sessions WHERE case_id = $1 ORDER BY held_at", case_id)


async def add_follow_up(conn: asyncpg.Connection, *, follow_up_id: str, case_id: str, checked_on: date,
                        progress: str, notes: str | None) -> None:
    await conn.execute(
        "INSERT INTO follow_ups (follow_up_id, case_id, checked_on, progress, notes) VALUES ($1, $2, $3, $4, $5)",
        follow_up_id, case_id, checked_on, progress, notes,
    )


async def follow_ups(conn: asyncpg.Connection, case_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM follow_ups WHERE case_id = $1 ORDER BY checked_on", case_id)


CASES_BY_RECEIPT = Keyset.of("c.received_at:timestamptz", "c.case_id:text")


async def list_cases(conn: asyncpg.Connection, ward_id: str, page: PageRequest | None, *,
                     everything: bool, team_ids: list[str], party_resident_id: str | None) -> list[asyncpg.Record]:
    """A page of a ward's cases (all of them with ``page=None``): every case when ``everything``, else those of
    ``team_ids`` and those ``party_resident_id`` is a party to."""
    args: list[Any] = [ward_id, everything, team_ids, party_resident_id]
    where = ["c.ward_id = $1",
             "$2 OR c.team_id = ANY($3::text[]) OR EXISTS (SELECT 1 FROM case_parties p "
             "WHERE p.case_id = c.case_id AND p.resident_id = $4)"]
    if page is None:
        return await conn.fetch(CASES_BY_RECEIPT.unpaged("SELECT c.* FROM cases c", where), *args)
    return await conn.fetch(CASES_BY_RECEIPT.query("SELECT c.* FROM cases c", where, args, page), *args)


async def cases_of_team_year(conn: asyncpg.Connection, team_id: str, year: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM cases WHERE team_id = $1 AND received_on >= make_date($2, 1, 1)
             AND received_on < make_date($2 + 1, 1, 1)
           ORDER BY received_on, received_at, case_id""",
        team_id, year,
    )
